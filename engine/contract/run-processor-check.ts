// Data flow: contract → realistic trigger (real runtime) → POST to the processor (trigger, redelivery, malformed) → capture its publishes per topic → checkCompletions.
import { randomBytes, randomInt } from 'node:crypto';
import type { ResolvedPipeline } from '../config/resolved-pipeline.ts';
import { childTraceparent, ENVELOPE_TYPES, type Envelope, type TriggerData, type WorkData } from '../runtime/envelope.ts';
import { checkCompletions, type CapturedMessage, type CheckResult, type RequestOutcome, type SentTrigger } from './check-completions.ts';
import { exampleContext, exampleTrigger, type ExampleContext, type ExampleTrigger } from './example-messages.ts';
import type { ProcessorContract } from './processor-contract.ts';
import { toPushBody, type EntryRequest, type PushDeliveryFacts } from './push-body.ts';

/** Where the processor's publishes are captured (the CLI wires the Pub/Sub emulator). */
export interface PublishCapture {
  /** Makes sure every topic exists and is captured, and forgets what was captured before. */
  listen(topics: readonly string[]): Promise<void>;
  /** Everything published to the topics since the last call. */
  pullAll(topics: readonly string[]): Promise<CapturedMessage[]>;
}

/** How to run a check. */
export interface ProcessorCheckOptions {
  readonly pipeline: ResolvedPipeline;
  readonly pipelineHash: string;
  readonly contract: ProcessorContract;
  readonly url: string;
  readonly projectId: string;
  readonly capture: PublishCapture;
  /** The key to send; default a random past date (or a random string key), so re-runs never repeat a trigger id. */
  readonly key?: string;
  /** How long to wait for the completion after the trigger is answered (ms). */
  readonly waitMs?: number;
  /** How long to watch for late publishes after the other requests (ms). */
  readonly settleMs?: number;
}

/** What the check sent and found. */
export interface ProcessorCheckReport {
  readonly processor: string;
  readonly url: string;
  readonly key: string;
  /** What the good trigger was, in words. */
  readonly sentAs: string;
  readonly results: readonly CheckResult[];
  readonly ok: boolean;
}

/**
 * Runs the contract test: a realistic trigger (produced by the real barrier / coordinator, or the
 * entry request), the same delivery again, and two requests that are not triggers; then checks what
 * the processor answered and published against the contract.
 */
export async function runProcessorCheck(options: ProcessorCheckOptions): Promise<ProcessorCheckReport> {
  const { pipeline, contract, capture } = options;
  const waitMs = options.waitMs ?? 10_000;
  const settleMs = options.settleMs ?? 1_500;
  const key = options.key ?? randomKey(pipeline);
  const context = exampleContext(pipeline, options.pipelineHash, {
    key,
    correlationId: `check-${randomBytes(6).toString('hex')}`,
    traceparent: childTraceparent(),
    time: Date.now(),
  });
  const topics = pipeline.topics.flatMap((t) => [t.name, ...(t.deadLetter.enabled ? [t.deadLetter.topic] : [])]);
  await capture.listen(topics);

  const requests = planRequests(context, contract, options.projectId, await exampleTrigger(context, contract.processor));
  const collect = (untilCompletion: boolean, ms: number): Promise<CapturedMessage[]> =>
    collectPublishes(capture, topics, untilCompletion ? contract.publishes : undefined, ms);

  const firstAnswer = await postRequest(options.url, 'trigger', requests.trigger, requests.headers);
  // Pulled at once: a processor that published before answering has its completion there already.
  const beforeAnswer = await capture.pullAll(topics);
  const publishedFirst = beforeAnswer.some((m) => m.topic === contract.publishes);
  const firstPublished = [...beforeAnswer, ...(publishedFirst ? [] : await collect(true, waitMs))];
  // Late extra publishes of the first delivery still belong to it.
  firstPublished.push(...(await collect(false, Math.min(settleMs, 500))));
  const secondAnswer = await postRequest(options.url, 'duplicate', requests.redelivery, requests.headers);
  const secondPublished = await collect(false, settleMs);
  const malformed: RequestOutcome[] = [];
  for (const [name, text] of requests.malformed) {
    const answer = await postRequest(options.url, name, text, {});
    malformed.push({ ...answer, published: await collect(false, settleMs) });
  }

  const results = checkCompletions({
    contract,
    pipelineHash: options.pipelineHash,
    sent: requests.sent,
    trigger: { ...firstAnswer, published: firstPublished, publishedBeforeAnswer: beforeAnswer.filter((m) => m.topic === contract.publishes).length },
    duplicate: { ...secondAnswer, published: secondPublished },
    malformed,
  });
  return { processor: contract.processor.name, url: options.url, key, sentAs: requests.sentAs, results, ok: results.every((r) => r.ok) };
}

