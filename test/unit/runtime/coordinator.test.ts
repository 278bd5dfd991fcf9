import { describe, expect, it } from 'vitest';
import { MemoryMessageBus } from '../../../engine/adapters/memory/memory-message-bus.ts';
import { MemoryStateStore } from '../../../engine/adapters/memory/memory-state-store.ts';
import type { EntityId } from '../../../engine/ports/state-store.ts';
import { Coordinator } from '../../../engine/runtime/coordinator.ts';
import type { TriggerData, WorkData } from '../../../engine/runtime/envelope.ts';
import { BatchRefusedError, UnknownBatchError } from '../../../engine/runtime/errors.ts';
import { FakeClock } from '../../../engine/runtime/fake-clock.ts';
import { completion, coordinatorOf, coordinatorTrigger, subscriptionOf, Watcher } from '../../contract/fixtures.ts';

const MINUTE = 60_000;

function trigger(id: string, players: EntityId[] | undefined, key = '2025-11-29') {
  return coordinatorTrigger(id, players, { key });
}

async function setup(config = coordinatorOf(), fullList: EntityId[] = ['p1', 'p2', 'p3', 'p4']) {
  const clock = new FakeClock();
  const bus = new MemoryMessageBus(clock);
  const store = new MemoryStateStore(clock);
  await bus.subscribe(subscriptionOf('work', 'requests'));
  await bus.subscribe(subscriptionOf('done', 'predictions-done'));
  let fetched = 0;
  const coordinator = new Coordinator({
    coordinator: config,
    pipeline: { name: 'demo', key: { name: 'game_date', type: 'date', pattern: undefined } },
    fullList: () => {
      fetched++;
      return Promise.resolve(fullList);
    },
    store,
    bus,
    clock,
  });
  const work = new Watcher(bus, 'work');
  const done = new Watcher(bus, 'done');
  const ready = (batchId: string, entityId: EntityId, status: 'success' | 'failed' = 'success') =>
    completion({ member: 'prediction_worker', key: '2025-11-29', batchId, entityId, status });
  return { clock, bus, store, coordinator, work, done, ready, fetched: () => fetched };
}

