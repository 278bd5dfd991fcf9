import type { ResolvedPipeline, ResolvedProcessor } from '../engine/config/resolved-pipeline.ts';
import { completionFields } from '../engine/contract/completion-fields.ts';
import { exampleCompletion, exampleContext, exampleTrigger, type ExampleContext, type ExampleTrigger } from '../engine/contract/example-messages.ts';
import { processorContract, type ProcessorContract } from '../engine/contract/processor-contract.ts';
import { publishedAttributes, toPushBody, type EntryRequest } from '../engine/contract/push-body.ts';
import { ENVELOPE_TYPES, parseMessage, toMessage, type Envelope } from '../engine/runtime/envelope.ts';
import type { DeployModel } from './deploy-model.ts';
import { markdownCode, markdownInline } from './escape.ts';
import { renderTemplateChunks } from './render-template.ts';

/** Fixed traceparents for the examples (W3C's own), so the document does not change on every run. */
const TRIGGER_TRACEPARENT = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
const COMPLETION_TRACEPARENT = '00-0af7651916cd43dd8448eb211c80319c-00f067aa0ba902b7-01';
/** A Pub/Sub message id as Pub/Sub assigns them (digits); Baton's own id travels as `baton_id`. */
const PUBSUB_MESSAGE_ID = '17592186044416';

/**
 * `docs/processors.md`: the contract every processor keeps, per phase, with examples produced by the
 * real runtime (the barrier, coordinator and envelope builders), so the document cannot drift from
 * what Baton sends and accepts. `baton check-processor` checks the same contract.
 */
export async function generateProcessorDocs(model: DeployModel, pipeline: ResolvedPipeline): Promise<Iterable<string>> {
  const context = { ...exampleContext(pipeline, model.hash), traceparent: TRIGGER_TRACEPARENT };
  const barriers = new Map(pipeline.barriers.map((b) => [b.name, b]));
  const phases = [];
  for (const phase of pipeline.phases) {
    const contracts = phase.processors.map((name) => processorContract(pipeline, name)).filter((c): c is ProcessorContract => c !== undefined);
    const [first] = contracts;
    if (first === undefined) continue;
    // The phase's shared example is its first processor started by the phase trigger; dependency-started ones get their own.
    const shared = contracts.find((c) => c.processor.dependencyBarrier === undefined) ?? first;
    const specifics = [];
    for (const contract of contracts.filter((c) => c.processor.dependencyBarrier !== undefined)) {
      const example = await examplesFor(context, contract, model);
      const dependency = contract.processor.dependencyBarrier;
      const members = (dependency === undefined ? undefined : barriers.get(dependency))?.members.map((m) => m.name) ?? [];
      specifics.push({
        name: contract.processor.name,
        waitsFor: members,
        // depends_on entries of earlier phases are already done when the phase trigger fires.
        earlier: contract.processor.dependsOn.map((d) => d.name).filter((d) => !members.includes(d)),
        barrier: contract.processor.dependencyBarrier ?? '',
        filter: subscriptionOf(model, contract)?.filter ?? '',
        triggerAttributes: example.triggerAttributes,
        triggerData: example.triggerData,
      });
    }
    phases.push({
      name: phase.name,
      description: phase.description,
      entry: phase.entry ?? '',
      count: contracts.length,
      publishes: phase.publishes.name,
      processors: contracts.map((c) => rowOf(c, model)),
      example: await examplesFor(context, shared, model),
      specifics,
    });
  }
  return renderTemplateChunks(
    'processors-md',
    {
      name: model.name,
      hash: model.hash,
      keyName: model.keyName,
      key: context.key,
      project: model.project ?? 'PROJECT',
      completionFields: completionFields(),
      phases,
    },
    { processorRow },
  );
}

function subscriptionOf(model: DeployModel, contract: ProcessorContract): DeployModel['subscriptions'][number] | undefined {
  // Asked per processor: the model's subscriptions are indexed by name once.
  let byName = subscriptionsByName.get(model);
  if (byName === undefined) subscriptionsByName.set(model, (byName = new Map(model.subscriptions.map((s) => [s.name, s]))));
  const name = contract.subscription?.name;
  return name === undefined ? undefined : byName.get(name);
}

const subscriptionsByName = new WeakMap<DeployModel, ReadonlyMap<string, DeployModel['subscriptions'][number]>>();

/** A processor's row in its phase's table. */
interface ProcessorRow {
  readonly name: string;
  readonly service: string;
  readonly subscription: string;
  readonly delivery: string;
  readonly filter: string;
  readonly startedBy: string;
  readonly entities: string;
}

