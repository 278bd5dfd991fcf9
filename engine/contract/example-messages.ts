// Data flow: ResolvedPipeline → member completions (buildEnvelope) → the real CompletionBarrier / Coordinator on memory adapters → the trigger a processor receives.
import { createHash } from 'node:crypto';
import { MemoryMessageBus } from '../adapters/memory/memory-message-bus.ts';
import { MemoryStateStore } from '../adapters/memory/memory-state-store.ts';
import type { ResolvedBarrier, ResolvedCoordinator, ResolvedPipeline, ResolvedProcessor } from '../config/resolved-pipeline.ts';
import type { OutgoingMessage } from '../ports/message-bus.ts';
import type { EntityId } from '../ports/state-store.ts';
import { CompletionBarrier } from '../runtime/completion-barrier.ts';
import { Coordinator } from '../runtime/coordinator.ts';
import { buildEnvelope, ENVELOPE_TYPES, parseMessage, toMessage, type CompletionData, type Envelope } from '../runtime/envelope.ts';
import { FakeClock } from '../runtime/fake-clock.ts';

/** The facts every example of one pipeline shares, so examples are realistic and repeatable. */
export interface ExampleContext {
  readonly pipeline: ResolvedPipeline;
  /** Hash of the pipeline file (stamped on triggers and completions). */
  readonly pipelineHash: string;
  readonly key: string;
  readonly correlationId: string;
  /** The traceparent of the first message of the key (what an entry processor starts). */
  readonly traceparent: string;
  /** Epoch ms the examples happen at. */
  readonly time: number;
}

/** An example context: key `2025-11-29` (hour keys `2025-11-29T10`, string keys `example-key`), fixed ids and time, a fresh trace unless one is given. */
export function exampleContext(pipeline: ResolvedPipeline, pipelineHash: string, overrides: Partial<ExampleContext> = {}): ExampleContext {
  const key = { date: '2025-11-29', hour: '2025-11-29T10', string: 'example-key' }[pipeline.key.type];
  return {
    pipeline,
    pipelineHash,
    key,
    correlationId: `run-${key}-0001`,
    traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
    // The morning after the example date: an overnight run for mode-aware barriers.
    time: Date.parse('2025-11-30T06:00:00Z'),
    ...overrides,
  };
}

/**
 * The ids a processor derives from the message that started it: the same trigger (or entry request)
 * always gives the same execution id and completion message id, so a redelivery publishes the same
 * completion again and every consumer absorbs it.
 */
export function completionIds(processor: string, key: string, startedBy: string): { executionId: string; messageId: string } {
  const executionId = `exec-${createHash('sha256').update(`${processor}\n${key}\n${startedBy}`).digest('hex').slice(0, 16)}`;
  return { executionId, messageId: `completion:${processor}:${key}:${executionId}` };
}

/** Example entity ids per entity type the pipeline knows (coordinator entity types and simulated universes). */
export function exampleEntities(pipeline: ResolvedPipeline): Record<string, EntityId[]> {
  const types = [...new Set([...pipeline.coordinators.map((c) => c.entityType), ...Object.keys(pipeline.simulation.entities)])].sort();
  return Object.fromEntries(types.map((type, index) => [type, [1000 * (index + 1) + 1, 1000 * (index + 1) + 7]]));
}

/** True when a barrier listening on the processor's completion topic aggregates entities_changed: downstream needs them. */
export function reportsEntities(pipeline: ResolvedPipeline, processor: ResolvedProcessor): boolean {
  return pipeline.barriers.some((b) => b.aggregateEntities && b.listens.name === processor.publishes.name);
}

/** What an example completion answers. */
export interface CompletionStart {
  /** The trigger that started the work; undefined for an entry processor. */
  readonly trigger: Envelope | undefined;
  /** For an entry processor: what its execution id derives from (default: the context's correlation id). */
  readonly entryId?: string;
}

/**
 * The completion a well-behaved processor publishes for `start`, built with the runtime's own
 * envelope builder: ids from `completionIds`, correlation id and trace carried from the trigger,
 * `pipeline_hash`, and entities_changed where a downstream barrier aggregates them.
 */
export function exampleCompletion(context: ExampleContext, processor: ResolvedProcessor, start: CompletionStart): Envelope<'dev.baton.completion.v1'> {
  const { pipeline, key, time } = context;
  const trigger = start.trigger;
  const { executionId, messageId } = completionIds(processor.name, key, trigger?.id ?? start.entryId ?? context.correlationId);
  const correlationId = trigger?.correlationid ?? context.correlationId;
  const data: CompletionData = {
    processor_name: processor.name,
    phase: processor.phase,
    execution_id: executionId,
    correlation_id: correlationId,
    key,
    status: 'success',
    timestamp: new Date(time).toISOString(),
    record_count: 120,
    duration_seconds: 42,
    trigger_source: trigger ? 'pubsub' : 'scheduler',
    ...(trigger ? { trigger_message_id: trigger.id, parent_processor: parentOf(trigger) } : {}),
    ...workFields(trigger),
    pipeline_hash: context.pipelineHash,
    metadata: entityMetadata(context, processor, trigger),
  };
  return buildEnvelope({
    id: messageId,
    source: `//baton/${pipeline.name}/processors/${processor.name}`,
    type: ENVELOPE_TYPES.completion,
    time,
    subject: key,
    correlationId,
    // An entry processor starts the key's trace; everyone else continues the trigger's.
    parentTraceparent: trigger?.traceparent ?? context.traceparent,
    data,
  });
}

