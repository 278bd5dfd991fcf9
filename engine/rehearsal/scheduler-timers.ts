// Data flow: the model's Cloud Scheduler jobs (cron schedule, target, body, invoker) → one local timer each, compressed by the rehearsal's speed → push gateway → the component's /tick.
import type { TickRoute } from './push-gateway.ts';

/** Running timers. */
export interface SchedulerTimers {
  /** Real milliseconds between two runs of each job. */
  readonly periods: ReadonlyMap<string, number>;
  stop(): void;
}

/**
 * Every scheduler job becomes a local timer firing at the job's own schedule, compressed by `speed`
 * (at speed 60 an every-minute job fires every second). Nothing else ticks: deadlines and stall
 * policies advance only if the rendered jobs exist and reach their targets.
 */
export function startSchedulerTimers(routes: readonly TickRoute[], speed: number, fire: (job: string) => void): SchedulerTimers {
  const periods = new Map(routes.map((route) => [route.job, Math.max(50, cronPeriodMs(route.schedule) / speed)]));
  const timers = [...periods].map(([job, period]) => setInterval(() => fire(job), period));
  return {
    periods,
    stop: () => {
      for (const timer of timers) clearInterval(timer);
    },
  };
}

/**
 * The period of a cron schedule of the forms Baton renders: `* * * * *` (every minute) and
 * `*\/N * * * *` (every N minutes). Any other schedule is an error naming it, not a guess.
 */
export function cronPeriodMs(schedule: string): number {
  const match = /^(\*|\*\/([1-9]|[1-5][0-9])) \* \* \* \*$/.exec(schedule.trim());
  if (!match) throw new Error(`the rehearsal can only run every-N-minutes schedules ("* * * * *", "*/5 * * * *"), not "${schedule}"`);
  return (match[2] === undefined ? 1 : Number(match[2])) * 60_000;
}
