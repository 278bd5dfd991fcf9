// Data flow: StateStore → inspectKey (KeyView) → findStuck(view, now) → StuckItem[] → `baton status --stuck`.
import type { ResolvedPipeline } from '../config/resolved-pipeline.ts';
import type { TriggerRecord } from '../ports/state-store.ts';
import type { BarrierKeyStatus } from './completion-barrier.ts';
import { tierHolds } from './evaluate-threshold.ts';
import type { BatchView, KeyView } from './inspect-key.ts';

/**
 * Why a barrier × key or a batch can no longer get on by itself:
 * - `tier-due`: a deadline tier elapsed and its minimum holds, yet no trigger (no tick ran since);
 * - `unpublished`: a trigger or batch completion was decided but never published;
 * - `stalled`: a batch has had no report for its stall window and its counted share reaches the stall minimum;
 * - `unreachable`: every expected member reported, too few counted, and no deadline tier fires with them;
 * - `past-last-tier`: every deadline tier elapsed short of its minimum, with members still unreported;
 * - `stalled-short`: a batch has had no report for its stall window, below the stall minimum.
 */
export type StuckKind = 'tier-due' | 'unpublished' | 'stalled' | 'unreachable' | 'past-last-tier' | 'stalled-short';

/**
 * Who unsticks it. `tick`: the scheduled tick would (the tick fires elapsed tiers, re-publishes decided
 * triggers and completes stalled batches), so `baton tick` now does it. `operator`: no tick ever will;
 * a person reruns `rerun` (processors that failed or never reported) or backfills the key.
 */
export type StuckFix = { readonly by: 'tick' } | { readonly by: 'operator'; readonly rerun: readonly string[] };

/** One thing that holds a key up, with why and what fixes it. */
export interface StuckItem {
  readonly key: string;
  /** The barrier (with ` [mode]` for a generation of a barrier with modes) or the coordinator. */
  readonly component: string;
  readonly kind: StuckKind;
  /** One sentence: what the state shows. */
  readonly why: string;
  readonly fix: StuckFix;
  /** Since when (store time, epoch ms) it has been stuck: the tier, the decision or the last progress. */
  readonly since: number;
}

/** How long a decided trigger may stay unpublished before it counts as stuck (the publish right after the decision). */
export const PUBLISH_GRACE_MS = 60_000;

/**
 * Everything that holds up one key at `now` (store time), in pipeline order; empty when nothing does.
 * Reads only the key's view: it decides nothing and writes nothing. Not stuck: a key still waiting for
 * members with a deadline tier ahead or no deadline at all (members may yet report), and a dependency
 * barrier whose phase already ended by its own barrier (a deadline tier rightly left it behind).
 */
export function findStuck(pipeline: ResolvedPipeline, view: KeyView, now: number): StuckItem[] {
  const items: StuckItem[] = [];
  for (const barrierView of view.barriers) {
    const barrier = pipeline.barriers.find((b) => b.name === barrierView.barrier);
    if (barrier?.kind === 'dependency') {
      const gate = pipeline.barriers.find((b) => b.kind === 'phase' && b.listens.name === barrier.listens.name);
      const gateView = view.barriers.find((b) => b.barrier === gate?.name);
      if (gateView?.generations.some((g) => g.trigger !== undefined)) continue;
    }
    for (const status of barrierView.generations) {
      const component = `${barrierView.barrier}${status.snapshot.mode === undefined ? '' : ` [${status.snapshot.mode}]`}`;
      const item = stuckGeneration(status, now);
      if (item !== undefined) items.push({ key: view.key, component, ...item });
    }
  }
  for (const batch of view.batches) {
    const item = stuckBatch(pipeline, batch, now);
    if (item !== undefined) items.push({ key: view.key, component: batch.coordinator, ...item });
  }
  return items;
}

/** When the key was first seen (its earliest first completion or batch), or undefined when never. */
export function firstSeenAt(view: KeyView): number | undefined {
  const times = [
    ...view.barriers.flatMap((b) => b.generations.map((g) => g.snapshot.firstCompletionAt)),
    ...view.batches.flatMap((b) => (b.progress === undefined ? [] : [b.progress.state.batch.createdAt])),
  ];
  return times.length === 0 ? undefined : Math.min(...times);
}

