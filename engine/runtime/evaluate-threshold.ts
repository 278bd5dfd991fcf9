import {
  snapshotIndex,
  tallyOf,
  type DeadlineSnapshot,
  type KeySnapshot,
  type KeyState,
  type KeyTally,
  type MemberRecord,
  type ThresholdSnapshot,
} from '../ports/state-store.ts';
import type { TriggerReason } from './envelope.ts';

/** Where a key stands against its snapshotted expectations. */
export interface MemberSummary {
  /** Expected members with at least one counting completion, in expected order. */
  readonly completed: readonly string[];
  /** Expected members not counted yet. */
  readonly missing: readonly string[];
  /** Members that reported only statuses that do not count (e.g. failed). */
  readonly failed: readonly string[];
  /** Counting completions of expected members: the trigger's fan-in lineage and entity sources. */
  readonly joined: readonly MemberRecord[];
  /** Members the threshold needs counted (besides every required one). */
  readonly needed: number;
}

/**
 * Why a key fires: `all_complete` when every expected member counted; else the threshold that held,
 * named after its kind (`count`, `quorum`, `required` — an `all` threshold holds only as
 * `all_complete`); else `deadline`.
 */
export type FiringReason = Extract<TriggerReason, 'all_complete' | 'count' | 'quorum' | 'required' | 'deadline'>;

/** Why a key fires, with where it stands. */
export interface Firing extends MemberSummary {
  readonly reason: FiringReason;
  /** For `deadline`: the 1-based tier that fired and its delay as written. */
  readonly tier: { readonly tier: number; readonly after: string } | undefined;
}

/**
 * How many members a threshold needs. A quorum is a fraction of ALL expected members, required ones
 * included, rounded up (0.6 of 5 is 3), as the pipeline schema documents.
 */
export function neededMembers(threshold: ThresholdSnapshot, expected: number): number {
  switch (threshold.kind) {
    case 'all':
      return expected;
    case 'count':
      return Math.min(threshold.count ?? expected, expected);
    case 'quorum':
      // The epsilon keeps 0.6 × 5 = 3.0000000000000004 from rounding up to 4.
      return Math.max(threshold.required.length, Math.ceil((threshold.quorum ?? 1) * expected - 1e-9));
    case 'required':
      return threshold.required.length;
  }
}

/** Summarises a key's members against its snapshot. */
export function summarizeMembers(state: KeyState): MemberSummary {
  const { snapshot, members } = state;
  const counts = new Set(snapshot.countsAsComplete);
  const expected = new Set(snapshot.expected);
  const counted = new Set(members.filter((m) => counts.has(m.status) && expected.has(m.member)).map((m) => m.member));
  // Indexed once: a barrier summarises on every completion, so a scan per member would be quadratic in its members.
  const countedAny = new Set(members.filter((m) => counts.has(m.status)).map((m) => m.member));
  const reported = [...new Set(members.map((m) => m.member))];
  return {
    completed: snapshot.expected.filter((m) => counted.has(m)),
    missing: snapshot.expected.filter((m) => !counted.has(m)),
    failed: reported.filter((m) => !countedAny.has(m)),
    joined: members.filter((m) => counted.has(m.member) && counts.has(m.status)),
    needed: neededMembers(snapshot.threshold, snapshot.expected.length),
  };
}

/** Why a key fires, without the member lists: what a decision needs before it reads the members. */
export type FiringRule = Pick<Firing, 'reason' | 'tier'>;

/**
 * Decides whether a key fires at `now`: the threshold (every required member and `needed` counted),
 * else the first elapsed deadline tier whose `minMembers` is met and — unless the tier says
 * `ignoreRequired` — every required member of the threshold counted: a deadline relaxes how many, not
 * which. Pure, so a store may call it inside its transaction.
 */
export function evaluateThreshold(state: KeyState, now: number): Firing | undefined {
  // Every completion is evaluated; until enough are recorded to fire any way, skip the tally and the
  // summary (linear in members), so a barrier of thousands of members does no quadratic work before it fires.
  if (state.members.length < fewestToFire(state.snapshot)) return undefined;
  const rule = firingOf(tallyOf(state.snapshot, state.members), now);
  return rule && { ...summarizeMembers(state), ...rule };
}

/**
 * The same decision as `evaluateThreshold`, on a key's tally alone (counts, not records): a store keeps
 * the tally as completions arrive, so a key that does not fire yet costs the same at 5 or 500 members.
 */
export function firingOf(tally: KeyTally, now: number): FiringRule | undefined {
  const { snapshot, counted } = tally;
  const sets = snapshotIndex(snapshot);
  const requiredMet = tally.requiredCounted === sets.required.size;
  if (counted === sets.expected.size && snapshot.expected.length > 0) return { reason: 'all_complete', tier: undefined };
  const needed = neededMembers(snapshot.threshold, snapshot.expected.length);
  if (snapshot.threshold.kind !== 'all' && requiredMet && counted >= needed && counted > 0) return { reason: snapshot.threshold.kind, tier: undefined };
  const elapsed = now - snapshot.firstCompletionAt;
  const index = snapshot.deadlines.findIndex((tier) => elapsed >= tier.afterMs && tierHolds(tier, counted, requiredMet));
  const tier = snapshot.deadlines[index];
  if (tier === undefined) return undefined;
  return { reason: 'deadline', tier: { tier: index + 1, after: tier.after } };
}

/**
 * Fewest member records with which a key can fire at all: all expected members, the threshold's
 * `needed`, or the smallest tier minimum (never below one). Each record counts at most one member,
 * so a key with fewer records cannot fire, whatever they are and whenever it is evaluated.
 */
export function fewestToFire(snapshot: KeySnapshot): number {
  const tiers = snapshot.deadlines.map((tier) => Math.max(1, tier.minMembers));
  const all = snapshot.expected.length > 0 ? snapshot.expected.length : Infinity;
  return Math.min(all, Math.max(1, neededMembers(snapshot.threshold, snapshot.expected.length)), ...tiers);
}

/** Whether an elapsed tier may fire: its minimum (never zero) counted, and the required members unless it ignores them. */
export function tierHolds(tier: DeadlineSnapshot, completed: number, requiredMet: boolean): boolean {
  return completed >= Math.max(1, tier.minMembers) && (requiredMet || tier.ignoreRequired === true);
}

/** When the key's next deadline tier elapses (epoch ms), or undefined when none is left. */
export function nextDeadline(state: KeyState, now: number): number | undefined {
  const due = state.snapshot.deadlines.map((tier) => state.snapshot.firstCompletionAt + tier.afterMs).filter((at) => at > now);
  return due.length === 0 ? undefined : Math.min(...due);
}
