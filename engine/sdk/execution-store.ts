// Data flow: trigger delivery → execution id (processor, trigger id) → ExecutionStore.get → already done? ack : handle → publish completion → ExecutionStore.set.
import type { CompletionStatus } from '../config/pipeline-spec.ts';

/** What is remembered of a finished execution. */
export interface ExecutionRecord {
  /** Id of the completion message that was published. */
  readonly completionId: string;
  readonly status: CompletionStatus;
  /** When the completion was published (epoch ms). */
  readonly at: number;
}

/**
 * Remembers which executions already published their completion, so a redelivered trigger is acked
 * without running the work again.
 *
 * Invariants the SDK relies on:
 * - `set` is called only after the completion was published, so a record means the work is durable.
 * - Losing records is safe, only wasteful: an execution id is deterministic from (processor, trigger
 *   id), so work that runs again publishes a completion with the same message id, which the barrier
 *   absorbs as a duplicate.
 *
 * The default keeps records in memory (bounded, per instance). Whether to make it durable (Firestore,
 * Redis, a table beside the processor's output) is the user's choice: it only saves repeated work
 * across restarts and instances, never correctness.
 */
export interface ExecutionStore {
  /** The record of an execution whose completion was published, if this store remembers one. A throw answers 500 (redelivered). */
  get(executionId: string): Promise<ExecutionRecord | undefined>;
  /** Remembers a published completion. A throw is logged and the delivery still acked: the completion is out. */
  set(executionId: string, record: ExecutionRecord): Promise<void>;
}