type Finding = Omit<StuckItem, 'key' | 'component'>;

function unpublished(trigger: TriggerRecord, now: number, what: string): Finding | undefined {
  if (trigger.publishedAt !== undefined || now - trigger.decidedAt < PUBLISH_GRACE_MS) return undefined;
  return { kind: 'unpublished', why: `${what} (${trigger.reason}) was decided but never published`, fix: { by: 'tick' }, since: trigger.decidedAt };
}

function stuckGeneration(status: BarrierKeyStatus, now: number): Finding | undefined {
  const { snapshot, completed, missing, failed } = status;
  if (status.trigger !== undefined) return unpublished(status.trigger, now, 'its trigger');
  const counted = completed.length;
  const expected = snapshot.expected.length;
  const requiredMet = snapshot.threshold.required.every((m) => completed.includes(m));
  const tiers = snapshot.deadlines.map((tier, index) => ({ tier, index, at: snapshot.firstCompletionAt + tier.afterMs }));
  const due = tiers.find((t) => t.at <= now && tierHolds(t.tier, counted, requiredMet));
  if (due !== undefined) {
    return {
      kind: 'tier-due',
      why: `deadline tier ${due.index + 1} (after ${due.tier.after}) elapsed with ${counted}/${expected} counted, enough for it, but it has not fired`,
      fix: { by: 'tick' },
      since: due.at,
    };
  }
  const unreported = missing.filter((m) => !failed.includes(m));
  const failedNote = failed.length > 0 ? `; failed: ${failed.join(', ')}` : '';
  if (unreported.length === 0) {
    // Nobody else will report: only a tier still ahead that holds with these counts can fire it.
    if (tiers.some((t) => t.at > now && tierHolds(t.tier, counted, requiredMet))) return undefined;
    const tierNote = tiers.length === 0 ? 'no deadline tier' : 'no deadline tier fires with that many';
    const requiredNote = requiredMet ? '' : ` (the required ${snapshot.threshold.required.filter((m) => !completed.includes(m)).join(', ')} did not count)`;
    return {
      kind: 'unreachable',
      why: `every expected member reported but only ${counted}/${expected} counted${requiredNote}, and ${tierNote}${failedNote}`,
      fix: { by: 'operator', rerun: failed },
      since: Math.max(snapshot.firstCompletionAt, ...status.joined.map((m) => m.recordedAt)),
    };
  }
  const last = tiers.at(-1);
  if (last === undefined || last.at > now) return undefined;
  return {
    kind: 'past-last-tier',
    why: `its last deadline tier (after ${last.tier.after}) elapsed with ${counted}/${expected} counted, short of its minimum; not reported: ${unreported.join(', ')}${failedNote}`,
    fix: { by: 'operator', rerun: [...failed, ...unreported] },
    since: last.at,
  };
}

function stuckBatch(pipeline: ResolvedPipeline, batch: BatchView, now: number): Finding | undefined {
  const progress = batch.progress;
  if (progress === undefined) return undefined;
  const { state, counted, failed, unreported, total } = progress;
  if (state.completion !== undefined) return unpublished(state.completion, now, `batch ${batch.batchId}'s completion`);
  const stall = pipeline.coordinators.find((c) => c.name === batch.coordinator)?.stall;
  if (state.batch.state !== 'active' || stall === undefined || now - state.lastProgressAt < stall.noProgressForMs) return undefined;
  const share = total === 0 ? 1 : counted.length / total;
  const where = `batch ${batch.batchId} has had no report for ${stall.noProgressFor} or more at ${counted.length}/${total} counted`;
  const since = state.lastProgressAt + stall.noProgressForMs;
  if (share >= stall.minFraction)
    return { kind: 'stalled', why: `${where}, enough for its stall policy, but it has not completed`, fix: { by: 'tick' }, since };
  const coordinator = pipeline.coordinators.find((c) => c.name === batch.coordinator);
  const workers = pipeline.processors.filter((p) => p.phase === coordinator?.phase.name).map((p) => p.name);
  return {
    kind: 'stalled-short',
    why: `${where}, below the ${stall.minFraction} its stall policy needs (${failed.length} failed, ${unreported.length} unreported)`,
    fix: { by: 'operator', rerun: workers },
    since,
  };
}
