import type { ExecutionRecord, ExecutionStore } from './execution-store.ts';

/**
 * The default `ExecutionStore`: this instance's most recent executions in memory, oldest forgotten
 * first once `capacity` is reached (Pub/Sub redelivers within minutes, so recent is what matters).
 */
export class MemoryExecutionStore implements ExecutionStore {
  private readonly records = new Map<string, ExecutionRecord>();

  constructor(private readonly capacity = 10_000) {}

  get(executionId: string): Promise<ExecutionRecord | undefined> {
    return Promise.resolve(this.records.get(executionId));
  }

  set(executionId: string, record: ExecutionRecord): Promise<void> {
    this.records.delete(executionId);
    this.records.set(executionId, record);
    // Maps iterate in insertion order: the first key is the oldest.
    while (this.records.size > this.capacity) {
      const oldest = this.records.keys().next().value;
      if (oldest === undefined) break;
      this.records.delete(oldest);
    }
    return Promise.resolve();
  }

  /** How many executions are remembered. */
  get size(): number {
    return this.records.size;
  }
}
