import type { ResolvedPipeline } from '../config/resolved-pipeline.ts';
import { planSubscriptions, toSubscriptionConfig } from '../graph/subscription-plan.ts';
import { PipelineRuntime, type RuntimeSubscription } from '../runtime/pipeline-runtime.ts';
import { VirtualClock } from '../simulator/virtual-clock.ts';
import { openRunBackend, type BackendChoice, type RunBackend } from './run-backend.ts';

/** What `baton run` records in its journal, so `--resume` continues the same run. */
export interface RunRecord {
  readonly runId: string;
  readonly keys: string[];
  readonly full: boolean;
  readonly seed: number;
  readonly overrides: { failureRate?: number; noDataRate?: number; duplicateRate?: number };
  readonly startedAt: number;
  readonly pipelineHash: string;
  /** Most keys between their first message and their last phase at once (absent in older journals: all). */
  readonly maxInFlight?: number;
}

/** Every subscription of the pipeline, in the form the runtime takes. */
export function runtimeSubscriptions(pipeline: ResolvedPipeline): RuntimeSubscription[] {
  return planSubscriptions(pipeline).map((p) => ({ config: toSubscriptionConfig(p), role: p.role, consumer: p.consumer }));
}

/** A stored run opened for reading (`baton status`, `baton trace`). */
export interface StoredRun {
  readonly backend: RunBackend;
  readonly runtime: PipelineRuntime;
  readonly clock: VirtualClock;
  readonly record: RunRecord | undefined;
}

/**
 * Opens a backend's stored state for reading, with the run's simulated clock (so "time left" means
 * what it meant to the run). Undefined when it holds no state.
 */
export async function openStoredRun(pipeline: ResolvedPipeline, choice: BackendChoice): Promise<StoredRun | undefined> {
  const clock = new VirtualClock(0);
  const backend = await openRunBackend(choice, pipeline, clock, { readOnly: true });
  if (backend === undefined) return undefined;
  const record = await backend.journal.get<RunRecord>('run');
  clock.advanceTo((await backend.journal.get<number>('clock')) ?? Date.now());
  const runtime = new PipelineRuntime({
    pipeline,
    subscriptions: runtimeSubscriptions(pipeline),
    store: backend.store,
    bus: backend.bus,
    clock,
    fullList: () => () => Promise.resolve([]),
  });
  return { backend, runtime, clock, record };
}

/** Every key the state knows of: the run's keys first, then any other key a barrier has seen. */
export async function knownKeys(pipeline: ResolvedPipeline, run: StoredRun): Promise<string[]> {
  const keys = new Set(run.record?.keys ?? []);
  for (const barrier of pipeline.barriers) {
    for (const key of (await run.runtime.barriers.get(barrier.name)?.listKeys(false)) ?? []) keys.add(key);
  }
  return [...keys];
}
