import { createHash } from 'node:crypto';

/** The ids of one execution. */
export interface ExecutionIds {
  /** `exec-<digest>`: the completion's `execution_id`. */
  readonly executionId: string;
  /** `completion:<processor>:<digest>`: the completion's message id (ce-id, baton_id). */
  readonly completionId: string;
}

/**
 * Ids of the execution of `processor` for the trigger message `triggerId`: a digest of the two, so
 * the same trigger always gives the same ids — on redelivery, in another instance, after a restart —
 * and a completion published twice carries one message id, which the barrier dedupes.
 */
export function executionIdsOf(processor: string, triggerId: string): ExecutionIds {
  const digest = createHash('sha256').update(`${processor}\u0000${triggerId}`).digest('hex').slice(0, 20);
  return { executionId: `exec-${digest}`, completionId: `completion:${processor}:${digest}` };
}
