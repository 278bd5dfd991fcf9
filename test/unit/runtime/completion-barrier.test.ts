import { describe, expect, it } from 'vitest';
import { MemoryMessageBus } from '../../../engine/adapters/memory/memory-message-bus.ts';
import { MemoryStateStore } from '../../../engine/adapters/memory/memory-state-store.ts';
import type { ResolvedBarrier } from '../../../engine/config/resolved-pipeline.ts';
import { CompletionBarrier } from '../../../engine/runtime/completion-barrier.ts';
import { parseMessage, TARGET_ATTRIBUTE, type TriggerData } from '../../../engine/runtime/envelope.ts';
import { FakeClock } from '../../../engine/runtime/fake-clock.ts';
import { barrierOf, completion, pipelineOf, subscriptionOf, thresholdOf, TRIGGER_TOPIC, Watcher } from '../../contract/fixtures.ts';

async function setup(config: ResolvedBarrier, processors = config.members.map((m) => m.name), now = '2025-11-29T12:00:00Z') {
  const clock = new FakeClock(now);
  const bus = new MemoryMessageBus(clock);
  const store = new MemoryStateStore(clock);
  await bus.subscribe(subscriptionOf('watch', TRIGGER_TOPIC));
  const make = (barrier: ResolvedBarrier) => new CompletionBarrier({ barrier, pipeline: pipelineOf(processors), pipelineHash: 'abc123', store, bus, clock });
  const watcher = new Watcher(bus, 'watch');
  const triggers = async (): Promise<TriggerData[]> => {
    await watcher.drain();
    return watcher.unique().map((e) => e.data as TriggerData);
  };
  return { clock, bus, store, barrier: make(config), make, watcher, triggers };
}

