import type { DeadlineTier, ResolvedBarrier, ResolvedPipeline, Threshold } from '../config/resolved-pipeline.ts';
import { describeThreshold } from '../graph/describe.ts';
import { neededMembers } from '../runtime/evaluate-threshold.ts';
import type { SemanticDiff } from './semantic-diff.ts';

/** A production failure (reference/failure-modes.md) an edit risks, with why. */
export interface PlanRisk {
  /** Row of reference/failure-modes.md (and docs/failure-modes.md). */
  readonly failureMode: number;
  readonly message: string;
}

/** What happens to the keys a barrier or coordinator has open when the edit deploys. */
export interface InFlightEffect {
  readonly component: 'barrier' | 'coordinator';
  /** The name in the base (the keys in flight were opened under it). */
  readonly name: string;
  readonly consequences: readonly string[];
  readonly risks: readonly PlanRisk[];
}

/**
 * Keys in flight: a key's expectations are frozen in its `KeySnapshot` at its first completion
 * (expected members, mode, threshold, deadlines, counted statuses), so an edit never changes what an
 * open key waits for — it changes who still reports, where, and under which barrier name. This states,
 * per barrier of the base, what the edit means for its open keys, and which failure modes it risks.
 */
export function keysInFlight(base: ResolvedPipeline, head: ResolvedPipeline, diff: SemanticDiff): InFlightEffect[] {
  const effects: InFlightEffect[] = [];
  const headBarriers = new Map(head.barriers.map((b) => [b.name, b]));
  const headProcessors = new Map(head.processors.map((p) => [p.name, p]));
  const { processors: processorRenames, barriers: barrierRenames } = diff.renames;
  for (const old of base.barriers) {
    const renamedTo = barrierRenames.get(old.name);
    const next = headBarriers.get(renamedTo ?? old.name);
    const consequences: string[] = [];
    const risks: PlanRisk[] = [];
    if (next === undefined && old.target !== undefined && !headProcessors.has(old.target) && !processorRenames.has(old.target)) {
      consequences.push(`open keys are dropped with it: the processor they would start, ${old.target}, is removed too`);
      risks.push({ failureMode: 6, message: `deploy.sh leaves subscription ${old.name}--${old.listens.name} behind; delete it (see resources)` });
      effects.push({ component: 'barrier', name: old.name, consequences, risks });
      continue;
    }
    if (next === undefined) {
      consequences.push(
        `open keys never fire: the barrier's function, subscription and tick are deleted, so their trigger to ${old.publishes.name} is never published`,
      );
      risks.push({ failureMode: 8, message: `keys open on ${old.name} at deploy time never get their trigger; deploy when \`baton status\` shows none open` });
      risks.push({ failureMode: 6, message: `deploy.sh leaves subscription ${old.name}--${old.listens.name} behind; delete it (see resources)` });
      const target = old.target === undefined ? undefined : headProcessors.get(old.target);
      if (target?.triggeredBy !== undefined && target.dependencyBarrier === undefined)
        consequences.push(
          `${target.name} now starts on ${target.triggeredBy.name} itself: a key whose ${target.triggeredBy.name} message was delivered before the deploy never starts it, so its completion is missing downstream`,
        );
      effects.push({ component: 'barrier', name: old.name, consequences, risks });
      continue;
    }
    if (renamedTo !== undefined) {
      consequences.push(
        `open keys' state stays under ${old.name}; ${renamedTo} starts with no keys, and its new subscription only receives completions published after the deploy: a key already part-way waits under ${renamedTo} for members that already reported`,
      );
      risks.push({
        failureMode: 8,
        message: `keys part-way through ${old.name} at deploy time fire under ${renamedTo} ${fallback(next, next.members.length - 1)}`,
      });
      risks.push({ failureMode: 6, message: `deploy.sh leaves subscription ${old.name}--${old.listens.name} behind; delete it (see resources)` });
    }
    // A member never arrives when it is gone, renamed (its completions carry a name no open key
    // expects) or now publishes elsewhere; one merely dropped from the members still reports and counts.
    const gone = old.members.map((m) => m.name).filter((m) => headProcessors.get(m)?.publishes.name !== next.listens.name);
    const renamedMembers = gone.filter((m) => processorRenames.has(m));
    const awaited = new Set(old.members.map((o) => processorRenames.get(o.name) ?? o.name));
    const added = next.members.map((m) => m.name).filter((m) => !awaited.has(m));
    if (gone.length > 0 && renamedTo === undefined) {
      for (const generation of generationsOf(old)) {
        const missing = gone.filter((m) => generation.expected.includes(m));
        if (missing.length === 0) continue;
        const names = missing.map((m) => (processorRenames.has(m) ? `${m} (now ${processorRenames.get(m) ?? ''}, a name they do not expect)` : m)).join(', ');
        const outcome = outcomeWithout(generation, missing, old.deadlines);
        consequences.push(`${generation.label}open keys still await ${names}, which never arrives: they ${outcome.words}`);
        if (outcome.never)
          risks.push({
            failureMode: 8,
            message: `${old.name}: open keys${generation.label === '' ? '' : ` (${generation.label.replace(/: $/, '')})`} never fire without ${missing.join(', ')}`,
          });
        else if (outcome.deadline)
          risks.push({ failureMode: 9, message: `${old.name}: open keys fire late, at a deadline tier, without ${missing.join(', ')}` });
      }
    }
    if (renamedMembers.length > 0 && renamedTo === undefined)
      consequences.push(`completions of ${renamedMembers.map((m) => processorRenames.get(m)).join(', ')} for open keys are recorded but not counted`);
    if (added.length > 0)
      consequences.push(
        `open keys do not await ${added.join(', ')} (their snapshot predates ${added.length === 1 ? 'it' : 'them'}); keys opened after the deploy do`,
      );
    if (renamedTo === undefined) {
      const [before, after] = ruleDifference(old, next);
      if (before !== undefined && after !== undefined)
        consequences.push(`open keys keep ${before} (their snapshot); keys opened after the deploy use ${after}`);
    }
    if (old.listens.name !== next.listens.name) {
      consequences.push(
        `it now listens on ${next.listens.name}: completions for open keys still queued on ${old.listens.name} are dropped with the old subscription`,
      );
      risks.push({ failureMode: 6, message: `subscription ${old.name}--${old.listens.name} is replaced; deploy.sh leaves it behind` });
    }
    if (old.publishes.name !== next.publishes.name) consequences.push(`open keys' triggers go to ${next.publishes.name}, not ${old.publishes.name}`);
    if (old.aggregateEntities !== next.aggregateEntities)
      consequences.push(`entities_changed aggregation is read when a trigger is built, not snapshotted: it applies to open keys too`);
    if (consequences.length > 0) effects.push({ component: 'barrier', name: old.name, consequences, risks });
  }
  for (const old of base.coordinators) {
    const next = head.coordinators.find((c) => c.name === old.name);
    const consequences: string[] = [];
    const risks: PlanRisk[] = [];
    if (next === undefined) {
      consequences.push('active batches never complete: the coordinator service, its subscriptions and tick are deleted');
      risks.push({ failureMode: 16, message: `batches active on ${old.name} at deploy time never complete` });
    } else {
      if (old.entityType !== next.entityType || old.countsAsComplete.join() !== next.countsAsComplete.join())
        consequences.push('active batches keep their entity list and counted statuses (fixed when each batch opened); new batches use the new ones');
      if (JSON.stringify(old.stall) !== JSON.stringify(next.stall))
        consequences.push('the stall policy is read at every tick, not fixed per batch: it applies to active batches too');
      if (old.readyTopic.name !== next.readyTopic.name) {
        consequences.push(`workers' reports for active batches still queued on ${old.readyTopic.name} are dropped with the old subscription`);
        risks.push({ failureMode: 16, message: `active batches of ${old.name} may stall: reports queued on ${old.readyTopic.name} are lost` });
      }
    }
    if (consequences.length > 0) effects.push({ component: 'coordinator', name: old.name, consequences, risks });
  }
  return effects;
}

