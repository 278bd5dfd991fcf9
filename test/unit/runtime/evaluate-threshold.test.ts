import { describe, expect, it } from 'vitest';
import type { CompletionStatus } from '../../../engine/config/pipeline-spec.ts';
import type { KeyState, ThresholdSnapshot } from '../../../engine/ports/state-store.ts';
import { evaluateThreshold, fewestToFire, neededMembers, nextDeadline } from '../../../engine/runtime/evaluate-threshold.ts';

const HOUR = 3_600_000;
const expected = ['a', 'b', 'c', 'd', 'e'];

function stateOf(
  threshold: Partial<ThresholdSnapshot>,
  reports: [string, CompletionStatus][],
  deadlines: readonly (readonly [number, number, boolean?])[] = [],
): KeyState {
  return {
    snapshot: {
      barrier: 'gate',
      key: '2025-11-29',
      expected,
      mode: undefined,
      threshold: { kind: 'all', required: [], count: undefined, quorum: undefined, ...threshold },
      deadlines: deadlines.map(([hours, minMembers, ignoreRequired]) => ({ after: `${hours}h`, afterMs: hours * HOUR, minMembers, ignoreRequired })),
      countsAsComplete: ['success', 'partial'],
      firstCompletionAt: 0,
      correlationId: 'c',
      traceparent: undefined,
    },
    members: reports.map(([member, status], i) => ({
      member,
      executionId: `e${i}`,
      messageId: `m${i}`,
      status,
      recordedAt: 0,
      entitiesChanged: undefined,
      incremental: undefined,
    })),
    trigger: undefined,
  };
}

const ok = (...names: string[]): [string, CompletionStatus][] => names.map((n) => [n, 'success']);

