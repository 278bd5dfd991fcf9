import type { ResolvedPipeline } from '../config/resolved-pipeline.ts';
import type { MessageBus } from '../ports/message-bus.ts';
import type { StateStore } from '../ports/state-store.ts';
import type { PipelineRuntime, RuntimeSubscription } from '../runtime/pipeline-runtime.ts';
import type { KeyFeeder } from './key-feeder.ts';
import type { ProcessorSimulator } from './processor-simulator.ts';
import type { VirtualClock } from './virtual-clock.ts';

/** How often, in simulated time, an idle run looks again (ticks deadlines, expires leases). */
export const IDLE_STEP_MS = 60_000;

/** What drives one simulated run. */
export interface SimulatedRunOptions {
  readonly pipeline: ResolvedPipeline;
  readonly runtime: PipelineRuntime;
  readonly simulator: ProcessorSimulator;
  readonly subscriptions: readonly RuntimeSubscription[];
  readonly bus: MessageBus;
  readonly store: StateStore;
  readonly clock: VirtualClock;
  /** Give up (and report what is stuck) after this much simulated time since the run began. */
  readonly limitAt: number;
  /** Starts keys as room frees up; without one, every key was started up front. */
  readonly feeder?: KeyFeeder;
  /** Called after every step, e.g. to save the clock and draw progress. */
  readonly onStep?: () => void | Promise<void>;
}

/** How a run ended. */
export type RunEnd = 'finished' | 'time-limit';

/**
 * Runs the pipeline to quiescence in simulated time. Each step handles everything due now (barriers
 * and coordinators drain their subscriptions, simulated processors pick up triggers and finish work,
 * deadlines and stall policies tick); when nothing is due, time jumps to the next event: a job
 * finishing, a deadline tier, a stall check, or the next idle step while leases expire.
 */
export async function runSimulation(options: SimulatedRunOptions): Promise<RunEnd> {
  const { runtime, simulator, clock } = options;
  for (;;) {
    let progressed = 0;
    do {
      progressed = (await runtime.pump()) + (await simulator.pump()) + (await simulator.finishDue()) + (await tickOrThrow(runtime));
      await options.onStep?.();
    } while (progressed > 0);
    // Keys start once per instant of simulated time, not per step: checking which finished reads state.
    if (((await options.feeder?.feed()) ?? 0) > 0) continue;

    const wake = await nextWake(options);
    if (wake === undefined) {
      // Quiet, yet keys wait to start: the keys in flight can never finish; let the rest go.
      if (options.feeder !== undefined && options.feeder.waiting > 0) {
        options.feeder.releaseStuck();
        continue;
      }
      return 'finished';
    }
    if (wake > options.limitAt) return 'time-limit';
    clock.advanceTo(wake);
  }
}

/**
 * The next instant on the run's clock something can happen, or undefined when nothing ever will.
 * Jobs and leases are in the clock's time; deadlines and stall windows in the store's (on Firestore the
 * server's), so those are shifted by the store's offset from the clock.
 */
export async function nextWake({
  pipeline,
  runtime,
  simulator,
  subscriptions,
  bus,
  store,
  clock,
}: Pick<SimulatedRunOptions, 'pipeline' | 'runtime' | 'simulator' | 'subscriptions' | 'bus' | 'store' | 'clock'>): Promise<number | undefined> {
  const now = clock.now();
  const offset = (await store.now()) - now;
  const candidates: number[] = [];
  const job = simulator.nextEventAt();
  if (job !== undefined) candidates.push(job);
  for (const barrier of runtime.barriers.values()) {
    for (const key of await barrier.listKeys(true)) {
      for (const generation of await barrier.inspectGenerations(key)) {
        const deadline = generation.nextDeadlineAt;
        if (deadline !== undefined) candidates.push(Math.max(deadline - offset, now + 1));
      }
    }
  }
  for (const coordinator of pipeline.coordinators) {
    if (coordinator.stall === undefined) continue;
    for (const batch of await store.listActiveBatches(coordinator.name)) {
      const state = await store.readBatch(batch.id);
      if (state) candidates.push(Math.max(state.lastProgressAt + coordinator.stall.noProgressForMs - offset, now + 1));
    }
  }
  // Messages leased by a process that died come back when their lease expires.
  for (const { config } of subscriptions) {
    if ((await bus.backlog(config.name)) > 0) {
      candidates.push(now + IDLE_STEP_MS);
      break;
    }
  }
  return candidates.length === 0 ? undefined : Math.min(...candidates);
}

/**
 * Ticks and returns how many triggers were decided. A local run is one process over one store: a key
 * the tick cannot evaluate stops the run with its reason, as before per-key isolation (#16.4).
 */
async function tickOrThrow(runtime: SimulatedRunOptions['runtime']): Promise<number> {
  const report = await runtime.tick();
  const failure = report.failures[0];
  if (failure !== undefined)
    throw new Error(`tick failed for ${failure.component}${failure.key === undefined ? '' : ` key ${failure.key}`}: ${failure.reason}`);
  return report.fired.length;
}
