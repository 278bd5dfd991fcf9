import type { TriggerRecord } from '../ports/state-store.ts';
import { isPermanent, reasonOf } from './errors.ts';

/**
 * Why a trigger was put on the bus (#16.10): `decided` by this call; `recovered on redelivery` — decided
 * earlier by a call that died (or whose publish failed) and still unpublished `ORPHANED_AFTER_MS` later,
 * when a redelivered completion of the key came; `re-published by tick` — the same, found by a tick's
 * outbox flush.
 */
export type PublishReason = 'decided' | 'recovered on redelivery' | 're-published by tick';

/** One trigger put on the bus, and why. */
export interface TriggerPublication {
  readonly trigger: TriggerRecord;
  readonly why: PublishReason;
}

/** One key (or, with `key` undefined, a whole component) a tick could not evaluate. */
export interface TickFailure {
  readonly component: string;
  /** The key (a barrier's) or batch id (a coordinator's); undefined when the component could not list them. */
  readonly key: string | undefined;
  readonly reason: string;
  /** True when retrying cannot help (`retryable: false`). */
  readonly permanent: boolean;
}

/**
 * What a tick did (#16.4). A tick evaluates every key on its own: one key's failure is a `failures`
 * entry, never a reason to skip the others' deadline tiers, stall checks or re-publishes.
 */
export interface TickReport {
  /** Triggers this tick decided. */
  readonly fired: TriggerRecord[];
  /** Every trigger this tick put on the bus, decided now or earlier. */
  readonly published: TriggerPublication[];
  readonly failures: TickFailure[];
}

/** An empty report, to fill. */
export function emptyTickReport(): TickReport {
  return { fired: [], published: [], failures: [] };
}

/** A failure entry for `error`. */
export function tickFailure(component: string, key: string | undefined, error: unknown): TickFailure {
  return { component, key, reason: reasonOf(error), permanent: isPermanent(error) };
}

/** Adds `from` into `into`. */
export function mergeTickReport(into: TickReport, from: TickReport): void {
  into.fired.push(...from.fired);
  into.published.push(...from.published);
  into.failures.push(...from.failures);
}
