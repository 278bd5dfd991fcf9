// Data flow: scheduler / workflow step → publishCompletion → bindProcessor + checkProcessorResult → buildCompletion → publisher.publish(phase topic).
import { randomUUID } from 'node:crypto';
import type { ResolvedPipeline } from '../config/resolved-pipeline.ts';
import type { Clock } from '../ports/clock.ts';
import type { MessageBus } from '../ports/message-bus.ts';
import { checkKey } from '../runtime/check-key.ts';
import { childTraceparent, toMessage, type Envelope, type ENVELOPE_TYPES } from '../runtime/envelope.ts';
import { SystemClock } from '../runtime/system-clock.ts';
import { bindProcessor } from './bind-processor.ts';
import { buildCompletion } from './build-completion.ts';
import { defaultPublisher } from './default-publisher.ts';
import { executionIdsOf } from './execution-ids.ts';
import { checkProcessorResult, type ProcessorResult } from './processor-result.ts';

/** A completion reported by a processor that Pub/Sub did not start. */
export interface PublishCompletionOptions extends ProcessorResult {
  /** Path to pipeline.yaml, or an already loaded pipeline. */
  readonly pipeline: string | ResolvedPipeline;
  readonly pipelineHash?: string;
  /** The processor's name in pipeline.yaml (checked, with a did-you-mean). */
  readonly processor: string;
  /** Optional: the topic you expect; a mismatch with pipeline.yaml throws. */
  readonly topic?: string;
  /** The pipeline key (checked against the key rule). */
  readonly key: string;
  /** The key's run; default a new one (this is then the first message of the key). */
  readonly correlationId?: string;
  /**
   * What started this run of the work, e.g. the workflow execution name. With it the ids are
   * deterministic — reporting the same run twice publishes one message id, which the barrier absorbs;
   * without it every call is a new execution.
   */
  readonly runId?: string;
  /** The W3C traceparent of whatever started the work, if any. */
  readonly traceparent?: string;
  /** When the work began (epoch ms), for `duration_seconds`; default now. */
  readonly startedAt?: number;
  /** Default `scheduler`. */
  readonly triggerSource?: 'scheduler' | 'manual' | 'pubsub';
  /** Default Google Pub/Sub. */
  readonly publisher?: Pick<MessageBus, 'publish'>;
  readonly clock?: Clock;
}

/** What was published, and where. */
export interface PublishedCompletion {
  readonly topic: string;
  readonly executionId: string;
  readonly envelope: Envelope<typeof ENVELOPE_TYPES.completion>;
}

const OWN_OPTIONS = [
  'pipeline',
  'pipelineHash',
  'processor',
  'topic',
  'key',
  'correlationId',
  'runId',
  'traceparent',
  'startedAt',
  'triggerSource',
  'publisher',
  'clock',
] as const;

/**
 * Publishes one completion for a processor started outside Pub/Sub (Cloud Scheduler, Workflows, a
 * cron job), with the same envelope, validation and topic as `createProcessor`. Throws
 * `ProcessorConfigError` (unknown processor or topic), `InvalidKeyError`, `InvalidResultError`
 * (a misspelled or invalid field) before publishing anything; a publish failure propagates.
 */
export async function publishCompletion(options: PublishCompletionOptions): Promise<PublishedCompletion> {
  const binding = bindProcessor({ pipeline: options.pipeline, pipelineHash: options.pipelineHash, name: options.processor, topic: options.topic });
  checkKey(binding.pipeline.key, options.key);
  const rest: Record<string, unknown> = { ...options };
  for (const own of OWN_OPTIONS) delete rest[own];
  const result = checkProcessorResult(rest);
  const clock = options.clock ?? new SystemClock();
  const ids = executionIdsOf(binding.processor.name, options.runId ?? `run:${randomUUID()}`);
  const now = clock.now();
  const envelope = buildCompletion({
    binding,
    ids,
    key: options.key,
    correlationId: options.correlationId ?? `corr-${randomUUID()}`,
    traceparent: childTraceparent(options.traceparent),
    result,
    trigger: undefined,
    triggerSource: options.triggerSource ?? 'scheduler',
    startedAt: options.startedAt ?? now,
    finishedAt: now,
  });
  const publisher = options.publisher ?? defaultPublisher(process.env.GOOGLE_CLOUD_PROJECT ?? process.env.GCLOUD_PROJECT ?? binding.pipeline.project);
  await publisher.publish(binding.publishes, toMessage(envelope));
  return { topic: binding.publishes, executionId: ids.executionId, envelope };
}
