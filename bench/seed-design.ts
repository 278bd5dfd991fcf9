// Data flow: completion → one Firestore transaction on the key's one document (read, add field, recount, maybe set _triggered) → publish.
import type { Firestore } from '@google-cloud/firestore';

/** A completion as the seed's orchestrator reads it off the raw-complete topic. */
export interface SeedCompletion {
  readonly processor: string;
  readonly key: string;
  readonly status: 'success' | 'partial' | 'failed' | 'no_data';
  readonly executionId: string;
  readonly correlationId: string;
}

/** What handling one completion did. */
export type SeedOutcome = 'triggered' | 'recorded' | 'duplicate' | 'ignored';

/**
 * The seed system's hand-written phase-2 → phase-3 orchestrator (reference/nba-pipeline.md), kept as
 * faithful as a bench baseline needs: one document per key under `collection`, one field per
 * completed processor beside `_completed_count`, `_triggered`, `_triggered_at`; each completion runs
 * one transaction on that document (the SDK's default of 5 attempts), and publishes the trigger after
 * the transaction when it was the one to set `_triggered`. Every completion of a key contends for the
 * same document: this is the hot document Baton's store layout removes.
 */
export class SeedOrchestrator {
  constructor(
    private readonly db: Firestore,
    private readonly options: {
      readonly collection: string;
      readonly expected: number;
      readonly publish: (key: string, correlationId: string) => Promise<void>;
    },
  ) {}

  async handle(completion: SeedCompletion): Promise<SeedOutcome> {
    if (completion.status !== 'success' && completion.status !== 'partial') return 'ignored';
    const ref = this.db.collection(this.options.collection).doc(completion.key);
    const outcome = await this.db.runTransaction(async (tx): Promise<SeedOutcome> => {
      const snapshot = await tx.get(ref);
      const data: Record<string, unknown> = snapshot.exists ? { ...snapshot.data() } : {};
      // Idempotency by processor name: a redelivery finds its field already there.
      if (completion.processor in data) return 'duplicate';
      data[completion.processor] = {
        completed_at: new Date().toISOString(),
        correlation_id: completion.correlationId,
        status: completion.status,
        record_count: 0,
        execution_id: completion.executionId,
      };
      const count = Object.keys(data).filter((field) => !field.startsWith('_')).length;
      data._completed_count = count;
      let fire = false;
      if (count >= this.options.expected && data._triggered !== true) {
        data._triggered = true;
        data._triggered_at = new Date().toISOString();
        fire = true;
      }
      tx.set(ref, data);
      return fire ? 'triggered' : 'recorded';
    });
    if (outcome === 'triggered') await this.options.publish(completion.key, completion.correlationId);
    return outcome;
  }
}
