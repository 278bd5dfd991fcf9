import { afterEach, describe, expect, it } from 'vitest';
import type { BatchRecord, KeySnapshot, KeyTally, MemberRecord, TriggerDraft, TriggerRule } from '../../engine/ports/state-store.ts';
import { FakeClock } from '../../engine/runtime/fake-clock.ts';
import type { Backend, BackendFactory, BackendTraits } from './backend.ts';

/** The time the contract's clocks start at: a key first completed then is younger than the retention when a restart sweeps (issue 16 #7). */
const FRESH = new FakeClock().now();

const snapshot = (key: string, correlationId = 'first'): KeySnapshot => ({
  barrier: 'gate',
  key,
  expected: ['a', 'b'],
  mode: undefined,
  threshold: { kind: 'all', required: [], count: undefined, quorum: undefined },
  deadlines: [],
  countsAsComplete: ['success', 'partial'],
  firstCompletionAt: FRESH,
  correlationId,
  traceparent: undefined,
});

const member = (name: string, executionId = 'e1', status: MemberRecord['status'] = 'success'): MemberRecord => ({
  member: name,
  executionId,
  messageId: `${name}-${executionId}`,
  status,
  recordedAt: 1_000,
  entitiesChanged: { players: [1, 2] },
  incremental: true,
});

const draft = (reason = 'all_complete'): TriggerDraft => ({
  topic: 'next',
  message: { id: 'trigger-1', attributes: { a: 'b' }, data: '{}' },
  reason,
  decidedAt: 5,
});

/** A rule that always fires with `d`. */
const always = (d: TriggerDraft = draft()): TriggerRule => ({ fires: () => true, draft: () => d });

const batch = (id: string, key = '2025-11-29', triggeredAt = 100, createdAt = 100): BatchRecord => ({
  id,
  coordinator: 'coord',
  key,
  correlationId: 'c',
  traceparent: undefined,
  triggerMessageId: `t-${id}`,
  entityType: 'players',
  entities: [1, 2, 3],
  incremental: true,
  createdAt,
  triggeredAt,
  state: 'active',
});

const item = (entityId: number, executionId: string, status: 'success' | 'failed', recordedAt: number) => ({
  entityId,
  executionId,
  status,
  messageId: `r-${entityId}-${executionId}`,
  recordedAt,
});

