import type { Clock } from '../ports/clock.ts';

/**
 * Simulated time for `baton run`: it stands still while work is due and jumps to the next event when
 * the pipeline is idle, so a day with four-hour deadlines runs in seconds. The run saves it, so a
 * resumed run continues from the same instant (leases and deadlines keep their meaning).
 */
export class VirtualClock implements Clock {
  constructor(private current: number) {}

  now(): number {
    return this.current;
  }

  /** Moves to `time`; never backwards. */
  advanceTo(time: number): void {
    this.current = Math.max(this.current, time);
  }
}