/** One snapshot shape a key of the barrier can have: the barrier's own, or one per mode profile. */
interface Generation {
  readonly label: string;
  readonly expected: readonly string[];
  readonly threshold: Threshold;
}

function generationsOf(barrier: ResolvedBarrier): Generation[] {
  const members = barrier.members.map((m) => m.name);
  if (barrier.modes === undefined) return [{ label: '', expected: members, threshold: barrier.threshold }];
  return barrier.modes.profiles.map((p) => ({ label: `mode ${p.name}: `, expected: p.expect?.map((r) => r.name) ?? members, threshold: p.threshold }));
}

/**
 * How an open key ends when `missing` never report and everyone else does: by its threshold, by the
 * first deadline tier that can hold, or never.
 */
function outcomeWithout(
  generation: Generation,
  missing: readonly string[],
  tiers: readonly DeadlineTier[],
): { words: string; never: boolean; deadline: boolean } {
  const expected = generation.expected.length;
  const reachable = expected - missing.length;
  const { threshold } = generation;
  const requiredMissing = threshold.required.some((r) => missing.includes(r.name));
  const snapshot = { kind: threshold.kind, required: threshold.required.map((r) => r.name), count: threshold.count, quorum: threshold.quorum };
  const rule = describeThreshold(threshold, expected);
  if (!requiredMissing && threshold.kind !== 'all' && reachable >= neededMembers(snapshot, expected))
    return { words: `still fire by their threshold (${rule}) once the others complete`, never: false, deadline: false };
  // As the runtime judges a tier (`tierHolds`): its minimum, never below one, and the required members unless it ignores them.
  const index = tiers.findIndex((t) => Math.max(1, t.minMembers) <= reachable && (t.ignoreRequired || !requiredMissing));
  const tier = tiers[index];
  if (tier !== undefined)
    return {
      words: `fire only at deadline tier ${index + 1} (${tier.after} after their first completion, ≥${tier.minMembers}), naming it missing`,
      never: false,
      deadline: true,
    };
  return { words: `never fire (${rule}${tiers.length > 0 ? '; no deadline tier can hold without it' : ', no deadline tiers'})`, never: true, deadline: false };
}

