import type { Clock } from '../ports/clock.ts';

/** A clock that moves only when told to: deadlines and ack deadlines become deterministic in tests. */
export class FakeClock implements Clock {
  private current: number;

  constructor(start: number | string = '2025-11-29T12:00:00Z') {
    this.current = typeof start === 'number' ? start : Date.parse(start);
  }

  now(): number {
    return this.current;
  }

  /** Moves time forward by `ms`. */
  advance(ms: number): void {
    if (ms < 0) throw new RangeError('a clock never goes backwards');
    this.current += ms;
  }
}
