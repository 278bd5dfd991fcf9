import type { ResolvedPipeline } from '../config/resolved-pipeline.ts';
import { planSubscriptions, toSubscriptionConfig } from '../graph/subscription-plan.ts';
import { PipelineRuntime } from '../runtime/pipeline-runtime.ts';
import { VirtualClock } from '../simulator/virtual-clock.ts';
import { hasEmbeddedState, openEmbeddedBackend, type EmbeddedBackend } from './embedded-backend.ts';

/** What `baton run` records in its journal. */
export interface RunRecord {
  readonly runId: string;
  readonly keys: string[];
  readonly full: boolean;
  readonly seed: number;
  readonly overrides: { failureRate?: number; noDataRate?: number; duplicateRate?: number };
  readonly startedAt: number;
  readonly pipelineHash: string;
}

/** A stored run opened for reading (`baton status`, `baton trace`). */
export interface StoredRun {
  readonly backend: EmbeddedBackend;
  readonly runtime: PipelineRuntime;
  readonly clock: VirtualClock;
  readonly record: RunRecord | undefined;
}

/**
 * Opens the embedded state in `stateDir` for reading, with the run's simulated clock (so "time left"
 * means what it meant to the run). Undefined when the folder holds no state.
 */
export function openStoredRun(pipeline: ResolvedPipeline, stateDir: string): StoredRun | undefined {
  if (!hasEmbeddedState(stateDir)) return undefined;
  const clock = new VirtualClock(0);
  const backend = openEmbeddedBackend(stateDir, clock);
  const record = backend.journal.get<RunRecord>('run');
  clock.advanceTo(backend.journal.get<number>('clock') ?? Date.now());
  const subscriptions = planSubscriptions(pipeline).map((p) => ({ config: toSubscriptionConfig(p), role: p.role, consumer: p.consumer }));
  const runtime = new PipelineRuntime({ pipeline, subscriptions, store: backend.store, bus: backend.bus, clock, fullList: () => () => Promise.resolve([]) });
  return { backend, runtime, clock, record };
}

/** Every key the state knows of: the run's keys first, then any other key a barrier has seen. */
export async function knownKeys(pipeline: ResolvedPipeline, run: StoredRun): Promise<string[]> {
  const keys = new Set(run.record?.keys ?? []);
  for (const barrier of pipeline.barriers) for (const key of await run.backend.store.listKeys(barrier.name, false)) keys.add(key);
  return [...keys];
}