/** The StateStore contract: every adapter runs it. */
export function stateStoreContract(name: string, factory: BackendFactory, traits: BackendTraits = {}): void {
  describe(`StateStore contract: ${name}`, { timeout: traits.testTimeoutMs }, () => {
    let backend: Backend;
    const setup = (): Backend => (backend = factory(new FakeClock()));
    afterEach(() => backend.dispose());

    it('keeps the first snapshot of a key and returns it to later openers', async () => {
      const { store } = setup();
      expect((await store.openKey(snapshot('k', 'first'))).correlationId).toBe('first');
      expect((await store.openKey(snapshot('k', 'second'))).correlationId).toBe('first');
      expect((await store.readKey('gate', 'k'))?.snapshot.correlationId).toBe('first');
    });

    it('records a member once per execution id and keeps its facts', async () => {
      const { store } = setup();
      await store.openKey(snapshot('k'));
      expect(await store.recordMember('gate', 'k', member('a'))).toBe(true);
      expect(await store.recordMember('gate', 'k', member('a'))).toBe(false);
      expect(await store.recordMember('gate', 'k', member('a', 'e2'))).toBe(true);
      const state = await store.readKey('gate', 'k');
      expect(state?.members.map((m) => [m.member, m.executionId])).toEqual([
        ['a', 'e1'],
        ['a', 'e2'],
      ]);
      expect(state?.members[0]).toMatchObject({ entitiesChanged: { players: [1, 2] }, incremental: true });
    });

    it('decides a trigger exactly once under 200 concurrent deciders', async () => {
      const { store } = setup();
      await store.openKey(snapshot('k'));
      await store.recordMember('gate', 'k', member('a'));
      const decisions = await Promise.all(Array.from({ length: 200 }, () => store.decideTrigger('gate', 'k', always())));
      expect(decisions.filter((d) => d.created)).toHaveLength(1);
      expect(decisions.every((d) => d.trigger?.message.id === 'trigger-1')).toBe(true);
    });

    it('asks the rule on the tally, reads the members only when it fires, and stores nothing when the draft declines', async () => {
      const { store } = setup();
      await store.openKey(snapshot('k'));
      await store.recordMember('gate', 'k', member('a'));
      let drafted = 0;
      const declines = (fires: boolean): TriggerRule => ({
        fires: () => fires,
        draft: (state) => {
          drafted = state.members.length;
          return undefined;
        },
      });
      expect(await store.decideTrigger('gate', 'k', declines(false))).toEqual({ trigger: undefined, created: false });
      expect(drafted).toBe(0);
      expect(await store.decideTrigger('gate', 'k', declines(true))).toEqual({ trigger: undefined, created: false });
      expect(drafted).toBe(1);
      expect(await store.listKeys('gate', true)).toEqual(['k']);
    });

    it('keeps the tally in step with the records: distinct expected members in a counting status, required ones apart (issue 11)', async () => {
      const { store } = setup();
      const required: KeySnapshot = { ...snapshot('k'), expected: ['a', 'b', 'c'], threshold: { kind: 'count', required: ['b'], count: 2, quorum: undefined } };
      await store.openKey(required);
      const tallies: KeyTally[] = [];
      const seen: TriggerRule = { fires: (tally) => (tallies.push(tally), false), draft: () => undefined };
      const record = async (...records: MemberRecord[]) => {
        for (const r of records) await store.recordMember('gate', 'k', r);
        await store.decideTrigger('gate', 'k', seen);
        return tallies.map((t) => [t.counted, t.requiredCounted]).at(-1);
      };
      expect(await record(member('b', 'e1', 'failed'), member('stranger'))).toEqual([0, 0]);
      expect(await record(member('a'), member('a', 'e2'), member('a'))).toEqual([1, 0]);
      expect(await record(member('b', 'e2', 'partial'))).toEqual([2, 1]);
      expect(await record(member('b', 'e3'), member('c', 'e1', 'no_data'))).toEqual([2, 1]);
      expect(tallies.at(-1)?.snapshot.expected).toEqual(['a', 'b', 'c']);
    });

    it('counts each member once in the tally under 200 concurrent records of 50 members (issue 11)', async () => {
      const { store } = setup();
      const names = Array.from({ length: 50 }, (_, i) => `m${String(i)}`);
      await store.openKey({ ...snapshot('k'), expected: names, threshold: { kind: 'all', required: ['m7'], count: undefined, quorum: undefined } });
      const records = names.flatMap((name) => [member(name, 'e1'), member(name, 'e1'), member(name, 'e2'), member(name, 'e3', 'failed')]);
      const recorded = await Promise.all(records.map((r) => store.recordMember('gate', 'k', r)));
      expect(recorded.filter(Boolean)).toHaveLength(150);
      let tally: KeyTally | undefined;
      await store.decideTrigger('gate', 'k', { fires: (t) => ((tally = t), false), draft: () => undefined });
      expect(tally).toMatchObject({ counted: 50, requiredCounted: 1 });
    });

    it('records and decides a completion in one call as openKey, recordMember and decideTrigger would, once under 100 concurrent completions', async () => {
      const { store } = setup();
      const names = Array.from({ length: 100 }, (_, i) => `m${String(i)}`);
      const open = (correlationId: string): KeySnapshot => ({ ...snapshot('k', correlationId), expected: names });
      const tallies: number[] = [];
      const rule: TriggerRule = {
        fires: (tally) => (tallies.push(tally.counted), tally.counted === names.length),
        draft: (state) => ({ ...draft(), reason: `drafted on ${String(state.members.length)} records` }),
      };
      const results = await Promise.all(names.map((name, i) => store.recordCompletion(open(`c${String(i)}`), member(name), rule)));
      expect(results.every((r) => r.recorded)).toBe(true);
      const created = results.filter((r) => r.decision.created);
      expect(created).toHaveLength(1);
      expect(created[0]?.decision.trigger).toMatchObject({ emitter: 'gate', scope: 'k', reason: 'drafted on 100 records', publishedAt: undefined });
      // Every completion saw a tally that counted itself: the one that made it complete decided.
      expect(Math.max(...tallies)).toBe(names.length);
      const state = await store.readKey('gate', 'k');
      expect(state?.snapshot.correlationId).toMatch(/^c\d+$/);
      expect(state?.members).toHaveLength(names.length);
      // A redelivery is not recorded again, and it is told the trigger decided earlier (it may be the one still to publish).
      const again = await store.recordCompletion(open('late'), member('m3'), rule);
      expect(again.recorded).toBe(false);
      expect(again.decision).toMatchObject({ created: false, trigger: { reason: 'drafted on 100 records' } });
      expect((await store.readKey('gate', 'k'))?.snapshot.correlationId).toBe(state?.snapshot.correlationId);
    });

    it('tells a completion of a key that does not fire yet that nothing is decided, and keeps its record and snapshot', async () => {
      const { store } = setup();
      const result = await store.recordCompletion(snapshot('k', 'first'), member('a'), { fires: (tally) => tally.counted === 2, draft: () => draft() });
      expect(result).toEqual({ recorded: true, decision: { trigger: undefined, created: false } });
      expect(await store.readKey('gate', 'k')).toMatchObject({ snapshot: { correlationId: 'first' }, members: [{ member: 'a' }], trigger: undefined });
      const second = await store.recordCompletion(snapshot('k', 'second'), member('b'), { fires: (tally) => tally.counted === 2, draft: () => draft() });
      expect(second).toMatchObject({ recorded: true, decision: { created: true, trigger: { message: { id: 'trigger-1' } } } });
    });

    it('lists a decided trigger as unpublished until it is marked published', async () => {
      const { store } = setup();
      await store.openKey(snapshot('k'));
      await store.openKey(snapshot('other'));
      await store.decideTrigger('gate', 'k', always());
      expect((await store.listUnpublished('gate')).map((t) => [t.scope, t.message.id])).toEqual([['k', 'trigger-1']]);
      expect(await store.listKeys('gate', true)).toEqual(['other']);
      expect(await store.listKeys('gate', false)).toEqual(['k', 'other']);
      await store.markPublished('gate', 'k', 9);
      expect(await store.listUnpublished()).toEqual([]);
      expect((await store.readKey('gate', 'k'))?.trigger?.publishedAt).toBe(9);
    });

    it('keeps keys, members and an unpublished decision across a restart', async () => {
      const { store } = setup();
      await store.openKey(snapshot('k'));
      await store.recordMember('gate', 'k', member('a'));
      await store.decideTrigger('gate', 'k', always());
      const after = (backend = backend.restart());
      expect((await after.store.readKey('gate', 'k'))?.members).toHaveLength(1);
      expect(await after.store.listUnpublished()).toHaveLength(1);
      expect((await after.store.decideTrigger('gate', 'k', always(draft('other')))).created).toBe(false);
    });

    it('opens a batch once and reports a redelivered open as existing', async () => {
      const { store } = setup();
      expect((await store.openBatch(batch('b1'), 'refuse')).outcome).toBe('opened');
      const again = await store.openBatch(batch('b1'), 'refuse');
      expect(again.outcome).toBe('existing');
      expect(again.batch.entities).toEqual([1, 2, 3]);
    });

    it('refuses a second active batch for a key when told to refuse', async () => {
      const { store } = setup();
      await store.openBatch(batch('b1'), 'refuse');
      const second = await store.openBatch(batch('b2'), 'refuse');
      expect(second).toMatchObject({ outcome: 'refused', batch: { id: 'b1' } });
      expect(await store.readBatch('b2')).toBeUndefined();
      expect((await store.openBatch(batch('b3', 'other-key'), 'refuse')).outcome).toBe('opened');
    });

    it('supersedes the active batch when told to, so it can never complete', async () => {
      const { store } = setup();
      await store.openBatch(batch('b1'), 'supersede');
      expect(await store.openBatch(batch('b2'), 'supersede')).toMatchObject({ outcome: 'opened', superseded: ['b1'] });
      expect((await store.readBatch('b1'))?.batch.state).toBe('superseded');
      expect((await store.completeBatch('b1', () => draft())).created).toBe(false);
      expect((await store.listActiveBatches('coord')).map((b) => b.id)).toEqual(['b2']);
    });

    it('records batch items idempotently and tracks the last progress time', async () => {
      const { store } = setup();
      await store.openBatch(batch('b1'), 'refuse');
      expect(await store.recordBatchItem('b1', item(1, 'e1', 'success', 500))).toBe(true);
      expect(await store.recordBatchItem('b1', item(1, 'e1', 'success', 900))).toBe(false);
      const state = await store.readBatch('b1');
      expect(state?.items).toHaveLength(1);
      expect(state?.lastProgressAt).toBe(500);
    });

    it('keeps one batch report per entity × execution: a retry after a failure is a new record (issue 16 #5)', async () => {
      const { store } = setup();
      await store.openBatch(batch('b1'), 'refuse');
      expect(await store.recordBatchItem('b1', item(1, 'e1', 'failed', 500))).toBe(true);
      expect(await store.recordBatchItem('b1', item(1, 'e1', 'failed', 600))).toBe(false);
      expect(await store.recordBatchItem('b1', item(1, 'e2', 'success', 700))).toBe(true);
      expect(await store.recordBatchItem('b1', item(1, 'e2', 'success', 800))).toBe(false);
      const state = await store.readBatch('b1');
      expect(state?.items.map((i) => [i.entityId, i.executionId, i.status])).toEqual([
        [1, 'e1', 'failed'],
        [1, 'e2', 'success'],
      ]);
      expect(state?.lastProgressAt).toBe(700);
    });

    it('records 100 concurrent reports of one entity, one per execution, each once (issue 16 #5)', async () => {
      const { store } = setup();
      await store.openBatch(batch('b1'), 'refuse');
      const reports = Array.from({ length: 200 }, (_, i) => item(1, `e${String(i % 100)}`, 'success', 500 + i));
      const recorded = await Promise.all(reports.map((r) => store.recordBatchItem('b1', r)));
      expect(recorded.filter(Boolean)).toHaveLength(100);
      expect((await store.readBatch('b1'))?.items).toHaveLength(100);
    });

    it('does not let a batch from an older trigger supersede a newer one that opened first (issue 16 #8)', async () => {
      const { store } = setup();
      await store.openBatch(batch('new', '2025-11-29', 200), 'supersede');
      const old = await store.openBatch(batch('old', '2025-11-29', 100), 'supersede');
      expect(old).toMatchObject({ outcome: 'outdated', batch: { id: 'new', state: 'active' }, superseded: [] });
      expect(await store.readBatch('old')).toBeUndefined();
      expect((await store.listActiveBatches('coord')).map((b) => b.id)).toEqual(['new']);
      expect((await store.openBatch(batch('newer', '2025-11-29', 300), 'supersede')).superseded).toEqual(['new']);
    });

    it('orders batches of equal trigger time by trigger message id, whatever the arrival order (issue 16 #8)', async () => {
      const { store } = setup();
      await store.openBatch(batch('b2'), 'supersede');
      expect((await store.openBatch(batch('b1'), 'supersede')).outcome).toBe('outdated');
      expect((await store.openBatch(batch('b3'), 'supersede')).superseded).toEqual(['b2']);
    });

    it('keeps ordering against a completed batch, so a late older trigger never reopens the key (issue 16 #8)', async () => {
      const { store } = setup();
      await store.openBatch(batch('new', '2025-11-29', 200, FRESH), 'refuse');
      await store.completeBatch('new', () => draft());
      const after = (backend = backend.restart());
      expect(await after.store.openBatch(batch('old', '2025-11-29', 100), 'refuse')).toMatchObject({
        outcome: 'outdated',
        batch: { id: 'new', state: 'completed' },
      });
      expect((await after.store.openBatch(batch('newer', '2025-11-29', 300), 'refuse')).outcome).toBe('opened');
    });

    it('completes a batch exactly once under concurrency and marks it completed', async () => {
      const { store } = setup();
      await store.openBatch(batch('b1'), 'refuse');
      const decisions = await Promise.all(Array.from({ length: 100 }, () => store.completeBatch('b1', () => draft())));
      expect(decisions.filter((d) => d.created)).toHaveLength(1);
      expect((await store.readBatch('b1'))?.batch.state).toBe('completed');
      expect(await store.listActiveBatches('coord')).toEqual([]);
      expect((await store.listUnpublished('coord')).map((t) => t.scope)).toEqual(['b1']);
    });
  });
}
