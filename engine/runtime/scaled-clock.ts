import type { Clock } from '../ports/clock.ts';

/**
 * Compressed wall time, for a rehearsal: from `realOrigin` on, every real millisecond is `speed`
 * simulated ones, counted from `simulatedOrigin`. Every process of one rehearsal is given the same
 * three numbers, so they share one clock: a 1 h deadline tier at speed 60 fires after one real minute.
 */
export class ScaledClock implements Clock {
  constructor(
    readonly speed: number,
    readonly simulatedOrigin: number,
    readonly realOrigin: number,
    private readonly realNow: () => number = Date.now,
  ) {}

  now(): number {
    return this.simulatedOrigin + Math.floor((this.realNow() - this.realOrigin) * this.speed);
  }

  /** Real milliseconds that `simulatedMs` of simulated time take. */
  realMs(simulatedMs: number): number {
    return simulatedMs / this.speed;
  }

  /** The form `BATON_CLOCK` takes: `scaled:<speed>:<simulated origin ms>:<real origin ms>`. */
  toEnv(): string {
    return `scaled:${this.speed}:${this.simulatedOrigin}:${this.realOrigin}`;
  }

  /** Reads `toEnv()`'s form; undefined when the text is not one. */
  static fromEnv(text: string): ScaledClock | undefined {
    const match = /^scaled:([0-9]+(?:\.[0-9]+)?):(-?[0-9]+):([0-9]+)$/.exec(text.trim());
    if (!match) return undefined;
    const speed = Number(match[1]);
    return speed > 0 ? new ScaledClock(speed, Number(match[2]), Number(match[3])) : undefined;
  }
}
