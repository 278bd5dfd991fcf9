// Data flow: ProcessorResult + trigger + ids → buildCompletion → buildEnvelope (schema-checked) → the one completion envelope.
import { buildEnvelope, ENVELOPE_TYPES, type CompletionData, type Envelope } from '../runtime/envelope.ts';
import type { ProcessorBinding } from './bind-processor.ts';
import type { ExecutionIds } from './execution-ids.ts';
import type { ProcessorResult } from './processor-result.ts';
import type { ProcessorTrigger } from './read-trigger.ts';

/** What a completion is made of. */
export interface CompletionInput {
  readonly binding: ProcessorBinding;
  readonly ids: ExecutionIds;
  readonly key: string;
  readonly correlationId: string;
  /** The processor's own span (the trigger's child); the completion starts a child span of it. */
  readonly traceparent: string | undefined;
  /** A checked result (see `checkProcessorResult`). */
  readonly result: ProcessorResult;
  /** The Pub/Sub trigger, when there was one. */
  readonly trigger: ProcessorTrigger | undefined;
  readonly triggerSource: NonNullable<CompletionData['trigger_source']>;
  /** Epoch ms. */
  readonly startedAt: number;
  readonly finishedAt: number;
}

/**
 * Builds a processor's completion envelope with the same helpers the barriers use
 * (`buildEnvelope`, schema-validated), so the SDK and the barriers cannot disagree on the format.
 * Throws a permanent `InvalidEnvelopeError` when the result would break the schema.
 */
export function buildCompletion(input: CompletionInput): Envelope<typeof ENVELOPE_TYPES.completion> {
  const { binding, ids, result, trigger } = input;
  const { processor, pipeline, pipelineHash } = binding;
  const metadata = {
    ...result.metadata,
    ...(result.entitiesChanged === undefined
      ? {}
      : { entities_changed: Object.fromEntries(Object.entries(result.entitiesChanged).map(([t, v]) => [t, [...v]])) }),
    ...(result.isIncremental === undefined ? {} : { is_incremental: result.isIncremental }),
  };
  const work = trigger?.type === ENVELOPE_TYPES.work ? trigger.data : undefined;
  const data: CompletionData = {
    processor_name: processor.name,
    phase: processor.phase,
    execution_id: ids.executionId,
    correlation_id: input.correlationId,
    key: input.key,
    status: result.status,
    timestamp: new Date(input.finishedAt).toISOString(),
    duration_seconds: Math.max(0, input.finishedAt - input.startedAt) / 1000,
    trigger_source: input.triggerSource,
    ...(trigger === undefined || trigger.type === 'entry' ? {} : { trigger_message_id: trigger.id }),
    ...(trigger?.parent === undefined ? {} : { parent_processor: trigger.parent }),
    ...(work === undefined ? {} : { batch_id: work.batch_id, entity_id: work.entity_id }),
    ...(result.recordCount === undefined ? {} : { record_count: result.recordCount }),
    ...(result.recordsFailed === undefined ? {} : { records_failed: result.recordsFailed }),
    ...(result.errorMessage === undefined ? {} : { error_message: result.errorMessage }),
    ...(result.errorType === undefined ? {} : { error_type: result.errorType }),
    ...(pipelineHash === undefined ? {} : { pipeline_hash: pipelineHash }),
    ...(Object.keys(metadata).length === 0 ? {} : { metadata }),
  };
  return buildEnvelope({
    id: ids.completionId,
    source: `//baton/${pipeline.name}/processors/${processor.name}`,
    type: ENVELOPE_TYPES.completion,
    time: input.finishedAt,
    subject: input.key,
    correlationId: input.correlationId,
    parentTraceparent: input.traceparent,
    data,
  });
}
