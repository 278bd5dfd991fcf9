import type { ContextLogger } from './context-logger.ts';
import type { ProcessorEntities, ProcessorTrigger } from './read-trigger.ts';

/** What `handle` is called with: one execution of the processor for one trigger. */
export interface ProcessorContext {
  /** The processor's name in pipeline.yaml. */
  readonly processor: string;
  readonly phase: string;
  /** The pipeline key this execution is about (e.g. the game_date). */
  readonly key: string;
  /** The key's run, carried from the trigger to the completion. */
  readonly correlationId: string;
  /** Deterministic from (processor, trigger id): the same on every redelivery and in every instance. */
  readonly executionId: string;
  /** This execution's W3C traceparent: a child span of the trigger's; pass it to calls you make. */
  readonly traceparent: string;
  /** Which entities to process: only those changed upstream, or all. */
  readonly entities: ProcessorEntities;
  /** The message that started this execution, parsed and validated. */
  readonly trigger: ProcessorTrigger;
  /** Pub/Sub's delivery count, when the subscription reports it. */
  readonly deliveryAttempt: number | undefined;
  /** Cloud Logging JSON lines stamped with the execution's ids. */
  readonly logger: ContextLogger;
}