/** The bodies the check sends, and what the good one stands for. */
interface PlannedRequests {
  readonly trigger: string;
  /** The same delivery again: same Pub/Sub messageId, deliveryAttempt 2 (an entry request: the same request). */
  readonly redelivery: string;
  readonly headers: Readonly<Record<string, string>>;
  /** Name → body of each request that is not a valid trigger. */
  readonly malformed: readonly (readonly [string, string])[];
  readonly sent: SentTrigger;
  readonly sentAs: string;
}

function planRequests(context: ExampleContext, contract: ProcessorContract, projectId: string, trigger: ExampleTrigger | undefined): PlannedRequests {
  const { key } = context;
  const notJson = ['not-json', '{"message": this is not JSON'] as const;
  if (trigger === undefined) {
    const request: EntryRequest = { key, correlation_id: context.correlationId };
    return {
      trigger: JSON.stringify(request),
      redelivery: JSON.stringify(request),
      headers: { traceparent: context.traceparent },
      malformed: [notJson, ['no-key', JSON.stringify({ kee: key })]],
      sent: { key, id: undefined, correlationId: context.correlationId, traceparent: context.traceparent },
      sentAs: `an entry request for ${key}`,
    };
  }
  const delivery = (): PushDeliveryFacts => ({
    projectId,
    subscription: contract.subscription?.name ?? '',
    pubsubMessageId: String(randomInt(1e12, 9e12)),
    publishTime: new Date().toISOString(),
    deliveryAttempt: 1,
  });
  const first = delivery();
  const notEnvelope = { id: `not-a-trigger-${randomBytes(4).toString('hex')}`, attributes: { 'ce-subject': key }, data: '{"hello": "not an envelope"}' };
  const work = trigger.envelope.type === ENVELOPE_TYPES.work ? (trigger.envelope.data as WorkData) : undefined;
  return {
    trigger: JSON.stringify(toPushBody(trigger.message, first)),
    redelivery: JSON.stringify(toPushBody(trigger.message, { ...first, deliveryAttempt: 2 })),
    headers: {},
    malformed: [notJson, ['not-an-envelope', JSON.stringify(toPushBody(notEnvelope, delivery()))]],
    sent: {
      key,
      id: trigger.message.id,
      correlationId: trigger.envelope.correlationid,
      traceparent: trigger.envelope.traceparent ?? context.traceparent,
      ...(work ? { work: { batchId: work.batch_id, entityId: work.entity_id } } : {}),
      ...incrementalOf(trigger.envelope),
    },
    sentAs: `${trigger.envelope.type} ${trigger.message.id} from ${trigger.envelope.source}`,
  };
}

/** POSTs one request; a request that gets no answer has `status` undefined and the reason. */
async function postRequest(url: string, request: string, body: string, headers: Readonly<Record<string, string>>): Promise<Omit<RequestOutcome, 'published'>> {
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body,
      signal: AbortSignal.timeout(60_000),
    });
    await response.arrayBuffer();
    return { request, status: response.status };
  } catch (error) {
    const reason = error instanceof Error ? (error.cause instanceof Error ? error.cause.message : error.message) : String(error);
    return { request, status: undefined, error: reason };
  }
}

/** Pulls every topic for `ms` (or until a message reaches `until`), every 200 ms. */
async function collectPublishes(capture: PublishCapture, topics: readonly string[], until: string | undefined, ms: number): Promise<CapturedMessage[]> {
  const found: CapturedMessage[] = [];
  const deadline = Date.now() + ms;
  for (;;) {
    found.push(...(await capture.pullAll(topics)));
    if ((until !== undefined && found.some((m) => m.topic === until)) || Date.now() >= deadline) return found;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** The entities an incremental trigger asks to redo, per type. */
function incrementalOf(envelope: Envelope): Pick<SentTrigger, 'incremental'> {
  if (envelope.type !== ENVELOPE_TYPES.trigger) return {};
  const data = envelope.data as TriggerData;
  if (data.is_incremental !== true || data.entities_changed === undefined) return {};
  return { incremental: Object.fromEntries(Object.entries(data.entities_changed).map(([type, { ids }]) => [type, ids])) };
}

/** A key no earlier run used: a random date (or hour of one) in 2001–2024, an overnight run; or a random string. */
function randomKey(pipeline: ResolvedPipeline): string {
  if (pipeline.key.type === 'string') return `check-${randomBytes(4).toString('hex')}`;
  const day = Date.UTC(2001, 0, 1) + randomInt(0, 24 * 365) * 86_400_000;
  if (pipeline.key.type === 'date') return new Date(day).toISOString().slice(0, 10);
  return new Date(day + randomInt(0, 24) * 3_600_000).toISOString().slice(0, 13);
}