function parentOf(trigger: Envelope): string {
  const data = trigger.data as { emitter?: string; coordinator?: string; processor_name?: string };
  return data.emitter ?? data.coordinator ?? data.processor_name ?? trigger.source;
}

function workFields(trigger: Envelope | undefined): Pick<CompletionData, 'batch_id' | 'entity_id'> {
  if (trigger?.type !== ENVELOPE_TYPES.work) return {};
  const work = trigger.data as { batch_id: string; entity_id: EntityId };
  return { batch_id: work.batch_id, entity_id: work.entity_id };
}

function entityMetadata(context: ExampleContext, processor: ResolvedProcessor, trigger: Envelope | undefined): NonNullable<CompletionData['metadata']> {
  const incoming =
    trigger?.type === ENVELOPE_TYPES.trigger
      ? (trigger.data as { entities_changed?: Record<string, { ids: EntityId[] }>; is_incremental?: boolean })
      : undefined;
  if (incoming?.is_incremental === true && incoming.entities_changed !== undefined) {
    // Incremental: redo exactly what upstream changed, and say so.
    return { entities_changed: Object.fromEntries(Object.entries(incoming.entities_changed).map(([type, { ids }]) => [type, [...ids]])), is_incremental: true };
  }
  if (!reportsEntities(context.pipeline, processor)) return {};
  return { entities_changed: exampleEntities(context.pipeline), is_incremental: true };
}

/** Where a processor's trigger comes from, as the graph says. */
export type TriggerOrigin =
  | { readonly kind: 'entry' }
  | { readonly kind: 'barrier'; readonly barrier: ResolvedBarrier }
  /** One work message per entity of a coordinator batch. */
  | { readonly kind: 'coordinator'; readonly coordinator: ResolvedCoordinator }
  /** A coordinator's batch completion (its `publishes` topic). */
  | { readonly kind: 'batch'; readonly coordinator: ResolvedCoordinator }
  | { readonly kind: 'completion'; readonly publishers: readonly ResolvedProcessor[] }
  | { readonly kind: 'external'; readonly topic: string };

/** Who sends the processor its trigger: its dependency barrier, or whoever publishes its phase's trigger topic. */
export function triggerOrigin(pipeline: ResolvedPipeline, processor: ResolvedProcessor): TriggerOrigin {
  const topic = processor.triggeredBy?.name;
  if (topic === undefined) return { kind: 'entry' };
  const dependency = pipeline.barriers.find((b) => b.name === processor.dependencyBarrier);
  if (dependency) return { kind: 'barrier', barrier: dependency };
  return publisherOf(pipeline, topic);
}

/** Who publishes a topic in the pipeline (a barrier, a coordinator's work or batch completion, processors), or `external`. */
function publisherOf(pipeline: ResolvedPipeline, topic: string): Exclude<TriggerOrigin, { kind: 'entry' }> {
  // Asked once per processor; one answer per topic keeps the docs of a large pipeline linear.
  let known = publishersOf.get(pipeline);
  if (known === undefined) publishersOf.set(pipeline, (known = new Map<string, Exclude<TriggerOrigin, { kind: 'entry' }>>()));
  const answer = known.get(topic) ?? findPublisher(pipeline, topic);
  known.set(topic, answer);
  return answer;
}

const publishersOf = new WeakMap<ResolvedPipeline, Map<string, Exclude<TriggerOrigin, { kind: 'entry' }>>>();

function findPublisher(pipeline: ResolvedPipeline, topic: string): Exclude<TriggerOrigin, { kind: 'entry' }> {
  const barrier = pipeline.barriers.find((b) => b.publishes.name === topic && b.target === undefined);
  if (barrier) return { kind: 'barrier', barrier };
  const worked = pipeline.coordinators.find((c) => c.workTopic.name === topic);
  if (worked) return { kind: 'coordinator', coordinator: worked };
  const done = pipeline.coordinators.find((c) => c.publishes?.name === topic);
  if (done) return { kind: 'batch', coordinator: done };
  const publishers = pipeline.processors.filter((p) => p.publishes.name === topic);
  if (publishers.length > 0) return { kind: 'completion', publishers };
  return { kind: 'external', topic };
}

/** The Pub/Sub message of a trigger, with the attributes it travels with (e.g. `baton_target`). */
export interface ExampleTrigger {
  readonly message: OutgoingMessage;
  readonly envelope: Envelope;
}