describe('Coordinator', () => {
  it('fans out one work message per changed entity with deterministic ids on an incremental trigger', async () => {
    const { coordinator, work, fetched } = await setup();
    const outcome = await coordinator.handleTrigger(trigger('t1', [7, 8, 7]));
    await work.drain();
    expect(outcome).toMatchObject({ outcome: 'opened', published: 2 });
    expect(fetched()).toBe(0);
    expect(work.unique().map((e) => (e.data as WorkData).entity_id)).toEqual([7, 8]);
    expect(work.deliveries.map((m) => m.id)).toEqual([`work:${outcome.batch.id}:7`, `work:${outcome.batch.id}:8`]);
    expect(work.unique()[0]?.correlationid).toBe('run-1');
  });

  it('asks the full-list provider when the trigger is not incremental', async () => {
    const { coordinator, fetched } = await setup();
    const outcome = await coordinator.handleTrigger(trigger('t1', undefined));
    expect(outcome.batch.entities).toEqual(['p1', 'p2', 'p3', 'p4']);
    expect(fetched()).toBe(1);
  });

  it('publishes the phase completion exactly once at N/N despite duplicate reports', async () => {
    const { coordinator, done, ready } = await setup();
    const { batch } = await coordinator.handleTrigger(trigger('t1', [1, 2, 3]));
    const reports = [1, 2, 2, 3, 3, 1].map((id) => ready(batch.id, id));
    const outcomes = await Promise.all(reports.map((r) => coordinator.handleReady(r)));
    expect(outcomes.filter((o) => o.fired)).toHaveLength(1);
    await done.drain();
    expect(done.deliveries).toHaveLength(1);
    expect(done.unique()[0]?.data as TriggerData).toMatchObject({
      reason: 'all_complete',
      emitter: 'predict',
      members_missing: [],
      entities_changed: { players: { count: 3 } },
    });
  });

  it('completes a stalled batch from a tick once enough is done and nothing moved for the stall time', async () => {
    const { coordinator, clock, done, ready } = await setup();
    const ids = Array.from({ length: 20 }, (_, i) => i);
    const { batch } = await coordinator.handleTrigger(trigger('t1', ids));
    for (const id of ids.slice(0, 17)) await coordinator.handleReady(ready(batch.id, id));
    clock.advance(11 * MINUTE);
    expect((await coordinator.tick()).fired).toEqual([]);
    await coordinator.handleReady(ready(batch.id, 17));
    clock.advance(9 * MINUTE);
    expect((await coordinator.tick()).fired).toEqual([]);
    clock.advance(MINUTE);
    const [fired] = (await coordinator.tick()).fired;
    expect(fired?.reason).toBe('stalled');
    await done.drain();
    expect((done.unique()[0]?.data as TriggerData).members_missing).toEqual(['18', '19']);
    await coordinator.handleReady(ready(batch.id, 18));
    await done.drain();
    expect(done.deliveries).toHaveLength(1);
  });

  it('refuses a second batch for an active key when configured to refuse', async () => {
    const { coordinator } = await setup();
    await coordinator.handleTrigger(trigger('t1', [1]));
    await expect(coordinator.handleTrigger(trigger('t2', [2]))).rejects.toThrow(BatchRefusedError);
  });

  it('supersedes the active batch when configured to, and ignores late reports for it', async () => {
    const { coordinator, ready, done } = await setup(coordinatorOf({ onActiveBatch: 'supersede' }));
    const first = await coordinator.handleTrigger(trigger('t1', [1, 2]));
    const second = await coordinator.handleTrigger(trigger('t2', [3]));
    expect(second.superseded).toEqual([first.batch.id]);
    expect((await coordinator.handleReady(ready(first.batch.id, 1))).outcome).toBe('stale');
    await coordinator.handleReady(ready(second.batch.id, 3));
    await done.drain();
    expect(done.unique().map((e) => e.id)).toEqual([`done:${second.batch.id}`]);
  });

  it('re-publishes the work of a redelivered trigger without fetching the list again or opening a second batch', async () => {
    const { coordinator, work, fetched, ready } = await setup();
    const first = await coordinator.handleTrigger(trigger('t1', undefined));
    await coordinator.handleReady(ready(first.batch.id, 'p1'));
    const again = await coordinator.handleTrigger(trigger('t1', undefined));
    await work.drain();
    expect(again).toMatchObject({ outcome: 'existing', published: 3 });
    expect(fetched()).toBe(1);
    expect(work.deliveries).toHaveLength(4);
  });

  it('dead-letters reports for batches or entities it never opened', async () => {
    const { coordinator, ready } = await setup();
    const { batch } = await coordinator.handleTrigger(trigger('t1', [1]));
    await expect(coordinator.handleReady(ready('batch:nope', 1))).rejects.toThrow(UnknownBatchError);
    await expect(coordinator.handleReady(ready(batch.id, 99))).rejects.toThrow(UnknownBatchError);
  });

  it('completes an empty batch at once', async () => {
    const { coordinator, done } = await setup();
    await coordinator.handleTrigger(trigger('t1', []));
    await done.drain();
    expect((done.unique()[0]?.data as TriggerData).reason).toBe('all_complete');
  });

  it('applies the stall policy to every other batch when one fails, and reports it (#16.4: one poison batch stopped every tick)', async () => {
    const { coordinator, clock, store } = await setup();
    const ids = Array.from({ length: 10 }, (_, i) => i);
    const batches: string[] = [];
    for (const key of ['2025-11-28', '2025-11-29']) {
      const { batch } = await coordinator.handleTrigger(trigger(`t-${key}`, ids, key));
      for (const id of ids.slice(0, 9)) await coordinator.handleReady(completion({ member: 'prediction_worker', key, batchId: batch.id, entityId: id }));
      batches.push(batch.id);
    }
    clock.advance(11 * MINUTE);
    const completeBatch = store.completeBatch.bind(store);
    store.completeBatch = (batchId, draft) => (batchId === batches[0] ? Promise.reject(new Error('document too large')) : completeBatch(batchId, draft));
    const report = await coordinator.tick();
    expect(report.fired.map((t) => [t.scope, t.reason])).toEqual([[batches[1], 'stalled']]);
    expect(report.failures).toEqual([{ component: 'predict', key: batches[0], reason: 'Error: document too large', permanent: false }]);
  });
});