describe('CompletionBarrier', () => {
  it('carries the union of entities_changed with counts, the first correlation id and the lineage', async () => {
    const { barrier, watcher, triggers } = await setup(barrierOf(['a', 'b']));
    const first = completion({ member: 'a', key: '2025-11-28', correlation: 'run-first', entities: { players: [1, 2], teams: ['LAL'] }, incremental: true });
    const second = completion({ member: 'b', key: '2025-11-28', correlation: 'run-other', entities: { players: [2, 3] }, incremental: true });
    await barrier.handle(first);
    await barrier.handle(second);
    const [data] = await triggers();
    expect(data).toMatchObject({
      reason: 'all_complete',
      correlation_id: 'run-first',
      emitter: 'gate',
      members_completed: ['a', 'b'],
      members_missing: [],
      entities_changed: { players: { ids: [1, 2, 3], count: 3 }, teams: { ids: ['LAL'], count: 1 } },
      is_incremental: true,
      lineage: [first.id, second.id],
      pipeline_hash: 'abc123',
    });
    const envelope = watcher.unique()[0];
    expect(envelope?.correlationid).toBe('run-first');
    expect(envelope?.traceparent).toMatch(/^00-/);
  });

  it('is not incremental when any joined member did a full run', async () => {
    const { barrier, triggers } = await setup(barrierOf(['a', 'b']));
    await barrier.handle(completion({ member: 'a', key: '2025-11-28', incremental: true }));
    await barrier.handle(completion({ member: 'b', key: '2025-11-28' }));
    expect((await triggers())[0]?.is_incremental).toBe(false);
  });

  it('records a failed member as failed and fires only once it succeeds', async () => {
    const { barrier, store, triggers } = await setup(barrierOf(['a', 'b']));
    await barrier.handle(completion({ member: 'a', key: '2025-11-28' }));
    await barrier.handle(completion({ member: 'b', key: '2025-11-28', status: 'failed' }));
    expect((await barrier.inspect('2025-11-28'))?.failed).toEqual(['b']);
    expect(await triggers()).toEqual([]);
    await barrier.handle(completion({ member: 'b', key: '2025-11-28', execution: 'retry' }));
    expect(await triggers()).toHaveLength(1);
    expect((await store.readKey('gate', '2025-11-28'))?.members).toHaveLength(3);
  });

  it('keeps the expectations snapshotted at the first completion when pipeline.yaml changes mid-run', async () => {
    const { barrier, make, triggers } = await setup(barrierOf(['a', 'b']), ['a', 'b', 'c']);
    await barrier.handle(completion({ member: 'a', key: '2025-11-28' }));
    // The edited pipeline adds member c; the in-flight key still needs only a and b.
    const edited = make(barrierOf(['a', 'b', 'c']));
    await edited.handle(completion({ member: 'b', key: '2025-11-28' }));
    expect((await triggers())[0]?.members_completed).toEqual(['a', 'b']);
    await edited.handle(completion({ member: 'a', key: '2025-11-29' }));
    await edited.handle(completion({ member: 'b', key: '2025-11-29' }));
    expect(await triggers()).toHaveLength(1);
    expect((await edited.inspect('2025-11-29'))?.missing).toEqual(['c']);
  });

  it('chooses the mode by key date vs today and fires on the mode threshold', async () => {
    const members = ['player_game_summary', 'team_summary', 'upcoming_context', 'x', 'y'];
    const config = barrierOf(members, {
      modes: {
        select: 'key_date_vs_today',
        timezone: 'America/New_York',
        path: [],
        profiles: [
          {
            name: 'overnight',
            when: 'before_today',
            expect: undefined,
            threshold: thresholdOf('quorum', { required: ['player_game_summary'], quorum: 0.6 }),
            path: [],
          },
          { name: 'same_day', when: 'today', expect: [{ name: 'upcoming_context', path: [] }], threshold: thresholdOf('all'), path: [] },
        ],
      },
    });
    // 02:00 UTC on Nov 30 is Nov 29 in New York: 2025-11-29 is "today", 2025-11-28 is "overnight".
    const { barrier, triggers } = await setup(config, members, '2025-11-30T02:00:00Z');
    await barrier.handle(completion({ member: 'upcoming_context', key: '2025-11-29' }));
    for (const member of ['team_summary', 'x', 'player_game_summary']) await barrier.handle(completion({ member, key: '2025-11-28' }));
    const fired = await triggers();
    expect(fired.map((t) => [t.key, t.mode, t.reason, t.members_missing])).toEqual([
      ['2025-11-29', 'same_day', 'all_complete', []],
      ['2025-11-28', 'overnight', 'quorum', ['upcoming_context', 'y']],
    ]);
  });

  it('addresses a dependency trigger to its one target processor', async () => {
    const { barrier, watcher } = await setup(barrierOf(['a', 'b'], { kind: 'dependency', name: 'c-dependencies', target: 'c' }), ['a', 'b', 'c']);
    await barrier.handle(completion({ member: 'a', key: '2025-11-28' }));
    await barrier.handle(completion({ member: 'b', key: '2025-11-28' }));
    await watcher.drain();
    const [message] = watcher.deliveries;
    expect(message?.attributes[TARGET_ATTRIBUTE]).toBe('c');
    expect((parseMessage(message ?? { id: '', attributes: {}, data: '' }).data as TriggerData).target).toBe('c');
  });

  it('ignores a completion from a same-topic processor that is not a member', async () => {
    const { barrier, store } = await setup(barrierOf(['a']), ['a', 'other']);
    expect((await barrier.handle(completion({ member: 'other', key: '2025-11-28' }))).outcome).toBe('ignored');
    expect(await store.readKey('gate', '2025-11-28')).toBeUndefined();
  });

  it('fires nothing more after its trigger, however many completions follow', async () => {
    const { barrier, triggers } = await setup(barrierOf(['a', 'b', 'c'], { threshold: thresholdOf('count', { count: 1 }) }));
    for (const member of ['a', 'b', 'c']) await barrier.handle(completion({ member, key: '2025-11-28' }));
    const fired = await triggers();
    expect(fired).toHaveLength(1);
    expect(fired[0]?.members_missing).toEqual(['b', 'c']);
  });
});