/**
 * The trigger a processor receives for the context's key, produced by the real component that sends
 * it: the barrier fed every member's completion, the coordinator fed its own trigger (and, for its
 * batch completion, every worker's report), or an upstream processor's completion. Undefined for an
 * entry processor (nothing in Baton starts it). Throws for a topic only published outside the
 * pipeline (there is nothing to imitate).
 */
export async function exampleTrigger(context: ExampleContext, processor: ResolvedProcessor): Promise<ExampleTrigger | undefined> {
  const origin = triggerOrigin(context.pipeline, processor);
  if (origin.kind === 'entry') return undefined;
  return fromMessage(await messageFrom(context, origin));
}

/** The message an origin publishes for the context's key. */
async function messageFrom(context: ExampleContext, origin: Exclude<TriggerOrigin, { kind: 'entry' }>): Promise<OutgoingMessage> {
  switch (origin.kind) {
    case 'external':
      throw new Error(`topic ${origin.topic} is published outside the pipeline; there is no message to imitate`);
    case 'completion':
      return toMessage(exampleCompletion(context, origin.publishers[0] as ResolvedProcessor, { trigger: undefined }));
    case 'barrier':
      return fireBarrier(context, origin.barrier);
    case 'coordinator':
      return (await runBatch(context, origin.coordinator, false)).work;
    case 'batch':
      return (await runBatch(context, origin.coordinator, true)).done;
  }
}

function fromMessage(message: OutgoingMessage): ExampleTrigger {
  return { message, envelope: parseMessage(message) };
}

/** Feeds a barrier every member's completion, in file order, until it fires; returns its trigger. */
async function fireBarrier(context: ExampleContext, barrier: ResolvedBarrier): Promise<OutgoingMessage> {
  const { pipeline } = context;
  const clock = new FakeClock(context.time);
  const runtime = new CompletionBarrier({
    barrier,
    pipeline,
    pipelineHash: context.pipelineHash,
    store: new MemoryStateStore(clock),
    bus: new MemoryMessageBus(clock),
    clock,
  });
  const processors = processorsOf(pipeline);
  for (const member of barrier.members) {
    const processor = processors.get(member.name);
    if (processor === undefined) continue;
    const outcome = await runtime.handle(toMessage(exampleCompletion(context, processor, { trigger: undefined })));
    if (outcome.fired) return outcome.fired.message;
  }
  throw new Error(`barrier ${barrier.name} did not fire with every member complete for ${context.key}`);
}

/** The pipeline's processors by name, indexed once per pipeline: processors.md fires one barrier per phase. */
function processorsOf(pipeline: ResolvedPipeline): ReadonlyMap<string, ResolvedProcessor> {
  let byName = processorsByName.get(pipeline);
  if (byName === undefined) processorsByName.set(pipeline, (byName = new Map(pipeline.processors.map((p) => [p.name, p]))));
  return byName;
}

const processorsByName = new WeakMap<ResolvedPipeline, ReadonlyMap<string, ResolvedProcessor>>();

/**
 * Runs a coordinator on the message it listens for: returns its first work message and, when
 * `finish` is set, its batch completion after every worker reported.
 */
async function runBatch(context: ExampleContext, coordinator: ResolvedCoordinator, finish: boolean): Promise<{ work: OutgoingMessage; done: OutgoingMessage }> {
  const { pipeline } = context;
  const clock = new FakeClock(context.time);
  const bus = new MemoryMessageBus(clock);
  const capture = `example--${coordinator.workTopic.name}`;
  await bus.subscribe({ name: capture, topic: coordinator.workTopic.name, ackDeadlineMs: 60_000, maxDeliveryAttempts: 5, minBackoffMs: 0, maxBackoffMs: 0 });
  const entities = exampleEntities(pipeline)[coordinator.entityType] ?? [1001, 1007];
  const runtime = new Coordinator({
    coordinator,
    pipeline,
    pipelineHash: context.pipelineHash,
    fullList: () => Promise.resolve(entities),
    store: new MemoryStateStore(clock),
    bus,
    clock,
  });
  await runtime.handleTrigger(await messageFrom(context, publisherOf(pipeline, coordinator.listens.name)));
  const work = (await bus.pull(capture, 1_000)).map((m): OutgoingMessage => ({ id: m.id, attributes: m.attributes, data: m.data }));
  const [first] = work;
  if (first === undefined) throw new Error(`coordinator ${coordinator.name} published no work for ${context.key}`);
  if (!finish) return { work: first, done: first };
  const worker = pipeline.processors.find((p) => p.triggeredBy?.name === coordinator.workTopic.name);
  if (worker === undefined) throw new Error(`coordinator ${coordinator.name}: no processor takes ${coordinator.workTopic.name}`);
  for (const message of work) {
    const report = exampleCompletion(context, worker, { trigger: parseMessage(message) });
    const outcome = await runtime.handleReady(toMessage(report));
    if (outcome.fired) return { work: first, done: outcome.fired.message };
  }
  throw new Error(`coordinator ${coordinator.name} did not complete its batch for ${context.key}`);
}
