// Data flow: pipeline graph + --phase → BackfillStart (what starts that phase for a key) → backfill messages → deployed topics / entry services.
import { createHash } from 'node:crypto';
import type { ResolvedPipeline, ResolvedProcessor } from '../config/resolved-pipeline.ts';
import type { OutgoingMessage } from '../ports/message-bus.ts';
import { buildEnvelope, ENVELOPE_TYPES, toMessage } from './envelope.ts';
import type { KeyView } from './inspect-key.ts';

/**
 * How a backfill starts phase `phase` for a key. An entry phase is started by calling its processors
 * with an entry message (what the scheduler outside Baton does). Any other phase is started by
 * announcing, on the topic its start listens to, a completion of every processor of the phase before
 * it, as if that phase had just finished for the key: the deployed barrier (or coordinator) then
 * decides the start as it always does — its threshold, modes and exactly-once trigger included.
 * Nothing impersonates a barrier. Sound only when that upstream phase's output exists for the key.
 */
export type BackfillStart =
  | { readonly kind: 'entry'; readonly phase: string; readonly processors: readonly ResolvedProcessor[] }
  | {
      readonly kind: 'completions';
      readonly phase: string;
      readonly upstream: string;
      readonly topic: string;
      readonly processors: readonly ResolvedProcessor[];
    };

/** What starts `phaseName` for a key, or why nothing a backfill can send does. */
export function backfillStart(pipeline: ResolvedPipeline, phaseName: string): { ok: true; start: BackfillStart } | { ok: false; error: string } {
  const phase = pipeline.phases.find((p) => p.name === phaseName);
  if (phase === undefined) return { ok: false, error: `no phase "${phaseName}"; phases: ${pipeline.phases.map((p) => p.name).join(', ')}` };
  if (phase.triggeredBy === undefined) {
    return { ok: true, start: { kind: 'entry', phase: phase.name, processors: pipeline.processors.filter((p) => p.phase === phase.name) } };
  }
  // Walk back from the phase's trigger topic to the completions that (through a barrier or a coordinator) put a message on it.
  let topic = phase.triggeredBy.name;
  for (let hops = 0; hops < 4; hops++) {
    const publishers = pipeline.processors.filter((p) => p.publishes.name === topic && p.phase !== phase.name);
    if (publishers.length > 0) {
      const upstream = publishers[0]?.phase ?? '';
      return { ok: true, start: { kind: 'completions', phase: phase.name, upstream, topic, processors: publishers } };
    }
    const barrier = pipeline.barriers.find((b) => b.kind === 'phase' && b.publishes.name === topic);
    const coordinator = pipeline.coordinators.find((c) => c.workTopic.name === topic);
    const next = barrier?.listens.name ?? coordinator?.listens.name;
    if (next === undefined) break;
    topic = next;
  }
  return {
    ok: false,
    error: `phase "${phaseName}" is started by ${phase.triggeredBy.name}, which no phase's completions lead to; start the backfill at an earlier phase`,
  };
}

/** Every phase the backfill runs, in pipeline order: the start phase's upstream (its completions are announced) and what follows. */
export function backfillPhases(pipeline: ResolvedPipeline, start: BackfillStart): string[] {
  const first = pipeline.phases.findIndex((p) => p.name === (start.kind === 'entry' ? start.phase : start.upstream));
  return pipeline.phases.slice(Math.max(0, first)).map((p) => p.name);
}

/** Whether the state can show a backfilled key finished: some phase barrier or coordinator covers the phases it runs. */
export function isBackfillObservable(pipeline: ResolvedPipeline, phases: readonly string[]): boolean {
  return (
    pipeline.barriers.some((b) => b.kind === 'phase' && b.membersPhase !== undefined && phases.includes(b.membersPhase.name)) ||
    pipeline.coordinators.some((c) => phases.includes(c.phase.name))
  );
}

/**
 * Whether a backfilled key got through: every phase barrier over a phase the backfill runs fired, and
 * every coordinator batch completed (as `isKeyFinished`, from the start phase on).
 */
export function isBackfillFinished(pipeline: ResolvedPipeline, view: KeyView, phases: readonly string[]): boolean {
  const gates = pipeline.barriers.filter((b) => b.kind === 'phase' && b.membersPhase !== undefined && phases.includes(b.membersPhase.name)).map((b) => b.name);
  const gatesFired = view.barriers.filter((b) => gates.includes(b.barrier)).every((b) => b.status?.trigger !== undefined);
  const coordinators = pipeline.coordinators.filter((c) => phases.includes(c.phase.name));
  const batchesDone = coordinators.every((c) => view.batches.some((b) => b.coordinator === c.name && b.progress?.state.completion !== undefined));
  return gatesFired && batchesDone;
}

/** The ids of one backfill: the same key gets the same ids on every attempt, so a resumed backfill's re-sends are duplicates. */
export interface BackfillIds {
  /** `backfill` — or, for `--force`, `backfill-<run>`: a new execution a barrier records beside the failed one. */
  readonly execution: string;
}

/** The correlation id a backfilled key's messages carry. */
export function backfillCorrelationId(ids: BackfillIds, key: string): string {
  return `${ids.execution}-${digest(ids.execution, 'correlation', key)}`;
}

/** The entry message a scheduler would send an entry processor for `key`: `{ id, key, correlation_id }`. */
export function entryRequest(ids: BackfillIds, key: string): { id: string; key: string; correlation_id: string } {
  return { id: `entry:${ids.execution}:${key}`, key, correlation_id: backfillCorrelationId(ids, key) };
}

/** `processor`'s completion for `key`, announced by the backfill (status success, a full recompute downstream). */
export function backfillCompletion(
  pipeline: ResolvedPipeline,
  processor: ResolvedProcessor,
  key: string,
  ids: BackfillIds,
  now: number,
  pipelineHash: string | undefined,
): OutgoingMessage {
  const envelope = buildEnvelope({
    id: `${ids.execution}:${processor.name}:${key}`,
    source: `//baton/${pipeline.name}/processors/${processor.name}`,
    type: ENVELOPE_TYPES.completion,
    time: now,
    subject: key,
    correlationId: backfillCorrelationId(ids, key),
    data: {
      processor_name: processor.name,
      phase: processor.phase,
      execution_id: `${ids.execution}-${digest(ids.execution, processor.name, key)}`,
      correlation_id: backfillCorrelationId(ids, key),
      key,
      status: 'success',
      timestamp: new Date(now).toISOString(),
      trigger_source: 'manual',
      ...(pipelineHash === undefined ? {} : { pipeline_hash: pipelineHash }),
      metadata: { is_incremental: false },
    },
  });
  return toMessage(envelope);
}

/** 16 hex digits that depend only on `parts`. */
function digest(...parts: readonly string[]): string {
  return createHash('sha256').update(parts.join('\0')).digest('hex').slice(0, 16);
}
