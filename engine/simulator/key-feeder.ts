/**
 * Starts a run's keys a few at a time (#26: a backfill that publishes every key at once collapses
 * the system): at most `maxInFlight` keys are between their first message and their last phase.
 * Resumable: keys that already have state count as started, and are started again (their entry
 * messages have deterministic ids, so nothing is published twice). A key finishes only when one of its
 * gates fires, so only keys `touch`ed since the last `feed` (a trigger fired for them) are checked:
 * the cost of a feed follows what happened, not how many keys are in flight.
 */
export class KeyFeeder {
  private readonly queue: string[];
  private readonly inFlight = new Set<string>();
  private readonly touched = new Set<string>();
  private checked = 0;

  constructor(
    keys: readonly string[],
    private readonly maxInFlight: number,
    private readonly isFinished: (key: string) => Promise<boolean>,
    private readonly start: (keys: readonly string[]) => void,
  ) {
    this.queue = [...keys];
  }

  /** Takes back keys an earlier (killed) process had started, and starts them again. */
  async resume(hasStarted: (key: string) => Promise<boolean>): Promise<void> {
    const started: string[] = [];
    for (const key of this.queue) if (await hasStarted(key)) started.push(key);
    for (const key of started) {
      this.queue.splice(this.queue.indexOf(key), 1);
      this.inFlight.add(key);
      this.touched.add(key);
    }
    if (started.length > 0) this.start(started);
  }

  /** Says a key may have finished (a trigger fired for it); the next `feed` checks it. */
  touch(key: string): void {
    if (this.inFlight.has(key)) this.touched.add(key);
  }

  /** Retires finished keys among those touched and starts queued ones while there is room; returns how many started. */
  async feed(): Promise<number> {
    for (const key of [...this.touched]) {
      // Taken off only once checked: a check that throws leaves it (and the rest) for the next feed.
      if (this.inFlight.has(key)) {
        this.checked++;
        if (await this.isFinished(key)) this.inFlight.delete(key);
      }
      this.touched.delete(key);
    }
    const next: string[] = [];
    while (this.inFlight.size < this.maxInFlight && this.queue.length > 0) {
      const key = this.queue.shift() ?? '';
      this.inFlight.add(key);
      next.push(key);
    }
    if (next.length > 0) this.start(next);
    return next.length;
  }

  /** How many times a key was checked for having finished. */
  get checks(): number {
    return this.checked;
  }

  /** Keys not started yet. */
  get waiting(): number {
    return this.queue.length;
  }

  /** The pipeline went quiet with keys still in flight: they are stuck, so they stop holding room. */
  releaseStuck(): void {
    this.inFlight.clear();
  }
}