/** For a renamed barrier's keys in flight: a key missing one member fires by a tier or never. */
function fallback(barrier: ResolvedBarrier, reachable: number): string {
  const index = barrier.deadlines.findIndex((t) => Math.max(1, t.minMembers) <= reachable);
  const tier = barrier.deadlines[index];
  return tier === undefined ? 'never (no deadline tier)' : `only at deadline tier ${index + 1} (${tier.after}) or later`;
}

/** The parts of a barrier's rule a snapshot freezes, by label: each generation's threshold, the tiers, the counted statuses. */
function ruleParts(barrier: ResolvedBarrier): Map<string, string> {
  const parts = new Map<string, string>();
  for (const g of generationsOf(barrier)) parts.set(`threshold ${g.label}`, `${g.label}${describeThreshold(g.threshold, g.expected.length)}`);
  const tiers = barrier.deadlines.map((t) => `≥${t.minMembers}@${t.after}${t.ignoreRequired ? ' without required' : ''}`);
  parts.set('tiers', tiers.length === 0 ? 'no deadline tiers' : `tiers ${tiers.join(', ')}`);
  parts.set('counts', `counting ${barrier.countsAsComplete.join(', ')}`);
  return parts;
}

/** The frozen parts that differ, old and new, or undefineds when the rule is the same. */
function ruleDifference(a: ResolvedBarrier, b: ResolvedBarrier): [string | undefined, string | undefined] {
  const before = ruleParts(a);
  const after = ruleParts(b);
  const labels = [...new Set([...before.keys(), ...after.keys()])].filter((label) => before.get(label) !== after.get(label));
  if (labels.length === 0) return [undefined, undefined];
  const words = (parts: Map<string, string>): string => labels.map((label) => parts.get(label) ?? `no ${label.trim()}`).join('; ');
  return [words(before), words(after)];
}
