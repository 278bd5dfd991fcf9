import { describe, expect, it } from 'vitest';
import { MemoryMessageBus } from '../../../engine/adapters/memory/memory-message-bus.ts';
import { MemoryStateStore } from '../../../engine/adapters/memory/memory-state-store.ts';
import type { ResolvedPipeline, SimulatedBehaviour } from '../../../engine/config/resolved-pipeline.ts';
import { runtimeSubscriptions } from '../../../engine/cli/stored-run.ts';
import type { MessageBus } from '../../../engine/ports/message-bus.ts';
import type { BatchState, KeySnapshot, KeyState } from '../../../engine/ports/state-store.ts';
import { TransientError } from '../../../engine/runtime/errors.ts';
import { hasKeyFinished, inspectKey, isKeyFinished } from '../../../engine/runtime/inspect-key.ts';
import { PipelineRuntime } from '../../../engine/runtime/pipeline-runtime.ts';
import { KeyFeeder } from '../../../engine/simulator/key-feeder.ts';
import { ProcessorSimulator } from '../../../engine/simulator/processor-simulator.ts';
import { emptyLoopStats, runSimulation, type LoopStats, type RunEnd } from '../../../engine/simulator/simulated-run.ts';
import { VirtualClock } from '../../../engine/simulator/virtual-clock.ts';
import { WatchedMessageBus } from '../../../engine/simulator/watched-message-bus.ts';
import { PIPELINE } from '../sdk/sdk-fixtures.ts';

const START = Date.parse('2025-12-01T06:00:00Z');
const HOUR = 3_600_000;

/** A memory store that counts every read of a key's or a batch's state, and every listing of keys. */
class CountingStore extends MemoryStateStore {
  reads = 0;
  override readKey(barrier: string, key: string): Promise<KeyState | undefined> {
    this.reads++;
    return super.readKey(barrier, key);
  }
  override readBatch(batchId: string): Promise<BatchState | undefined> {
    this.reads++;
    return super.readBatch(batchId);
  }
  override listKeys(barrier: string, openOnly: boolean): Promise<string[]> {
    this.reads++;
    return super.listKeys(barrier, openOnly);
  }
}

/** The NBA pipeline with one processor's simulated behaviour changed, and `players` players. */
function variant(processor: string, behaviour: Partial<SimulatedBehaviour>, players = 450): ResolvedPipeline {
  const { simulation } = PIPELINE;
  const base = simulation.processors.get(processor) ?? simulation.defaults;
  return {
    ...PIPELINE,
    simulation: {
      ...simulation,
      entities: { ...simulation.entities, players },
      processors: new Map([...simulation.processors, [processor, { ...base, ...behaviour }]]),
    },
  };
}

/** A precompute member that always fails: phase4-complete (threshold all) closes at its first deadline tier, 1h after its first completion. */
const SLOW_PRECOMPUTE = variant('player_daily_cache', { failureRate: 1 });

interface Session {
  readonly end: RunEnd;
  readonly stats: LoopStats;
  readonly runtime: PipelineRuntime;
}

/** One process's run of `keys` (all in flight at once) over `store` and `bus`, from the clock's time. */
async function simulate(
  pipeline: ResolvedPipeline,
  keys: readonly string[],
  {
    store,
    bus,
    clock,
    limitAt = START + 48 * HOUR,
    full = false,
  }: { store: MemoryStateStore; bus: MessageBus; clock: VirtualClock; limitAt?: number; full?: boolean },
): Promise<Session> {
  const subscriptions = runtimeSubscriptions(pipeline);
  const watched = new WatchedMessageBus(
    bus,
    clock,
    subscriptions.map((s) => s.config),
  );
  const simulator = new ProcessorSimulator(pipeline, watched, clock, subscriptions, { runId: 'loop-test', full, overrides: {} });
  const runtime = new PipelineRuntime({
    pipeline,
    subscriptions,
    store,
    bus: watched,
    clock,
    fullList: () => () => Promise.resolve(simulator.fullList('players')),
  });
  await runtime.start();
  const feeder = new KeyFeeder(
    keys,
    keys.length,
    async (key) => {
      // The loop's check (it stops reading at the first unfired gate) must answer as the rule on the key's whole view.
      const finished = await hasKeyFinished(pipeline, runtime, key);
      expect(finished, `hasKeyFinished of ${key}`).toBe(isKeyFinished(pipeline, await inspectKey(pipeline, runtime, key)));
      return finished;
    },
    (started) => simulator.startKeys(started),
  );
  await feeder.resume(async (key) => (await inspectKey(pipeline, runtime, key)).correlationId !== undefined);
  const stats = emptyLoopStats();
  const end = await runSimulation({ pipeline, runtime, simulator, subscriptions, bus: watched, store, clock, limitAt, feeder, stats });
  return { end, stats, runtime };
}

