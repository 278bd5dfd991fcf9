import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { CompletionStatus } from '../../../engine/config/pipeline-spec.ts';
import { MemoryStateStore } from '../../../engine/adapters/memory/memory-state-store.ts';
import { openSqliteDatabase } from '../../../engine/adapters/sqlite/open-sqlite-database.ts';
import { SqliteStateStore } from '../../../engine/adapters/sqlite/sqlite-state-store.ts';
import type { KeyState, KeyTally, MemberRecord, StateStore } from '../../../engine/ports/state-store.ts';
import { evaluateThreshold, firingOf, nextDeadline } from '../../../engine/runtime/evaluate-threshold.ts';
import { modelDecision, type ModelKey } from '../../chaos/reference-model.ts';

const STATUSES: readonly CompletionStatus[] = ['success', 'partial', 'failed', 'no_data'];
const FIRST = Date.UTC(2026, 0, 1);

/** A key: 1–8 expected members, any threshold form the resolver produces, 0–3 deadline tiers, and any reports. */
const keyStates = fc
  .integer({ min: 1, max: 8 })
  .chain((n) => {
    const names = Array.from({ length: n }, (_, i) => `m${i}`);
    const subset = fc.subarray(names);
    const threshold = fc.oneof(
      fc.constant({ kind: 'all' as const, required: [] as string[], count: undefined, quorum: undefined }),
      fc.record({ kind: fc.constant('count' as const), required: subset, count: fc.integer({ min: 1, max: n + 2 }), quorum: fc.constant(undefined) }),
      fc.record({
        kind: fc.constant('quorum' as const),
        required: subset,
        count: fc.constant(undefined),
        // Quorums written as decimals, as people write them (0.6, 0.75), and arbitrary ones.
        quorum: fc.oneof(fc.constantFrom(0.5, 0.6, 0.75, 0.8, 0.9, 1), fc.double({ min: 0.01, max: 1, noNaN: true })),
      }),
      fc.record({
        kind: fc.constant('required' as const),
        required: fc.subarray(names, { minLength: 1 }),
        count: fc.constant(undefined),
        quorum: fc.constant(undefined),
      }),
    );
    const tier = fc.record({
      afterMs: fc.integer({ min: 0, max: 4 }).map((h) => h * 3_600_000),
      minMembers: fc.integer({ min: 0, max: n + 1 }),
      ignoreRequired: fc.boolean(),
    });
    const report = fc.record({ member: fc.constantFrom(...names, 'stranger'), status: fc.constantFrom(...STATUSES) });
    return fc.record({
      names: fc.constant(names),
      threshold,
      deadlines: fc.array(tier, { maxLength: 3 }),
      counts: fc.subarray([...STATUSES], { minLength: 1 }),
      reports: fc.array(report, { maxLength: 12 }),
      elapsedMs: fc.integer({ min: 0, max: 5 * 3_600_000 }),
    });
  })
  .map(({ names, threshold, deadlines, counts, reports, elapsedMs }) => {
    const members: MemberRecord[] = reports.map((r, i) => ({
      member: r.member,
      executionId: `exec-${i}`,
      messageId: `msg-${i}`,
      status: r.status,
      recordedAt: FIRST + i,
      entitiesChanged: undefined,
      incremental: undefined,
    }));
    const state: KeyState = {
      snapshot: {
        barrier: 'gate',
        key: '2026-01-01',
        expected: names,
        mode: undefined,
        threshold,
        deadlines: deadlines.map((d) => ({ after: `${d.afterMs / 3_600_000}h`, ...d })),
        countsAsComplete: counts,
        firstCompletionAt: FIRST,
        correlationId: 'c',
        traceparent: undefined,
      },
      members,
      trigger: undefined,
    };
    return { state, now: FIRST + elapsedMs };
  });

function modelOf(state: KeyState): { key: ModelKey; counted: Set<string> } {
  const { snapshot } = state;
  const counts = new Set<string>(snapshot.countsAsComplete);
  const counted = new Set(state.members.filter((m) => counts.has(m.status) && snapshot.expected.includes(m.member)).map((m) => m.member));
  return { key: { expected: snapshot.expected, threshold: snapshot.threshold, deadlines: snapshot.deadlines }, counted };
}

describe('threshold and deadline decision against the reference model', () => {
  it('fires exactly when the model fires, with the same reason, tier, members and missing members', () => {
    fc.assert(
      fc.property(keyStates, ({ state, now }) => {
        const { key, counted } = modelOf(state);
        const model = modelDecision(key, counted, now - state.snapshot.firstCompletionAt);
        const firing = evaluateThreshold(state, now);
        const engine = firing && { reason: firing.reason, tier: firing.tier?.tier, members: firing.completed, missing: firing.missing };
        expect(engine).toEqual(model && { reason: model.reason, tier: model.tier, members: model.members, missing: model.missing });
      }),
      { numRuns: 2_000, seed: 20261129 },
    );
  });

  it('once a key may fire it may fire at every later time, and no firing appears between now and the next deadline', () => {
    fc.assert(
      fc.property(keyStates, fc.integer({ min: 1, max: 6 * 3_600_000 }), ({ state, now }, later) => {
        const firesNow = evaluateThreshold(state, now) !== undefined;
        if (firesNow) expect(evaluateThreshold(state, now + later)).toBeDefined();
        const next = nextDeadline(state, now);
        if (!firesNow && (next === undefined || now + later < next)) expect(evaluateThreshold(state, now + later)).toBeUndefined();
        if (next !== undefined) expect(next).toBeGreaterThan(now);
      }),
      { numRuns: 2_000, seed: 20261129 },
    );
  });

  it('never fires with no counted member, by threshold or deadline', () => {
    fc.assert(
      fc.property(keyStates, ({ state, now }) => {
        const firing = evaluateThreshold(state, now);
        if (firing !== undefined) expect(firing.completed.length).toBeGreaterThan(0);
      }),
      { numRuns: 2_000, seed: 20261129 },
    );
  });

  it('decides on the tally a store keeps as records arrive exactly as on the records themselves (issue 11), on memory and SQLite', async () => {
    const db = openSqliteDatabase(':memory:');
    const stores: StateStore[] = [new MemoryStateStore(), new SqliteStateStore(db)];
    let run = 0;
    await fc.assert(
      fc.asyncProperty(keyStates, async ({ state, now }) => {
        const key = `k${run++}`;
        for (const store of stores) {
          await store.openKey({ ...state.snapshot, key });
          for (const record of state.members) await store.recordMember('gate', key, record);
          let tally: KeyTally | undefined;
          await store.decideTrigger('gate', key, { fires: (t) => ((tally = t), false), draft: () => undefined });
          expect(tally && firingOf(tally, now)).toEqual(
            evaluateThreshold(state, now) && { reason: evaluateThreshold(state, now)?.reason, tier: evaluateThreshold(state, now)?.tier },
          );
        }
      }),
      { numRuns: 300, seed: 20261129 },
    );
    db.close();
  });
});
