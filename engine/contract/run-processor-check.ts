// Data flow: contract → realistic trigger (real runtime) → POST to the processor (trigger, redelivery, malformed) → capture its publishes per topic → checkCompletions.
import { randomBytes, randomInt } from 'node:crypto';
import type { ResolvedPipeline } from '../config/resolved-pipeline.ts';
import { childTraceparent, ENVELOPE_TYPES, type Envelope, type TriggerData } from '../runtime/envelope.ts';
import { checkCompletions, type CapturedMessage, type CheckResult, type RequestOutcome, type SentTrigger } from './check-completions.ts';
import { exampleContext, exampleTrigger } from './example-messages.ts';
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

  const trigger = await exampleTrigger(context, contract.processor);
  // A first delivery; Pub/Sub redelivers with the same messageId and a higher deliveryAttempt.
  const facts = (): PushDeliveryFacts => ({
    projectId: options.projectId,
    subscription: contract.subscription?.name ?? '',
    pubsubMessageId: String(randomInt(1e12, 9e12)),
    publishTime: new Date().toISOString(),
    deliveryAttempt: 1,
  });
  let body: string;
  let redelivery: string;
  let headers: Record<string, string> = {};
  let sent: SentTrigger;
  let sentAs: string;
  if (trigger === undefined) {
    const request: EntryRequest = { key, correlation_id: context.correlationId };
    body = JSON.stringify(request);
    redelivery = body;
    headers = { traceparent: context.traceparent };
    sent = { key, id: undefined, correlationId: context.correlationId, traceparent: context.traceparent };
    sentAs = `an entry request for ${key}`;
  } else {
    const delivery = facts();
    body = JSON.stringify(toPushBody(trigger.message, delivery));
    redelivery = JSON.stringify(toPushBody(trigger.message, { ...delivery, deliveryAttempt: 2 }));
    const work = trigger.envelope.type === ENVELOPE_TYPES.work ? (trigger.envelope.data as { batch_id: string; entity_id: string | number }) : undefined;
    sent = {
      key,
      id: trigger.message.id,
      correlationId: trigger.envelope.correlationid,
      traceparent: trigger.envelope.traceparent ?? context.traceparent,
      ...(work ? { work: { batchId: work.batch_id, entityId: work.entity_id } } : {}),
      ...incrementalOf(trigger.envelope),
    };
    sentAs = `${trigger.envelope.type} ${trigger.message.id} from ${trigger.envelope.source}`;
  }

  const post = async (request: string, text: string, extra: Record<string, string> = {}): Promise<Omit<RequestOutcome, 'published'>> => {
    try {
      const response = await fetch(options.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...extra },
        body: text,
        signal: AbortSignal.timeout(60_000),
      });
      await response.arrayBuffer();
      return { request, status: response.status };
    } catch (error) {
      return {
        request,
        status: undefined,
        error: error instanceof Error ? (error.cause instanceof Error ? error.cause.message : error.message) : String(error),
      };
    }
  };
  const collect = async (untilOne: boolean, ms: number): Promise<CapturedMessage[]> => {
    const found: CapturedMessage[] = [];
    const deadline = Date.now() + ms;
    for (;;) {
      found.push(...(await capture.pullAll(topics)));
      const done = untilOne && found.some((m) => m.topic === contract.publishes);
      if (done || Date.now() >= deadline) break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    return found;
  };

  const firstAnswer = await post('trigger', body, headers);
  // Pulled at once: a processor that published before answering has its completion there already.
  const beforeAnswer = await capture.pullAll(topics);
  const firstPublished = [...beforeAnswer, ...(await collect(true, waitMs))];
  // Late extra publishes of the first delivery still belong to it.
  firstPublished.push(...(await collect(false, Math.min(settleMs, 500))));
  const secondAnswer = await post('duplicate', redelivery, headers);
  const secondPublished = await collect(false, settleMs);
  const malformed: RequestOutcome[] = [];
  const notJson = await post('not-json', '{"message": this is not JSON');
  malformed.push({ ...notJson, published: await collect(false, 300) });
  const notTrigger =
    trigger === undefined
      ? JSON.stringify({ kee: key })
      : JSON.stringify(
          toPushBody(
            { id: `not-a-trigger-${randomBytes(4).toString('hex')}`, attributes: { 'ce-subject': key }, data: '{"hello": "not an envelope"}' },
            facts(),
          ),
        );
  const notTriggerAnswer = await post(trigger === undefined ? 'no-key' : 'not-an-envelope', notTrigger);
  malformed.push({ ...notTriggerAnswer, published: await collect(false, settleMs) });

  const results = checkCompletions({
    contract,
    pipelineHash: options.pipelineHash,
    sent,
    trigger: { ...firstAnswer, published: firstPublished, publishedBeforeAnswer: beforeAnswer.filter((m) => m.topic === contract.publishes).length },
    duplicate: { ...secondAnswer, published: secondPublished },
    malformed,
  });
  return { processor: contract.processor.name, url: options.url, key, sentAs, results, ok: results.every((r) => r.ok) };
}

/** The entities an incremental trigger asks to redo, per type. */
function incrementalOf(envelope: Envelope): Pick<SentTrigger, 'incremental'> {
  if (envelope.type !== ENVELOPE_TYPES.trigger) return {};
  const data = envelope.data as TriggerData;
  if (data.is_incremental !== true || data.entities_changed === undefined) return {};
  return { incremental: Object.fromEntries(Object.entries(data.entities_changed).map(([type, { ids }]) => [type, ids])) };
}

/** A key no earlier run used: a random date in 2001–2024 (an overnight run), or a random string. */
function randomKey(pipeline: ResolvedPipeline): string {
  if (pipeline.key.type !== 'date') return `check-${randomBytes(4).toString('hex')}`;
  const day = Date.UTC(2001, 0, 1) + randomInt(0, 24 * 365) * 86_400_000;
  return new Date(day).toISOString().slice(0, 10);
}
