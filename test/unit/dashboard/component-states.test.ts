import { describe, expect, it } from 'vitest';
import type { BarrierKeyStatus } from '../../../engine/runtime/completion-barrier.ts';
import { barrierState } from '../../../engine/dashboard/component-states.ts';

const NOW = Date.parse('2026-11-21T08:00:00Z');

/** A barrier's view of a key with three expected members. */
function status(over: { completed?: string[]; failed?: string[]; fired?: boolean; nextDeadlineAt?: number; deadlines?: number }): BarrierKeyStatus {
  const completed = over.completed ?? [];
  const expected = ['a', 'b', 'c'];
  return {
    completed,
    failed: over.failed ?? [],
    missing: expected.filter((m) => !completed.includes(m)),
    joined: [],
    needed: 3,
    snapshot: { expected, mode: undefined, deadlines: Array.from({ length: over.deadlines ?? 0 }, () => ({ afterMs: 3_600_000, minMembers: 2 })) },
    trigger: over.fired ? { reason: 'deadline' } : undefined,
    nextDeadlineAt: over.nextDeadlineAt,
  } as unknown as BarrierKeyStatus;
}

describe('the state a barrier is drawn in for a key', () => {
  it.each([
    ['no completion yet', 'waiting', 'waiting', undefined],
    ['some members in, a deadline tier ahead', 'partial', 'partial 1 of 3', status({ completed: ['a'], deadlines: 1, nextDeadlineAt: NOW + 60_000 })],
    ['some members in, no deadline at all', 'partial', 'partial 2 of 3', status({ completed: ['a', 'b'] })],
    ['fired by a deadline with a member missing', 'fired', 'fired 2 of 3', status({ completed: ['a', 'b'], fired: true })],
    ['every deadline tier passed short of its minimum', 'stuck', 'stuck 1 of 3', status({ completed: ['a'], deadlines: 2 })],
    ['a member failed and no deadline ends the wait', 'stuck', 'stuck 1 of 3', status({ completed: ['a'], failed: ['b'] })],
  ])('%s: %s (%s)', (_case, state, label, given) => {
    expect(barrierState(given, NOW)).toMatchObject({ state, label });
  });

  it('says what is missing and when the next deadline is', () => {
    expect(barrierState(status({ completed: ['a'], deadlines: 1, nextDeadlineAt: NOW + 90_000 }), NOW).detail).toBe('missing b, c; next deadline in 90 s');
  });
});
