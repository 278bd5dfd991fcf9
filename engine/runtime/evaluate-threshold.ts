import type { DeadlineSnapshot, KeyState, MemberRecord, ThresholdSnapshot } from '../ports/state-store.ts';
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
  const reported = [...new Set(members.map((m) => m.member))];
  return {
    completed: snapshot.expected.filter((m) => counted.has(m)),
    missing: snapshot.expected.filter((m) => !counted.has(m)),
    failed: reported.filter((m) => !members.some((r) => r.member === m && counts.has(r.status))),
    joined: members.filter((m) => counted.has(m.member) && counts.has(m.status)),
    needed: neededMembers(snapshot.threshold, snapshot.expected.length),
  };
}

/**
 * Decides whether a key fires at `now`: the threshold (every required member and `needed` counted),
 * else the first elapsed deadline tier whose `minMembers` is met and — unless the tier says
 * `ignoreRequired` — every required member of the threshold counted: a deadline relaxes how many, not
 * which. Pure, so a store may call it inside its transaction.
 */
export function evaluateThreshold(state: KeyState, now: number): Firing | undefined {
  const summary = summarizeMembers(state);
  const { snapshot } = state;
  const requiredMet = snapshot.threshold.required.every((m) => summary.completed.includes(m));
  if (summary.missing.length === 0 && snapshot.expected.length > 0) return { ...summary, reason: 'all_complete', tier: undefined };
  if (snapshot.threshold.kind !== 'all' && requiredMet && summary.completed.length >= summary.needed && summary.completed.length > 0) {
    return { ...summary, reason: snapshot.threshold.kind, tier: undefined };
  }
  const elapsed = now - snapshot.firstCompletionAt;
  const index = snapshot.deadlines.findIndex((tier) => elapsed >= tier.afterMs && tierHolds(tier, summary.completed.length, requiredMet));
  const tier = snapshot.deadlines[index];
  if (tier === undefined) return undefined;
  return { ...summary, reason: 'deadline', tier: { tier: index + 1, after: tier.after } };
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
