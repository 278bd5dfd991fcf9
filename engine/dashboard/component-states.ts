import type { ResolvedPipeline } from '../config/resolved-pipeline.ts';
import type { BarrierKeyStatus } from '../runtime/completion-barrier.ts';
import type { KeyView } from '../runtime/inspect-key.ts';
import { BUNDLE_ABOVE } from '../../generators/diagram-model.ts';

/**
 * What the dashboard colours each drawn component by, for one key: `waiting` (nothing yet), `partial`
 * (some members or entities in), `fired` (the barrier's trigger or the batch's completion is decided),
 * `done` / `failed` (a processor's completion counted / failed), `stuck` (open with nothing left that
 * would fire it), `dead-letters` (a dead-letter topic holding messages of the key).
 */
export type ComponentStateName = 'waiting' | 'partial' | 'fired' | 'done' | 'failed' | 'stuck' | 'dead-letters';

/** One component's state for the key, and the words shown on it (`partial 7 of 21`). */
export interface ComponentState {
  readonly state: ComponentStateName;
  readonly label: string;
}

/** One row of a phase table: a component of the phase and its state. */
export interface PhaseRow extends ComponentState {
  /** The diagram id of the component (`processor:name`, `barrier:name`, `coordinator:name`). */
  readonly id: string;
  readonly kind: 'processor' | 'barrier' | 'coordinator';
  readonly name: string;
  /** More words: the missing members, the next deadline, the failed entities. */
  readonly detail: string;
}

/** One phase's table. */
export interface PhaseTable {
  readonly phase: string;
  readonly rows: readonly PhaseRow[];
}

/**
 * Every drawn component's state for one key, by diagram id (the ids of generators/diagram-model.ts:
 * `barrier:…`, `coordinator:…`, `processor:…`, `bundle:<phase>`, `dlq:<topic>`). `deadLettersByTopic`
 * counts the key's dead letters per dead-letter topic; `reported` is each processor's latest completion
 * for the key as the bus's history has it (empty where the backend keeps none).
 */
export function componentStates(
  pipeline: ResolvedPipeline,
  view: KeyView,
  now: number,
  { deadLettersByTopic, reported }: { deadLettersByTopic: ReadonlyMap<string, number>; reported: ReadonlyMap<string, ProcessorReport> },
): Record<string, ComponentState> {
  const states: Record<string, ComponentState> = {};
  for (const row of phaseTables(pipeline, view, now, reported).flatMap((t) => t.rows)) states[row.id] = { state: row.state, label: row.label };
  for (const phase of pipeline.phases) {
    if (phase.processors.length <= BUNDLE_ABOVE) continue;
    const rows = phase.processors.map((p) => states[`processor:${p}`]);
    const done = rows.filter((r) => r?.state === 'done').length;
    const failed = rows.filter((r) => r?.state === 'failed').length;
    const state: ComponentStateName = done === rows.length ? 'done' : failed > 0 ? 'failed' : done > 0 ? 'partial' : 'waiting';
    states[`bundle:${phase.name}`] = { state, label: `${done} of ${rows.length} done${failed > 0 ? `, ${failed} failed` : ''}` };
  }
  for (const [topic, count] of deadLettersByTopic) {
    if (count > 0) states[`dlq:${topic}`] = { state: 'dead-letters', label: `${count} dead letter${count === 1 ? '' : 's'}` };
  }
  return states;
}

/** What a processor's latest completion for the key said. */
export type ProcessorReport = 'done' | 'failed';

