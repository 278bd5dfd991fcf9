// Data flow: `baton run` → RunJournal.set (run id, keys, settings, simulated time) → `--resume`, `baton status`.

/**
 * A few named JSON values a run keeps beside its state, so it can be resumed and inspected.
 * Invariant: `get` returns the last value `set` under the name, across processes.
 */
export interface RunJournal {
  get<T>(name: string): Promise<T | undefined>;
  set(name: string, value: unknown): Promise<void>;
}
