import type { ResolvedPipeline } from '../config/resolved-pipeline.ts';
import type { MessageBus } from '../ports/message-bus.ts';
import type { StateStore } from '../ports/state-store.ts';
import type { PipelineRuntime, RuntimeSubscription } from '../runtime/pipeline-runtime.ts';
import type { TickFailure, TickReport } from '../runtime/tick-report.ts';
import type { KeyFeeder } from './key-feeder.ts';
import type { ProcessorSimulator } from './processor-simulator.ts';
import type { VirtualClock } from './virtual-clock.ts';
import { emptyLoopStats, WakeSchedule, type LoopStats } from './wake-schedule.ts';

export { emptyLoopStats, type LoopStats } from './wake-schedule.ts';

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
  /** Called after every pass and every jump of the clock, e.g. to save the clock and draw progress. */
  readonly onStep?: () => void | Promise<void>;
  /**
   * Tick failures to expect (the chaos harness's injected faults): the key or batch is ticked again at
   * the next pass. Any other failure stops the run. Without it, every failure stops the run.
   */
  readonly tolerate?: (failure: TickFailure) => boolean;
  /** Filled in as the loop goes: what it handled and what it read. */
  readonly stats?: LoopStats;
}

/** How a run ended. */
export type RunEnd = 'finished' | 'time-limit';

/**
 * Runs the pipeline to quiescence in simulated time. Each pass handles everything due now: barriers
 * and coordinators drain their subscriptions, simulated processors pick up triggers and finish work,
 * and the keys whose deadline tier or batches whose stall window is due are ticked. When nothing is
 * due, time jumps to the next event: a job finishing, a deadline tier, a stall check, or the next idle
 * step while leases expire.
 *
 * Event-driven: a key is read only when a delivery touched it or its next deadline came due
 * (`WakeSchedule`), and a key is checked for having finished only when a trigger fired for it, so a
 * pass costs what it handles, not how many keys are open. Every open key is ticked, and the schedule
 * rebuilt from the store, only at the start (whatever came due while no process ran — a resume — and
 * triggers decided but never published) and each time nothing is scheduled, before the run is called
 * quiet.
 */
export async function runSimulation(options: SimulatedRunOptions): Promise<RunEnd> {
  const { pipeline, runtime, simulator, store, clock, feeder } = options;
  const stats = options.stats ?? emptyLoopStats();
  const schedule = new WakeSchedule(pipeline, runtime, store, stats);
  const stopListening = runtime.listen((event) => {
    schedule.observe(event);
    // A key may have finished when a trigger fired for it, or when one decided earlier was published late
    // (its first publish failed: recovered on redelivery or by a tick).
    const trigger =
      event.kind === 'fired' ? event.trigger : event.kind === 'published' && event.publication.why !== 'decided' ? event.publication.trigger : undefined;
    const key = trigger?.message.attributes['ce-subject'];
    if (key !== undefined) feeder?.touch(key);
  });
  const checksBefore = feeder?.checks ?? 0;
  let fullTickDue = true;
  const settle = async (report: TickReport): Promise<number> => {
    let retried = 0;
    for (const failure of report.failures) {
      if (options.tolerate?.(failure) !== true) {
        throw new Error(`tick failed for ${failure.component}${failure.key === undefined ? '' : ` key ${failure.key}`}: ${failure.reason}`);
      }
      if (!schedule.retry(failure, await store.now())) fullTickDue = true;
      retried++;
    }
    return report.fired.length + retried;
  };
  const fullTick = async (): Promise<number> => {
    stats.fullTicks++;
    fullTickDue = false;
    const fired = await settle(await runtime.tick());
    await schedule.rebuild();
    return fired;
  };
  try {
    for (;;) {
      let progressed = 0;
      do {
        stats.passes++;
        const handled = (await runtime.pump()) + (await simulator.pump());
        stats.messages += handled;
        progressed = handled + (await simulator.finishDue());
        if (fullTickDue) progressed += await fullTick();
        else {
          await schedule.refresh();
          const due = schedule.takeDue(await store.now());
          if (due.length > 0) {
            stats.dueTicks += due.length;
            progressed += await settle(await runtime.tickTargets(due));
            schedule.ticked(due);
            await schedule.refresh();
          }
        }
        await options.onStep?.();
      } while (progressed > 0);
      // Keys start once per instant of simulated time, not per pass: checking which finished reads state.
      const started = (await feeder?.feed()) ?? 0;
      stats.finishChecks = (feeder?.checks ?? 0) - checksBefore;
      if (started > 0) continue;

      const wake = await nextWake(options, schedule);
      if (wake === undefined) {
        // Nothing scheduled: one tick of every open key, and the schedule rebuilt from the store, confirm nothing was missed.
        if ((await fullTick()) > 0 || (await nextWake(options, schedule)) !== undefined) continue;
        // Quiet, yet keys wait to start: the keys in flight can never finish; let the rest go.
        if (feeder !== undefined && feeder.waiting > 0) {
          feeder.releaseStuck();
          continue;
        }
        return 'finished';
      }
      if (wake > options.limitAt) {
        // Before giving up, one tick of every open key: a trigger decided but left unpublished (its publish
        // failed) goes out now rather than waiting for a later run or tick.
        if ((await fullTick()) > 0) continue;
        return 'time-limit';
      }
      clock.advanceTo(wake);
      stats.wakes++;
      await options.onStep?.();
    }
  } finally {
    stopListening();
  }
}

/**
 * The next instant on the run's clock something can happen, or undefined when nothing ever will.
 * Jobs and leases are in the clock's time; deadlines and stall windows in the store's (on Firestore the
 * server's), so those are shifted by the store's offset from the clock.
 */
async function nextWake(
  { simulator, subscriptions, bus, store, clock }: Pick<SimulatedRunOptions, 'simulator' | 'subscriptions' | 'bus' | 'store' | 'clock'>,
  schedule: WakeSchedule,
): Promise<number | undefined> {
  const now = clock.now();
  const offset = (await store.now()) - now;
  const candidates: number[] = [];
  const job = simulator.nextEventAt();
  if (job !== undefined) candidates.push(job);
  const due = await schedule.next(job === undefined ? undefined : job + offset);
  if (due !== undefined) candidates.push(Math.max(due - offset, now + 1));
  const soonest = candidates.length === 0 ? undefined : Math.min(...candidates);
  if (soonest !== undefined && soonest <= now + IDLE_STEP_MS) return soonest;
  // Messages leased by a process that died come back when their lease expires (asked only when nothing comes sooner).
  for (const { config } of subscriptions) if ((await bus.backlog(config.name)) > 0) return now + IDLE_STEP_MS;
  return soonest;
}
