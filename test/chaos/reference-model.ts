/**
 * A small reference model of when a barrier must fire, written apart from the engine
 * (`engine/runtime/evaluate-threshold.ts`) and used to check it: by the chaos run (`runChaos`) against
 * every barrier × key, and by the property tests against random keys.
 *
 * Two rules are each one function so they are easy to change when the semantics change:
 * `thresholdReason` (what a threshold firing is called) and `tierHolds` (whether a deadline tier may
 * fire with the members counted so far).
 */

/** What the model needs of a key: its expectations as fixed at the first completion. */
export interface ModelKey {
  readonly expected: readonly string[];
  readonly threshold: {
    readonly kind: 'all' | 'count' | 'quorum' | 'required';
    readonly required: readonly string[];
    readonly count: number | undefined;
    readonly quorum: number | undefined;
  };
  readonly deadlines: readonly { readonly afterMs: number; readonly minMembers: number; readonly ignoreRequired?: boolean }[];
}

/** The trigger the model says must fire. */
export interface ModelFiring {
  readonly reason: string;
  /** 1-based deadline tier, for a deadline. */
  readonly tier: number | undefined;
  /** The counted members it fires with, in expected order. */
  readonly members: readonly string[];
  readonly missing: readonly string[];
}

/** How many counted members the threshold asks for, by counting (no floating-point fraction tricks). */
export function membersNeeded(key: ModelKey): number {
  const n = key.expected.length;
  const { threshold } = key;
  switch (threshold.kind) {
    case 'all':
      return n;
    case 'count':
      return Math.min(threshold.count ?? n, n);
    case 'required':
      return threshold.required.length;
    case 'quorum': {
      // The least m with m / n ≥ quorum, found by counting up; required members always count towards it.
      const quorum = threshold.quorum ?? 1;
      let m = 0;
      while (m < n && m / n < quorum - 1e-12) m++;
      return Math.max(m, threshold.required.length);
    }
  }
}

/** What a threshold firing short of every member is called: the rule that held (`count 57/60` is a count, not a quorum). */
export function thresholdReason(key: ModelKey, counted: readonly string[]): string {
  void counted;
  return key.threshold.kind;
}

/** Whether deadline tier `tier` may fire with these counted members: its minimum (never zero), and every required member unless the tier ignores them. */
export function tierHolds(key: ModelKey, tier: ModelKey['deadlines'][number], counted: readonly string[]): boolean {
  const required = key.threshold.required.every((m) => counted.includes(m));
  return counted.length >= Math.max(1, tier.minMembers) && (required || tier.ignoreRequired === true);
}

/**
 * The firing a key must have with `counted` members (the members that reported a counting status) at
 * `elapsedMs` after its first completion, or undefined when nothing may fire yet.
 */
export function modelDecision(key: ModelKey, counted: ReadonlySet<string>, elapsedMs: number): ModelFiring | undefined {
  const members = key.expected.filter((m) => counted.has(m));
  const missing = key.expected.filter((m) => !counted.has(m));
  if (key.expected.length > 0 && missing.length === 0) return { reason: 'all_complete', tier: undefined, members, missing };
  const required = key.threshold.required.every((m) => counted.has(m));
  if (required && members.length > 0 && members.length >= membersNeeded(key))
    return { reason: thresholdReason(key, members), tier: undefined, members, missing };
  for (const [i, tier] of key.deadlines.entries()) {
    if (elapsedMs >= tier.afterMs && tierHolds(key, tier, members)) return { reason: 'deadline', tier: i + 1, members, missing };
  }
  return undefined;
}
