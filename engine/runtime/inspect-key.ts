import type { ResolvedBarrier, ResolvedCoordinator, ResolvedPipeline } from '../config/resolved-pipeline.ts';
import type { BarrierKeyStatus } from './completion-barrier.ts';
import type { BatchProgress } from './coordinator.ts';
import type { PipelineRuntime } from './pipeline-runtime.ts';

/** One barrier's view of a key. */
export interface BarrierView {
  readonly barrier: string;
  readonly kind: 'phase' | 'dependency';
  /** The key's latest generation; undefined before the key's first completion reached this barrier. */
  readonly status: BarrierKeyStatus | undefined;
  /**
   * Every generation of the key, oldest first: one for a barrier without modes, one per mode the key
   * ran in for a barrier with modes (e.g. `tomorrow` on D−1, then the `overnight` rebuild on D+1).
   */
  readonly generations: readonly BarrierKeyStatus[];
}

/** One coordinator's batch for a key. */
export interface BatchView {
  readonly coordinator: string;
  readonly batchId: string;
  readonly progress: BatchProgress | undefined;
}

/** Everything the state says about one key, across every phase (what `baton status` and the run summary show). */
export interface KeyView {
  readonly key: string;
  /** The key's correlation id, from the first barrier that saw it. */
  readonly correlationId: string | undefined;
  readonly barriers: readonly BarrierView[];
  readonly batches: readonly BatchView[];
}

/**
 * Reads a key's state across the whole pipeline, in pipeline order. A coordinator's batch id is derived
 * from the trigger that starts it (deterministic ids), so no index of batches by key is needed.
 */
export async function inspectKey(pipeline: ResolvedPipeline, runtime: PipelineRuntime, key: string): Promise<KeyView> {
  const barriers: BarrierView[] = [];
  for (const barrier of pipeline.barriers) barriers.push(await barrierView(runtime, barrier, key));
  const byName = (name: string): Promise<BarrierView | undefined> => Promise.resolve(barriers.find((b) => b.barrier === name));
  const batches: BatchView[] = [];
  for (const coordinator of pipeline.coordinators) batches.push(...(await batchViews(pipeline, runtime, coordinator, key, byName)));
  const correlationId = barriers.find((b) => b.status !== undefined)?.status?.snapshot.correlationId;
  return { key, correlationId, barriers, batches };
}

/**
 * Whether a key got through every gated phase: each barrier that waits for a whole phase fired, and
 * each coordinator's batch completed. (Dependency barriers may rightly never fire when a deadline tier
 * ended their phase without them.)
 */
export function isKeyFinished(pipeline: ResolvedPipeline, view: KeyView): boolean {
  const gates = phaseGates(pipeline);
  const gatesFired = view.barriers.filter((b) => gates.some((g) => g.name === b.barrier)).every(gateFired);
  const batchesDone = pipeline.coordinators.every((c) => view.batches.some((b) => b.coordinator === c.name && batchDone(b)));
  return gatesFired && batchesDone;
}

/**
 * `isKeyFinished` of the key's state, read only as far as the answer needs: it stops at the first phase
 * gate that has not fired. What a run loop asks each time a trigger fires for a key — every trigger but
 * a key's last finds it unfinished, and reading its whole view each time cost more than the trigger.
 */
export async function hasKeyFinished(pipeline: ResolvedPipeline, runtime: PipelineRuntime, key: string): Promise<boolean> {
  const read = new Map<string, BarrierView>();
  const viewOf = async (barrier: ResolvedBarrier): Promise<BarrierView> => {
    const view = read.get(barrier.name) ?? (await barrierView(runtime, barrier, key));
    read.set(barrier.name, view);
    return view;
  };
  for (const gate of phaseGates(pipeline)) if (!gateFired(await viewOf(gate))) return false;
  const byName = async (name: string): Promise<BarrierView | undefined> => {
    const barrier = pipeline.barriers.find((b) => b.name === name);
    return barrier === undefined ? undefined : viewOf(barrier);
  };
  for (const coordinator of pipeline.coordinators) {
    if (!(await batchViews(pipeline, runtime, coordinator, key, byName)).some(batchDone)) return false;
  }
  return true;
}

/** The barriers that wait for a whole phase: a key is finished once each fired. */
function phaseGates(pipeline: ResolvedPipeline): ResolvedBarrier[] {
  return pipeline.barriers.filter((b) => b.kind === 'phase' && b.membersPhase !== undefined);
}

function gateFired(view: BarrierView): boolean {
  return view.status?.trigger !== undefined;
}

function batchDone(batch: BatchView): boolean {
  return batch.progress?.state.completion !== undefined;
}

async function barrierView(runtime: PipelineRuntime, barrier: ResolvedBarrier, key: string): Promise<BarrierView> {
  const instance = runtime.barriers.get(barrier.name);
  const generations = instance === undefined ? [] : await instance.inspectGenerations(key);
  return { barrier: barrier.name, kind: barrier.kind, status: generations.at(-1), generations };
}

/** A coordinator's batches of a key: one per generation of each barrier whose trigger starts it. */
async function batchViews(
  pipeline: ResolvedPipeline,
  runtime: PipelineRuntime,
  coordinator: ResolvedCoordinator,
  key: string,
  barrierViewOf: (name: string) => Promise<BarrierView | undefined>,
): Promise<BatchView[]> {
  const instance = runtime.coordinators.get(coordinator.name);
  if (instance === undefined) return [];
  const batches: BatchView[] = [];
  for (const source of pipeline.barriers.filter((b) => b.publishes.name === coordinator.listens.name)) {
    const barrier = runtime.barriers.get(source.name);
    // One batch per generation of the source barrier's key (each generation's trigger starts its own).
    const modes = source.modes === undefined ? [undefined] : ((await barrierViewOf(source.name))?.generations ?? []).map((g) => g.snapshot.mode);
    for (const mode of modes.length > 0 ? modes : [undefined]) {
      const batchId = instance.batchId(barrier?.triggerId(key, mode) ?? '');
      batches.push({ coordinator: coordinator.name, batchId, progress: await instance.inspect(batchId) });
    }
  }
  return batches;
}
