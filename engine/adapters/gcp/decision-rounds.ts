/** One caller waiting for a round: what it asked, and how to answer it. */
interface Waiter<S, R> {
  readonly decide: (state: S) => Promise<R> | R;
  readonly resolve: (result: R) => void;
  readonly reject: (error: unknown) => void;
}

interface Scope<S, R> {
  /** The round reading right now, if any. */
  running: Promise<void> | undefined;
  /** The round that will read next; callers join it until it starts. */
  next: Waiter<S, R>[] | undefined;
}

/**
 * Coalesces concurrent decisions for one scope inside one process: callers that arrive while a read
 * is in flight join the next round, and one read of the state serves the whole round. A round's
 * read starts after every caller in it arrived — and each caller arrives only after its own write
 * (a recorded member) committed — so no caller is answered from a state that misses its own write.
 *
 * This is an optimisation of reads, not the fire-once guarantee: that stays the server-side
 * `create()` precondition, which also decides between processes. Without it, 2,000 concurrent
 * completions of one key would each read every member (quadratic reads).
 */
export class DecisionRounds<S, R> {
  private readonly scopes = new Map<string, Scope<S, R>>();

  constructor(private readonly read: (scope: string) => Promise<S>) {}

  /** Answers `decide` on a state read no earlier than this call. */
  run(scope: string, decide: (state: S) => Promise<R> | R): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      let entry = this.scopes.get(scope);
      if (entry === undefined) {
        entry = { running: undefined, next: undefined };
        this.scopes.set(scope, entry);
      }
      if (entry.next !== undefined) {
        entry.next.push({ decide, resolve, reject });
        return;
      }
      const waiters: Waiter<S, R>[] = [{ decide, resolve, reject }];
      entry.next = waiters;
      const current = entry;
      const previous = entry.running ?? Promise.resolve();
      const round = previous.then(() => this.round(scope, current, waiters));
      current.running = round;
      void round.finally(() => {
        if (current.running === round && current.next === undefined) this.scopes.delete(scope);
      });
    });
  }

  private async round(scope: string, entry: Scope<S, R>, waiters: Waiter<S, R>[]): Promise<void> {
    // From here on, new callers start the following round: this read may predate their writes.
    if (entry.next === waiters) entry.next = undefined;
    let state: S;
    try {
      state = await this.read(scope);
    } catch (error) {
      for (const waiter of waiters) waiter.reject(error);
      return;
    }
    // In arrival order, one at a time: the first that decides to fire creates, the rest see its result.
    for (const waiter of waiters) {
      try {
        waiter.resolve(await waiter.decide(state));
      } catch (error) {
        waiter.reject(error);
      }
    }
  }
}
