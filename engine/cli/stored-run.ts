import type { ResolvedPipeline } from '../config/resolved-pipeline.ts';
import type { Clock } from '../ports/clock.ts';
import { planSubscriptions, toSubscriptionConfig } from '../graph/subscription-plan.ts';
import { PipelineRuntime, type RuntimeEvent, type RuntimeSubscription } from '../runtime/pipeline-runtime.ts';
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

/** A stored run opened by a command that works on existing state (status, trace, tick, …). */
export interface StoredRun {
  readonly backend: RunBackend;
  readonly runtime: PipelineRuntime;
  readonly clock: Clock;
  readonly record: RunRecord | undefined;
}

/**
 * The one runtime factory of the commands that open a stored run. Undefined when the backend holds
 * no state. Reading (status, trace; the default) opens the embedded database without writing to it
 * and runs on the run's simulated clock, so "time left" means what it meant to the run. Writing
 * (`write: { clock }`: tick, …) opens it for writes on the given clock; the runtime never opens a
 * coordinator batch (there is no entity list to fetch outside a run). A database the user must fix
 * throws a `StateError`; a backend that cannot be reached, a `BackendError`. `onEvent` hears what the
 * runtime decides when a writer pumps it (`dlq redrive`); `withoutRun` opens a gcp project that
 * never had a `baton run` (a deployment's dead letters).
 */
export async function openStoredRun(
  pipeline: ResolvedPipeline,
  choice: BackendChoice,
  {
    write,
    onEvent,
    withoutRun = false,
  }: { write?: { clock: Clock; pipelineHash?: string }; onEvent?: (event: RuntimeEvent) => void; withoutRun?: boolean } = {},
): Promise<StoredRun | undefined> {
  const clock = write?.clock ?? new VirtualClock(0);
  const backend = await openRunBackend(choice, pipeline, clock, { ...(write === undefined ? { readOnly: true } : { mustExist: true }), withoutRun });
  if (backend === undefined) return undefined;
  const record = await backend.journal.get<RunRecord>('run');
  if (clock instanceof VirtualClock) clock.advanceTo((await backend.journal.get<number>('clock')) ?? Date.now());
  const runtime = new PipelineRuntime({
    pipeline,
    subscriptions: runtimeSubscriptions(pipeline),
    store: backend.store,
    bus: backend.bus,
    clock,
    fullList: (coordinator) => () => Promise.reject(new Error(`${coordinator}: a stored run never opens a batch`)),
    ...(write?.pipelineHash === undefined ? {} : { pipelineHash: write.pipelineHash }),
    ...(onEvent === undefined ? {} : { onEvent }),
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