describe('evaluateThreshold', () => {
  it.each([
    ['all, 4 of 5', { kind: 'all' }, ok('a', 'b', 'c', 'd'), undefined],
    ['all, 5 of 5', { kind: 'all' }, ok('a', 'b', 'c', 'd', 'e'), 'all_complete'],
    ['count 3, 2 done', { kind: 'count', count: 3 }, ok('a', 'b'), undefined],
    ['count 3, 3 done (reported as count, not quorum: issue 10)', { kind: 'count', count: 3 }, ok('a', 'b', 'c'), 'count'],
    ['quorum 0.6 of 5 needs 3, 3 done with required', { kind: 'quorum', quorum: 0.6, required: ['a'] }, ok('a', 'c', 'd'), 'quorum'],
    ['quorum 0.6 without its required member', { kind: 'quorum', quorum: 0.6, required: ['a'] }, ok('b', 'c', 'd', 'e'), undefined],
    ['quorum 0.6 with only 2', { kind: 'quorum', quorum: 0.6, required: ['a'] }, ok('a', 'b'), undefined],
    ['required only', { kind: 'required', required: ['b', 'c'] }, ok('b', 'c'), 'required'],
    ['count 3 of 5 with all 5 done', { kind: 'count', count: 3 }, ok('a', 'b', 'c', 'd', 'e'), 'all_complete'],
    ['failed does not count', { kind: 'all' }, [...ok('a', 'b', 'c', 'd'), ['e', 'failed']], undefined],
    ['no_data does not count by default', { kind: 'count', count: 1 }, [['a', 'no_data']], undefined],
    ['partial counts', { kind: 'all' }, [...ok('a', 'b', 'c', 'd'), ['e', 'partial']], 'all_complete'],
    ['a later success after a failure counts', { kind: 'all' }, [['e', 'failed'], ...ok('a', 'b', 'c', 'd', 'e')], 'all_complete'],
  ] as const)('%s → %s', (_, threshold, reports, reason) => {
    expect(evaluateThreshold(stateOf(threshold, reports as [string, CompletionStatus][]), 0)?.reason).toBe(reason);
  });

  it('rounds a quorum of all expected members up, without float error', () => {
    expect(neededMembers({ kind: 'quorum', required: [], count: undefined, quorum: 0.6 }, 5)).toBe(3);
    expect(neededMembers({ kind: 'quorum', required: [], count: undefined, quorum: 0.5 }, 5)).toBe(3);
    // 0.07 × 100 is 7.000000000000001 in floating point.
    expect(neededMembers({ kind: 'quorum', required: [], count: undefined, quorum: 0.07 }, 100)).toBe(7);
    expect(neededMembers({ kind: 'quorum', required: ['a', 'b', 'c'], count: undefined, quorum: 0.2 }, 5)).toBe(3);
  });

  it('names completed, missing and failed members and joins only counting completions', () => {
    const firing = evaluateThreshold(stateOf({ kind: 'count', count: 2 }, [['c', 'failed'], ...ok('a', 'b')]), 0);
    expect(firing).toMatchObject({ completed: ['a', 'b'], missing: ['c', 'd', 'e'], failed: ['c'] });
    expect(firing?.joined.map((m) => m.messageId)).toEqual(['m1', 'm2']);
  });

  it('fires the first elapsed deadline tier whose minimum is met', () => {
    const state = stateOf({ kind: 'all' }, ok('a', 'b', 'c'), [
      [1, 4],
      [2, 3],
      [4, 1],
    ]);
    expect(evaluateThreshold(state, HOUR)).toBeUndefined();
    expect(evaluateThreshold(state, 2 * HOUR)).toMatchObject({ reason: 'deadline', tier: { tier: 2, after: '2h' }, missing: ['d', 'e'] });
    expect(evaluateThreshold(state, 9 * HOUR)?.tier?.tier).toBe(2);
  });

  // A retail day closed without `payments` (issue 10): a tier relaxes how many members, not which.
  it.each([
    ['a tier waits for a required member', { kind: 'count', count: 4, required: ['a'] }, ok('b', 'c', 'd'), [[1, 1]], undefined],
    ['a tier fires once the required member is in', { kind: 'count', count: 4, required: ['a'] }, ok('a', 'b'), [[1, 2]], 1],
    ['a tier that ignores required fires without it', { kind: 'count', count: 4, required: ['a'] }, ok('b', 'c'), [[1, 2, true]], 1],
    [
      'a failed required member does not satisfy a tier',
      { kind: 'quorum', quorum: 0.8, required: ['a'] },
      [['a', 'failed'], ...ok('b', 'c')],
      [[1, 1]],
      undefined,
    ],
    [
      'a later tier that ignores required fires when an earlier one waits',
      { kind: 'required', required: ['a'] },
      ok('b', 'c', 'd'),
      [
        [1, 3],
        [2, 3, true],
      ],
      2,
    ],
    ['a tier of an all threshold has no required members to wait for', { kind: 'all' }, ok('a'), [[1, 1]], 1],
  ] as const)('deadline: %s', (_, threshold, reports, tiers, tier) => {
    const state = stateOf(threshold, reports as [string, CompletionStatus][], tiers);
    expect(evaluateThreshold(state, 3 * HOUR)?.tier?.tier).toBe(tier);
  });

  it('reads a snapshot stored before ignore_required existed as honouring the required members', () => {
    const state = stateOf({ kind: 'count', count: 4, required: ['a'] }, ok('b', 'c'), [[1, 1]]);
    const legacy = { ...state, snapshot: { ...state.snapshot, deadlines: [{ after: '1h', afterMs: HOUR, minMembers: 1 }] } };
    expect(evaluateThreshold(legacy, 2 * HOUR)).toBeUndefined();
  });

  it('never fires a deadline with nothing completed, so an all-fail key waits visibly', () => {
    const state = stateOf({ kind: 'all' }, [['a', 'failed']], [[1, 0]]);
    expect(evaluateThreshold(state, 10 * HOUR)).toBeUndefined();
  });

  it('reports when the next deadline tier elapses', () => {
    const state = stateOf({ kind: 'all' }, ok('a'), [
      [1, 4],
      [2, 3],
    ]);
    expect(nextDeadline(state, 0)).toBe(HOUR);
    expect(nextDeadline(state, HOUR)).toBe(2 * HOUR);
    expect(nextDeadline(state, 2 * HOUR)).toBeUndefined();
  });
});

describe('evaluateThreshold on a key that cannot fire yet', () => {
  // A barrier evaluates every completion: reading all records each time made feeding N members cost N² (issue 11).
  it.each([
    ['all of 5, 4 recorded', { kind: 'all' as const }, ok('a', 'b', 'c', 'd'), [], 5],
    ['count 3, 2 recorded', { kind: 'count' as const, count: 3 }, ok('a', 'b'), [], 3],
    ['all of 5 with a 2-member tier, 1 recorded', { kind: 'all' as const }, ok('a'), [[1, 2] as const], 2],
  ])('decides without reading a single record: %s', (_name, threshold, reports, deadlines, fewest) => {
    const state = stateOf(threshold, reports, deadlines);
    expect(fewestToFire(state.snapshot)).toBe(fewest);
    let reads = 0;
    const members = new Proxy(state.members, {
      get: (target, property, receiver) => {
        if (property !== 'length') reads++;
        return Reflect.get(target, property, receiver) as unknown;
      },
    });
    expect(evaluateThreshold({ ...state, members }, 10 * HOUR)).toBeUndefined();
    expect(reads).toBe(0);
  });

  it('never needs fewer than one record, even for a zero-member tier', () => {
    expect(fewestToFire(stateOf({ kind: 'all' }, [], [[1, 0]]).snapshot)).toBe(1);
    expect(evaluateThreshold(stateOf({ kind: 'all' }, [], [[1, 0]]), 10 * HOUR)).toBeUndefined();
  });
});