function dates(n: number): string[] {
  return Array.from({ length: n }, (_, i) => new Date(Date.UTC(2025, 10, 1) + i * 86_400_000).toISOString().slice(0, 10));
}

/** How each key's `barrier` fired, e.g. `deadline` or `stalled`. */
async function reasons(pipeline: ResolvedPipeline, runtime: PipelineRuntime, keys: readonly string[], emitter: string): Promise<(string | undefined)[]> {
  const out: (string | undefined)[] = [];
  for (const key of keys) {
    const view = await inspectKey(pipeline, runtime, key);
    const barrier = view.barriers.find((b) => b.barrier === emitter)?.status?.trigger?.reason;
    out.push(barrier ?? view.batches.find((b) => b.coordinator === emitter)?.progress?.state.completion?.reason);
  }
  return out;
}

async function fresh(pipeline: ResolvedPipeline, keys: readonly string[]): Promise<Session & { reads: number }> {
  const clock = new VirtualClock(START);
  const store = new CountingStore(clock);
  const session = await simulate(pipeline, keys, { store, bus: new MemoryMessageBus(clock), clock });
  return { ...session, reads: store.reads };
}

describe('the run loop of baton run (issue 11: it re-read and re-ticked every open key at every step)', () => {
  it('reads a key only when a delivery first reaches it, its deadline tier comes due or a trigger fired for it — not at every pass', async () => {
    const keys = dates(20);
    const { end, stats, runtime, reads } = await fresh(SLOW_PRECOMPUTE, keys);
    expect(end).toBe('finished');
    for (const key of keys) expect(isKeyFinished(SLOW_PRECOMPUTE, await inspectKey(SLOW_PRECOMPUTE, runtime, key))).toBe(true);
    // Every key's phase 4 closed at its 1h tier, with no message to wake it: the tier was ticked because it was due.
    expect(await reasons(SLOW_PRECOMPUTE, runtime, keys, 'phase4-complete')).toEqual(keys.map(() => 'deadline'));
    expect(stats.dueTicks).toBeGreaterThanOrEqual(keys.length);
    // What the loop read follows what happened: deliveries and due tiers, not open keys × passes.
    expect(stats.keyReads + stats.finishChecks).toBeLessThanOrEqual(stats.messages + stats.dueTicks);
    expect(stats.passes * keys.length).toBeGreaterThan(20 * (stats.keyReads + stats.finishChecks));
    // The store agrees: fewer reads of state than messages handled (a loop over open keys reads each at every pass).
    expect(reads).toBeLessThan(stats.messages);
  });

  it('reads no more per message with 20 keys open than with one', async () => {
    const one = await fresh(PIPELINE, dates(1));
    const twenty = await fresh(PIPELINE, dates(20));
    expect([one.end, twenty.end]).toEqual(['finished', 'finished']);
    expect(twenty.stats.messages).toBeGreaterThan(15 * one.stats.messages);
    expect(twenty.reads / twenty.stats.messages).toBeLessThanOrEqual(one.reads / one.stats.messages);
  });

  it('completes a batch that stopped short by its stall window, though no message arrives to wake it', async () => {
    // 40 players, a full run (every player gets work), and one ready report lost per key: 39/40 counted is over
    // the coordinator's 95%, so it completes 10 minutes after the last report, as `stalled`.
    const pipeline = variant('player_daily_cache', {}, 40);
    const clock = new VirtualClock(START);
    const bus = new MemoryMessageBus(clock);
    const publish = bus.publish.bind(bus);
    bus.publish = (topic, message) =>
      topic === 'nba-phase5-prediction-ready' && (JSON.parse(message.data) as { entity_id?: unknown }).entity_id === 7
        ? Promise.resolve({ id: message.id, duplicate: false })
        : publish(topic, message);
    const keys = dates(3);
    const { end, stats, runtime } = await simulate(pipeline, keys, { store: new MemoryStateStore(clock), bus, clock, full: true });
    expect(end).toBe('finished');
    expect(await reasons(pipeline, runtime, keys, 'prediction-coordinator')).toEqual(['stalled', 'stalled', 'stalled']);
    expect(stats.dueTicks).toBeGreaterThanOrEqual(keys.length);
  });

  it('schedules the deadline of a key whose first completion failed before opening it, once a redelivery opens it', async () => {
    // The first completion to reach phase4-complete fails before its key is opened (a store outage); the redelivery
    // opens the key seconds later. That key's tiers come due first; the other keys' keep the run busy after them.
    const keys = dates(6);
    class FlakyStore extends MemoryStateStore {
      private failed = false;
      override openKey(snapshot: KeySnapshot): Promise<KeySnapshot> {
        if (snapshot.barrier === 'phase4-complete' && !this.failed) {
          this.failed = true;
          return Promise.reject(new TransientError('store unavailable'));
        }
        return super.openKey(snapshot);
      }
    }
    const clock = new VirtualClock(START);
    const { end, runtime } = await simulate(SLOW_PRECOMPUTE, keys, { store: new FlakyStore(clock), bus: new MemoryMessageBus(clock), clock });
    expect(end).toBe('finished');
    const tierMs = { '1h': HOUR, '2h': 2 * HOUR, '4h': 4 * HOUR } as Record<string, number>;
    for (const key of keys) {
      const status = await runtime.barriers.get('phase4-complete')?.inspect(key);
      const trigger = status?.trigger;
      const tier = trigger === undefined ? undefined : (JSON.parse(trigger.message.data) as { deadline_tier?: { after: string } }).deadline_tier?.after;
      // Fired by a tier, at that tier's time after the key's first completion: not later, when the run went quiet.
      expect([key, trigger?.reason, (trigger?.decidedAt ?? 0) - (status?.snapshot.firstCompletionAt ?? 0)]).toEqual([key, 'deadline', tierMs[tier ?? '']]);
    }
  });

  it('rebuilds its schedule from the stored state in a new process, and fires the deadline tiers the first one left pending', async () => {
    const keys = dates(3);
    const clock = new VirtualClock(START);
    const store = new MemoryStateStore(clock);
    const bus = new MemoryMessageBus(clock);
    // Stopped before any key's 1h tier (phase 4 starts about 35 minutes in): phase4-complete is open for every key.
    const first = await simulate(SLOW_PRECOMPUTE, keys, { store, bus, clock, limitAt: START + 50 * 60_000 });
    expect(first.end).toBe('time-limit');
    expect(await reasons(SLOW_PRECOMPUTE, first.runtime, keys, 'phase4-complete')).toEqual([undefined, undefined, undefined]);
    expect((await first.runtime.barriers.get('phase4-complete')?.listKeys(true))?.length).toBe(3);

    // A new runtime, simulator and schedule over the same state, as `baton run --resume` opens them.
    const second = await simulate(SLOW_PRECOMPUTE, keys, { store, bus, clock });
    expect(second.end).toBe('finished');
    expect(await reasons(SLOW_PRECOMPUTE, second.runtime, keys, 'phase4-complete')).toEqual(['deadline', 'deadline', 'deadline']);
    for (const key of keys) expect(isKeyFinished(SLOW_PRECOMPUTE, await inspectKey(SLOW_PRECOMPUTE, second.runtime, key))).toBe(true);
  });
});