/** Per phase: its processors, the dependency barriers inside it, its coordinators and the barrier that closes it. */
export function phaseTables(pipeline: ResolvedPipeline, view: KeyView, now: number, reported: ReadonlyMap<string, ProcessorReport>): PhaseTable[] {
  const processorStates = processorStatesOf(view, reported);
  return pipeline.phases.map((phase) => {
    const rows: PhaseRow[] = [];
    // A coordinator's workers report per entity, not per key: they stand where its batch stands.
    const batch = pipeline.coordinators
      .filter((c) => c.phase.name === phase.name)
      .map((c) => view.batches.find((b) => b.coordinator === c.name)?.progress)
      .find((p) => p !== undefined);
    for (const name of phase.processors) {
      const state = processorStates.get(name);
      if (state === undefined && batch !== undefined) {
        const { counted, total } = batch;
        const done = batch.state.completion !== undefined;
        rows.push({
          id: `processor:${name}`,
          kind: 'processor',
          name,
          state: done ? 'done' : 'partial',
          label: done ? 'done' : `partial ${counted.length} of ${total}`,
          detail: `${counted.length} of ${total} ${batch.state.batch.entityType}`,
        });
        continue;
      }
      rows.push({ id: `processor:${name}`, kind: 'processor', name, state: state ?? 'waiting', label: state ?? 'waiting', detail: '' });
    }
    for (const barrier of pipeline.barriers) {
      const inPhase = barrier.membersPhase?.name === phase.name || (barrier.target !== undefined && phase.processors.includes(barrier.target));
      if (!inPhase) continue;
      const status = view.barriers.find((b) => b.barrier === barrier.name)?.status;
      rows.push({ id: `barrier:${barrier.name}`, kind: 'barrier', name: barrier.name, ...barrierState(status, now) });
    }
    for (const coordinator of pipeline.coordinators.filter((c) => c.phase.name === phase.name)) {
      const progress = view.batches.find((b) => b.coordinator === coordinator.name)?.progress;
      rows.push({ id: `coordinator:${coordinator.name}`, kind: 'coordinator', name: coordinator.name, ...batchState(progress) });
    }
    return { phase: phase.name, rows };
  });
}

/**
 * A processor is done or failed by what it reported; a barrier it is a member of has the last word
 * (it applies `counts_as_complete`, and it is there on backends that keep no message history).
 */
function processorStatesOf(view: KeyView, reported: ReadonlyMap<string, ProcessorReport>): Map<string, ComponentStateName> {
  const states = new Map<string, ComponentStateName>(reported);
  const judged = new Set<string>();
  for (const { status } of view.barriers) {
    if (status === undefined) continue;
    for (const member of status.failed) if (!judged.has(member)) states.set(member, 'failed');
    for (const member of status.completed) states.set(member, 'done');
    for (const member of [...status.failed, ...status.completed]) judged.add(member);
  }
  return states;
}

/** A barrier's latest generation for the key. */
export function barrierState(status: BarrierKeyStatus | undefined, now: number): ComponentState & { detail: string } {
  if (status === undefined) return { state: 'waiting', label: 'waiting', detail: 'no completion yet' };
  const expected = status.snapshot.expected.length;
  const mode = status.snapshot.mode === undefined ? '' : ` [${status.snapshot.mode}]`;
  if (status.trigger !== undefined) {
    const missing = expected - status.completed.length;
    return {
      state: 'fired',
      label: `fired ${status.completed.length} of ${expected}`,
      detail: `${status.trigger.reason}${mode}${missing > 0 ? `; missing ${status.missing.join(', ')}` : ''}`,
    };
  }
  const label = `partial ${status.completed.length} of ${expected}`;
  const missing = status.missing.length > 0 ? `missing ${status.missing.join(', ')}` : '';
  const failed = status.failed.length > 0 ? `failed ${status.failed.join(', ')}` : '';
  // Nothing left would fire it: every deadline tier has passed short of its minimum, or a member
  // failed and no deadline was set to end the wait.
  const stuck = status.nextDeadlineAt === undefined && (status.snapshot.deadlines.length > 0 || status.failed.length > 0);
  const next = status.nextDeadlineAt === undefined ? '' : `next deadline in ${Math.max(0, Math.round((status.nextDeadlineAt - now) / 1000))} s`;
  const detail = [missing, failed, next].filter((s) => s !== '').join('; ') + mode;
  return stuck ? { state: 'stuck', label: `stuck ${status.completed.length} of ${expected}`, detail } : { state: 'partial', label, detail };
}

/** A coordinator's batch for the key. */
function batchState(progress: KeyView['batches'][number]['progress']): ComponentState & { detail: string } {
  if (progress === undefined) return { state: 'waiting', label: 'waiting', detail: 'no batch yet' };
  const { state, counted, failed, total } = progress;
  const failures = failed.length > 0 ? `; ${failed.length} failed` : '';
  if (state.completion !== undefined) {
    return { state: 'fired', label: `completed ${counted.length} of ${total}`, detail: `${state.completion.reason}${failures}` };
  }
  return { state: 'partial', label: `partial ${counted.length} of ${total}`, detail: `${state.batch.state} ${state.batch.entityType}${failures}` };
}