/** A processor's row as Markdown (the template's `{{#eachBlock}}`, in TypeScript: one per processor), escaped as the template would. */
function processorRow(row: ProcessorRow): string {
  const subscription = row.subscription ? markdownCode(row.subscription) : '—';
  const filter = row.filter ? markdownCode(row.filter) : '—';
  return `| ${markdownInline(row.name)} | ${markdownInline(row.service)} | ${subscription} | ${row.delivery} | ${filter} | ${markdownInline(row.startedBy)} | ${row.entities} |\n`;
}

function rowOf(contract: ProcessorContract, model: DeployModel): ProcessorRow {
  const subscription = subscriptionOf(model, contract);
  return {
    name: contract.processor.name,
    service: contract.processor.service,
    subscription: subscription?.name ?? '',
    delivery: subscription === undefined ? 'started outside Baton' : subscription.push ? 'push' : 'pull',
    filter: subscription?.filter ?? '',
    startedBy: startedBy(contract),
    entities: contract.reportsEntities ? 'required' : contract.worker ? 'batch_id, entity_id' : 'optional',
  };
}

function startedBy(contract: ProcessorContract): string {
  const { origin } = contract;
  switch (origin.kind) {
    case 'entry':
      return 'entry request';
    case 'barrier':
      return origin.barrier.target === undefined ? `barrier ${origin.barrier.name}` : `dependency barrier ${origin.barrier.name}`;
    case 'coordinator':
      return `coordinator ${origin.coordinator.name} (one per entity)`;
    case 'batch':
      return `coordinator ${origin.coordinator.name} when its batch is done`;
    case 'completion':
      return `each completion of ${origin.publishers.map((p) => p.name).join(', ')}`;
    case 'external':
      return `publishers outside the pipeline`;
  }
}

/** The examples of one processor, as JSON text for the template. */
async function examplesFor(context: ExampleContext, contract: ProcessorContract, model: DeployModel): Promise<Record<string, unknown>> {
  const processor: ResolvedProcessor = contract.processor;
  const trigger = withTraceparent(await exampleTriggerOrUndefined(context, processor));
  const completion = exampleCompletion(context, processor, { trigger: trigger?.envelope, entryId: context.correlationId });
  const published = toMessage({ ...completion, traceparent: COMPLETION_TRACEPARENT });
  const subscription = subscriptionOf(model, contract);
  const entryRequest: EntryRequest = { key: context.key, correlation_id: context.correlationId };
  return {
    processor: processor.name,
    topic: contract.publishes,
    subscription: subscription?.name ?? '',
    trigger: trigger !== undefined,
    triggerType: trigger?.envelope.type ?? '',
    worker: trigger?.envelope.type === ENVELOPE_TYPES.work,
    entryRequest: json(entryRequest),
    pushBody:
      trigger === undefined
        ? ''
        : json(
            toPushBody(trigger.message, {
              projectId: model.project ?? 'PROJECT',
              subscription: subscription?.name ?? '',
              pubsubMessageId: PUBSUB_MESSAGE_ID,
              publishTime: new Date(context.time).toISOString(),
              deliveryAttempt: 1,
            }),
          ),
    triggerAttributes: trigger === undefined ? '' : json(publishedAttributes(trigger.message)),
    triggerData: trigger === undefined ? '' : json(trigger.envelope.data),
    completionAttributes: json(publishedAttributes(published)),
    completionData: json(completion.data),
    publishRequest: json({ messages: [{ data: Buffer.from(published.data).toString('base64'), attributes: publishedAttributes(published) }] }),
  };
}

async function exampleTriggerOrUndefined(context: ExampleContext, processor: ResolvedProcessor): Promise<ExampleTrigger | undefined> {
  try {
    return await exampleTrigger(context, processor);
  } catch {
    // A topic published only outside the pipeline: there is no Baton message to show.
    return undefined;
  }
}

/** The trigger with the fixed example traceparent (the runtime draws a random span id per hop). */
function withTraceparent(trigger: ExampleTrigger | undefined): (ExampleTrigger & { envelope: Envelope }) | undefined {
  if (trigger === undefined) return undefined;
  const message = { ...trigger.message, attributes: { ...trigger.message.attributes, 'ce-traceparent': TRIGGER_TRACEPARENT } };
  return { message, envelope: parseMessage(message) };
}

function json(value: unknown): string {
  return JSON.stringify(value, null, 2);
}
