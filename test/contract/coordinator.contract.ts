import { afterEach, describe, expect, it } from 'vitest';
import type { CompletionStatus } from '../../engine/config/pipeline-spec.ts';
import type { ResolvedCoordinator } from '../../engine/config/resolved-pipeline.ts';
import type { EntityId } from '../../engine/ports/state-store.ts';
import { Coordinator } from '../../engine/runtime/coordinator.ts';
import type { TriggerData, WorkData } from '../../engine/runtime/envelope.ts';
import { FakeClock } from '../../engine/runtime/fake-clock.ts';
import { Subscriber } from '../../engine/runtime/subscriber.ts';
import type { Backend, BackendFactory, BackendTraits } from './backend.ts';
import { completion, coordinatorOf, coordinatorTrigger, subscriptionOf, Watcher } from './fixtures.ts';

const TRIGGERS = 'predict--precompute-done';
const WORK = 'watch--requests';
const DONE = 'watch--predictions-done';
const KEY = '2025-11-29';

/** The coordinator contract: a trigger, its batch and its reports behave the same on every backend. */
export function coordinatorContract(name: string, factory: BackendFactory, traits: BackendTraits = {}): void {
  describe(`Coordinator contract: ${name}`, { timeout: traits.testTimeoutMs }, () => {
    let backend: Backend;
    let clock: FakeClock;
    const setup = async (config: ResolvedCoordinator = coordinatorOf(), fullList: readonly EntityId[] = ['p1', 'p2']) => {
      clock = new FakeClock('2025-11-29T12:00:00Z');
      backend = factory(clock);
      const { bus, store } = backend;
      await bus.subscribe(subscriptionOf(TRIGGERS, 'precompute-done', { deadLetterTopic: 'precompute-done-dlq' }));
      await bus.subscribe(subscriptionOf(WORK, 'requests'));
      await bus.subscribe(subscriptionOf(DONE, 'predictions-done'));
      const coordinator = new Coordinator({
        coordinator: config,
        pipeline: { name: 'demo', key: { name: 'game_date', type: 'date', pattern: undefined } },
        fullList: () => Promise.resolve(fullList),
        store,
        bus,
        clock,
      });
      const ready = (batchId: string, entityId: EntityId, status: CompletionStatus = 'success', execution = 'e1') =>
        completion({ member: 'prediction_worker', key: KEY, batchId, entityId, status, execution });
      return { bus, store, coordinator, ready, work: new Watcher(bus, WORK), done: new Watcher(bus, DONE) };
    };
    afterEach(() => backend.dispose());

    it('dead-letters a trigger whose full list holds a bad id, naming it, opens no batch, and lets the next trigger run (issue 16 #3)', async () => {
      const { bus, store, coordinator, work } = await setup(coordinatorOf(), [1, 7.5, 3]);
      const trigger = coordinatorTrigger('t1', undefined);
      await bus.publish('precompute-done', trigger);
      const result = await new Subscriber(bus, TRIGGERS, (m) => coordinator.handleTrigger(m)).drain();
      expect(result).toEqual({ acked: 0, nacked: 0, deadLettered: 1 });
      const [letter] = await bus.deadLetters(TRIGGERS);
      expect(letter?.reason).toMatch(/^coordinator\/invalid-entity-list: .*1 of 3 players ids .* no batch was opened: 7\.5 \(/);
      expect(await store.readBatch(coordinator.batchId('t1'))).toBeUndefined();
      expect(await store.listActiveBatches('predict')).toEqual([]);
      await work.drain();
      expect(work.deliveries).toEqual([]);
      const next = await coordinator.handleTrigger(coordinatorTrigger('t2', [1, 3], { time: '2025-11-29T12:01:00Z' }));
      expect(next).toMatchObject({ outcome: 'opened', published: 2 });
    });

    it('refuses an entity id that would make the work id longer than 256 characters before opening the batch (issue 16 #3)', async () => {
      const { store, coordinator } = await setup();
      const long = 'x'.repeat(250);
      await expect(coordinator.handleTrigger(coordinatorTrigger('t1', ['ok', long]))).rejects.toMatchObject({
        code: 'coordinator/invalid-entity-list',
        retryable: false,
        message: expect.stringMatching(/1 of 2 players ids .*: "x{39}… \(250 characters\) \(\/id must NOT have more than 256 characters\)$/) as unknown,
      });
      expect(await store.readBatch(coordinator.batchId('t1'))).toBeUndefined();
      expect((await coordinator.handleTrigger(coordinatorTrigger('t2', ['ok'], { time: '2025-11-29T12:01:00Z' }))).outcome).toBe('opened');
    });

    it("measures the stall time from the store's time, not a skewed instance's clock (issue 16 #6)", async () => {
      const entities = Array.from({ length: 10 }, (_, i) => i + 1);
      const { store, bus, coordinator } = await setup(coordinatorOf(), entities);
      const slowClock = new FakeClock(clock.now() - 10 * 60_000);
      const slow = new Coordinator({
        coordinator: coordinatorOf(),
        pipeline: { name: 'demo', key: { name: 'game_date', type: 'date', pattern: undefined } },
        fullList: () => Promise.resolve(entities),
        store,
        bus,
        clock: slowClock,
      });
      const { batch } = await slow.handleTrigger(coordinatorTrigger('t1', entities));
      for (const entityId of entities.slice(0, 9)) {
        await slow.handleReady(completion({ member: 'prediction_worker', key: KEY, batchId: batch.id, entityId, status: 'success', execution: 'e1' }));
      }
      // Stall policy: 90 % done and no report for 10 min. The slow instance's clock is 10 min behind.
      clock.advance(9 * 60_000);
      expect((await coordinator.tick()).fired).toEqual([]);
      clock.advance(2 * 60_000);
      expect((await coordinator.tick()).fired.map((t) => t.reason)).toEqual(['stalled']);
    });

    it('completes a batch whose every entity reported as all_reported, not all_complete, when some failed, naming them (issue 10)', async () => {
      const { coordinator, ready, done } = await setup();
      const { batch } = await coordinator.handleTrigger(coordinatorTrigger('t1', [1, 2, 3, 4]));
      await coordinator.handleReady(ready(batch.id, 1));
      await coordinator.handleReady(ready(batch.id, 2, 'failed'));
      await coordinator.handleReady(ready(batch.id, 3, 'no_data'));
      expect(await coordinator.inspect(batch.id)).toMatchObject({ counted: [1], failed: [2, 3], unreported: [4], total: 4 });
      const last = await coordinator.handleReady(ready(batch.id, 4, 'partial'));
      expect(last.fired?.reason).toBe('all_reported');
      await done.drain();
      expect(done.unique()[0]?.data as TriggerData).toMatchObject({
        reason: 'all_reported',
        members_completed: ['1', '4'],
        members_failed: ['2', '3'],
        members_missing: ['2', '3'],
        entities_changed: { players: { ids: [1, 4], count: 2 } },
      });
    });

    it("counts the statuses in the coordinator's counts_as_complete, so no_data can count an entity done (issue 10)", async () => {
      const { coordinator, ready } = await setup(coordinatorOf({ countsAsComplete: ['success', 'no_data'] }));
      const { batch } = await coordinator.handleTrigger(coordinatorTrigger('t1', [1, 2]));
      await coordinator.handleReady(ready(batch.id, 1, 'no_data'));
      expect((await coordinator.handleReady(ready(batch.id, 2))).fired?.reason).toBe('all_complete');
    });

    it('keeps the counts_as_complete a batch opened with when the config changes under it', async () => {
      const { coordinator, ready, store, bus } = await setup(coordinatorOf({ countsAsComplete: ['success', 'no_data'] }));
      const { batch } = await coordinator.handleTrigger(coordinatorTrigger('t1', [1, 2]));
      const edited = new Coordinator({
        coordinator: coordinatorOf({ countsAsComplete: ['success'] }),
        pipeline: { name: 'demo', key: { name: 'game_date', type: 'date', pattern: undefined } },
        fullList: () => Promise.resolve([]),
        store,
        bus,
        clock,
      });
      await edited.handleReady(ready(batch.id, 1, 'no_data'));
      expect((await edited.handleReady(ready(batch.id, 2))).fired?.reason).toBe('all_complete');
    });

    it('lets the stall policy see only entities that count: 9 of 10 reported with one failed is 80 %, under a 90 % minimum (issue 10)', async () => {
      const { coordinator, ready } = await setup();
      const entities = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
      const { batch } = await coordinator.handleTrigger(coordinatorTrigger('t1', entities));
      for (const entityId of entities.slice(0, 9)) await coordinator.handleReady(ready(batch.id, entityId, entityId === 9 ? 'failed' : 'success'));
      clock.advance(60 * 60_000);
      expect((await coordinator.tick()).fired).toEqual([]);
      await coordinator.handleReady(ready(batch.id, 9, 'success', 'e2'));
      clock.advance(11 * 60_000);
      expect((await coordinator.tick()).fired.map((t) => t.reason)).toEqual(['stalled']);
    });

    it('lets a successful retry replace a failed report, and still absorbs a redelivery of either (issue 16 #5)', async () => {
      const { coordinator, ready, done } = await setup();
      const { batch } = await coordinator.handleTrigger(coordinatorTrigger('t1', [1, 2]));
      expect((await coordinator.handleReady(ready(batch.id, 1, 'failed', 'e1'))).outcome).toBe('recorded');
      expect((await coordinator.handleReady(ready(batch.id, 1, 'failed', 'e1'))).outcome).toBe('duplicate');
      expect((await coordinator.handleReady(ready(batch.id, 1, 'success', 'e2'))).outcome).toBe('recorded');
      expect((await coordinator.handleReady(ready(batch.id, 1, 'success', 'e2'))).outcome).toBe('duplicate');
      expect((await coordinator.inspect(batch.id))?.counted).toEqual([1]);
      const last = await coordinator.handleReady(ready(batch.id, 2));
      expect(last.fired?.reason).toBe('all_complete');
      await done.drain();
      const data = done.unique()[0]?.data as TriggerData;
      expect(data).toMatchObject({
        members_completed: ['1', '2'],
        members_failed: [],
        members_missing: [],
        entities_changed: { players: { ids: [1, 2], count: 2 } },
      });
      expect(data.lineage).toHaveLength(3);
    });

    it('keeps a success when a failed report of an earlier execution arrives after it (issue 16 #5)', async () => {
      const { coordinator, ready, done } = await setup();
      const { batch } = await coordinator.handleTrigger(coordinatorTrigger('t1', [1, 2]));
      await coordinator.handleReady(ready(batch.id, 1, 'success', 'e2'));
      await coordinator.handleReady(ready(batch.id, 1, 'failed', 'e1'));
      await coordinator.handleReady(ready(batch.id, 2, 'failed', 'e1'));
      await done.drain();
      expect(done.unique()[0]?.data as TriggerData).toMatchObject({
        members_completed: ['1'],
        members_failed: ['2'],
        entities_changed: { players: { ids: [1] } },
      });
    });

    it('ignores an older trigger delivered after a newer one instead of superseding the newer batch (issue 16 #8)', async () => {
      const { store, coordinator, ready, work, done } = await setup(coordinatorOf({ onActiveBatch: 'supersede' }));
      const newer = await coordinator.handleTrigger(coordinatorTrigger('t-new', [3], { time: '2025-11-29T12:05:00Z' }));
      const older = await coordinator.handleTrigger(coordinatorTrigger('t-old', [1, 2], { time: '2025-11-29T12:00:00Z' }));
      expect(older).toMatchObject({ outcome: 'outdated', superseded: [], published: 0, batch: { id: newer.batch.id } });
      expect(older.reason).toMatch(/trigger t-old \(2025-11-29T12:00:00\.000Z\) is older than trigger t-new \(2025-11-29T12:05:00\.000Z\)/);
      expect(await store.readBatch(coordinator.batchId('t-old'))).toBeUndefined();
      expect((await store.listActiveBatches('predict')).map((b) => b.id)).toEqual([newer.batch.id]);
      await coordinator.handleReady(ready(newer.batch.id, 3));
      await work.drain();
      await done.drain();
      expect(work.unique().map((e) => (e.data as WorkData).entity_id)).toEqual([3]);
      expect(done.unique().map((e) => e.id)).toEqual([`done:${newer.batch.id}`]);
    });

    it('still lets a newer trigger delivered later supersede the active batch (issue 16 #8)', async () => {
      const { coordinator } = await setup(coordinatorOf({ onActiveBatch: 'supersede' }));
      const older = await coordinator.handleTrigger(coordinatorTrigger('t-old', [1], { time: '2025-11-29T12:00:00Z' }));
      const newer = await coordinator.handleTrigger(coordinatorTrigger('t-new', [2], { time: '2025-11-29T12:05:00Z' }));
      expect(newer).toMatchObject({ outcome: 'opened', superseded: [older.batch.id] });
    });

    it('does not reopen a key for an older trigger delivered after the newer batch completed (issue 16 #8)', async () => {
      const { store, coordinator, ready } = await setup();
      const newer = await coordinator.handleTrigger(coordinatorTrigger('t-new', [1], { time: '2025-11-29T12:05:00Z' }));
      await coordinator.handleReady(ready(newer.batch.id, 1));
      const older = await coordinator.handleTrigger(coordinatorTrigger('t-old', [1], { time: '2025-11-29T12:00:00Z' }));
      expect(older).toMatchObject({ outcome: 'outdated', batch: { id: newer.batch.id, state: 'completed' } });
      expect(await store.listActiveBatches('predict')).toEqual([]);
    });
  });
}
