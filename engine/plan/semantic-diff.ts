import type {
  ResolvedBarrier,
  ResolvedCoordinator,
  ResolvedPipeline,
  ResolvedProcessor,
  ResolvedTopic,
  SubscriptionSettings,
} from '../config/resolved-pipeline.ts';
import { describeBarrier, describeCoordinator, describeThreshold } from '../graph/describe.ts';
import { planSubscriptions, type PlannedSubscription } from '../graph/subscription-plan.ts';
import { matchRenames, type Renames } from './match-renames.ts';

/** What kind of thing a change is about. */
export type ChangeSubject = 'pipeline' | 'topic' | 'phase' | 'processor' | 'barrier' | 'coordinator' | 'subscriptions' | 'simulate';

/** One change of meaning between two pipelines, in words. */
export interface PipelineChange {
  readonly subject: ChangeSubject;
  readonly action: 'added' | 'removed' | 'renamed' | 'changed';
  /** The name in the edited pipeline (the old name for a removal). */
  readonly name: string;
  /** For a rename: the old name, and how it was recognised. */
  readonly renamedFrom?: { readonly name: string; readonly by: 'renamed_from' | 'shape' };
  /** What changed, one phrase each: `threshold: all 21 → all 22`. */
  readonly details: readonly string[];
}

/** Every change between a base and an edited pipeline, plus the name pairs renames make. */
export interface SemanticDiff {
  readonly changes: readonly PipelineChange[];
  /** Old name → new name, per kind, for every rename found. */
  readonly renames: Renames;
  /** `renamed_from:` entries that name nothing in the base: treated as additions, said here. */
  readonly notes: readonly string[];
}

/**
 * The semantic diff of two valid pipelines: processors, topics, phases, barriers and coordinators
 * added, removed, renamed (`matchRenames`) and changed, in the words `baton validate` uses for
 * thresholds.
 */
export function diffPipelines(base: ResolvedPipeline, head: ResolvedPipeline): SemanticDiff {
  const notes: string[] = [];
  const { processors: processorRenames, barriers: barrierRenames } = matchRenames(base, head, notes);
  const mapMember = (name: string): string => processorRenames.get(name) ?? name;
  const changes: PipelineChange[] = [
    ...diffPipelineSettings(base, head),
    ...diffTopics(base.topics, head.topics),
    ...diffPhases(base, head),
    ...diffNamed(
      base.processors,
      head.processors,
      processorRenames,
      'processor',
      (p) => `in phase ${p.phase}`,
      (a, b) => diffProcessor(a, b, mapMember),
    ),
    ...diffNamed(
      base.barriers,
      head.barriers,
      barrierRenames,
      'barrier',
      (b) => describeBarrier(b),
      (a, b) => diffBarrier(a, b, mapMember),
    ),
    ...diffNamed(base.coordinators, head.coordinators, new Map(), 'coordinator', (c) => describeCoordinator(c), diffCoordinator),
    ...diffSubscriptions(base, head, processorRenames, barrierRenames),
    ...diffSimulation(base, head),
  ];
  return { changes, renames: { processors: processorRenames, barriers: barrierRenames }, notes };
}

function diffNamed<T extends { readonly name: string }>(
  base: readonly T[],
  head: readonly T[],
  renames: ReadonlyMap<string, string>,
  subject: ChangeSubject,
  summary: (item: T) => string,
  compare: (a: T, b: T) => string[],
): PipelineChange[] {
  const changes: PipelineChange[] = [];
  const headByName = new Map(head.map((h) => [h.name, h]));
  const renamedTo = new Set(renames.values());
  for (const old of base) {
    const newName = renames.get(old.name);
    const next = headByName.get(newName ?? old.name);
    if (next === undefined) {
      changes.push({ subject, action: 'removed', name: old.name, details: [summary(old)] });
      continue;
    }
    const details = compare(old, next);
    if (newName !== undefined) {
      const by = (next as { renamedFrom?: { name: string } }).renamedFrom?.name === old.name ? 'renamed_from' : 'shape';
      changes.push({ subject, action: 'renamed', name: newName, renamedFrom: { name: old.name, by }, details });
    } else if (details.length > 0) changes.push({ subject, action: 'changed', name: old.name, details });
  }
  const baseNames = new Set(base.map((b) => b.name));
  for (const item of head)
    if (!baseNames.has(item.name) && !renamedTo.has(item.name)) changes.push({ subject, action: 'added', name: item.name, details: [summary(item)] });
  return changes;
}

/** A value as the plan prints it. */
type Shown = string | number | boolean | undefined | readonly string[];

function changed(label: string, before: Shown, after: Shown, out: string[]): void {
  const show = (v: Shown): string => (v === undefined ? 'none' : typeof v === 'object' ? (v.length === 0 ? 'none' : v.join(', ')) : String(v));
  if (show(before) !== show(after)) out.push(`${label}: ${show(before)} → ${show(after)}`);
}

function diffPipelineSettings(base: ResolvedPipeline, head: ResolvedPipeline): PipelineChange[] {
  const details: string[] = [];
  changed('name', base.name, head.name, details);
  changed('project', base.project, head.project, details);
  changed('region', base.region, head.region, details);
  changed('key', `${base.key.name} (${base.key.type})`, `${head.key.name} (${head.key.type})`, details);
  changed('key cadence', formatMs(base.keyCadenceMs), formatMs(head.keyCadenceMs), details);
  const sizing = (p: ResolvedPipeline): string =>
    `${p.orchestrator.memoryMb} MB, ${p.orchestrator.timeoutSeconds} s, ≤${p.orchestrator.maxInstances} instances`;
  changed('orchestrator', sizing(base), sizing(head), details);
  return details.length === 0 ? [] : [{ subject: 'pipeline', action: 'changed', name: head.name, details }];
}

function diffTopics(base: readonly ResolvedTopic[], head: readonly ResolvedTopic[]): PipelineChange[] {
  return diffNamed(
    base,
    head,
    new Map(),
    'topic',
    (t) => t.description,
    (a, b) => {
      const details: string[] = [];
      changed('dead-letter topic', a.deadLetter.enabled ? a.deadLetter.topic : undefined, b.deadLetter.enabled ? b.deadLetter.topic : undefined, details);
      changed('external consumers', a.externalConsumers, b.externalConsumers, details);
      changed('external publishers', a.externalPublishers, b.externalPublishers, details);
      changed('KMS key', a.kmsKey, b.kmsKey, details);
      return details;
    },
  );
}

function diffPhases(base: ResolvedPipeline, head: ResolvedPipeline): PipelineChange[] {
  return diffNamed(
    base.phases,
    head.phases,
    new Map(),
    'phase',
    (p) => `${p.processors.length} processors, ${p.triggeredBy?.name ?? p.entry ?? 'started outside Baton'} → ${p.publishes.name}`,
    (a, b) => {
      const details: string[] = [];
      changed('triggered by', a.triggeredBy?.name, b.triggeredBy?.name, details);
      changed('publishes', a.publishes.name, b.publishes.name, details);
      changed('entry', a.entry, b.entry, details);
      return details;
    },
  );
}

function diffProcessor(a: ResolvedProcessor, b: ResolvedProcessor, mapMember: (name: string) => string): string[] {
  const details: string[] = [];
  changed('phase', a.phase, b.phase, details);
  changed('service', a.service, b.service, details);
  setChange(
    'depends_on',
    a.dependsOn.map((d) => mapMember(d.name)),
    b.dependsOn.map((d) => d.name),
    details,
  );
  return details;
}

function setChange(label: string, before: readonly string[], after: readonly string[], out: string[]): void {
  const had = new Set(before);
  const has = new Set(after);
  const added = after.filter((x) => !had.has(x));
  const removed = before.filter((x) => !has.has(x));
  if (added.length + removed.length > 0) out.push(`${label}: ${[...added.map((x) => `+${x}`), ...removed.map((x) => `-${x}`)].join(' ')}`);
}

function diffBarrier(a: ResolvedBarrier, b: ResolvedBarrier, mapMember: (name: string) => string): string[] {
  const details: string[] = [];
  changed('listens', a.listens.name, b.listens.name, details);
  changed('publishes', a.publishes.name, b.publishes.name, details);
  changed('function', a.function, b.function, details);
  const renamedMembers = a.members.filter((m) => mapMember(m.name) !== m.name).map((m) => `${m.name} → ${mapMember(m.name)}`);
  if (renamedMembers.length > 0) details.push(`member renamed: ${renamedMembers.join(', ')}`);
  setChange(
    'members',
    a.members.map((m) => mapMember(m.name)),
    b.members.map((m) => m.name),
    details,
  );
  if (a.modes === undefined || b.modes === undefined) {
    changed('threshold', thresholdWords(a), thresholdWords(b), details);
  } else {
    changed('modes timezone', a.modes.timezone, b.modes.timezone, details);
    for (const profile of b.modes.profiles) {
      const old = a.modes.profiles.find((p) => p.name === profile.name);
      if (old === undefined) {
        details.push(`mode ${profile.name} added: ${describeThreshold(profile.threshold, profile.expect?.length ?? b.members.length)}`);
        continue;
      }
      changed(`mode ${profile.name} case`, old.when, profile.when, details);
      changed(
        `mode ${profile.name} expects`,
        old.expect?.map((r) => mapMember(r.name)) ?? 'all members',
        profile.expect?.map((r) => r.name) ?? 'all members',
        details,
      );
      changed(
        `mode ${profile.name}`,
        describeThreshold(old.threshold, old.expect?.length ?? a.members.length),
        describeThreshold(profile.threshold, profile.expect?.length ?? b.members.length),
        details,
      );
    }
    for (const old of a.modes.profiles) if (!b.modes.profiles.some((p) => p.name === old.name)) details.push(`mode ${old.name} removed`);
  }
  const tiers = Math.max(a.deadlines.length, b.deadlines.length);
  for (let i = 0; i < tiers; i++) {
    const before = a.deadlines[i];
    const after = b.deadlines[i];
    const label = `deadline tier ${i + 1}`;
    if (before === undefined && after !== undefined) details.push(`${label} added: ≥${after.minMembers} after ${after.after}`);
    else if (before !== undefined && after === undefined) details.push(`${label} removed (≥${before.minMembers} after ${before.after})`);
    else if (before !== undefined && after !== undefined) {
      if (before.afterMs !== after.afterMs) details.push(`${label} after: ${before.after} → ${after.after}`);
      changed(`${label} min members`, before.minMembers, after.minMembers, details);
      changed(`${label} ignore_required`, before.ignoreRequired, after.ignoreRequired, details);
    }
  }
  changed('counts as complete', a.countsAsComplete, b.countsAsComplete, details);
  changed('aggregates entities_changed', a.aggregateEntities, b.aggregateEntities, details);
  return details;
}

/** `all 21`, `critical (2) + 60% of 5`: the barrier's threshold without its deadlines. */
export function thresholdWords(barrier: ResolvedBarrier): string {
  return describeThreshold(barrier.threshold, barrier.members.length);
}

function diffCoordinator(a: ResolvedCoordinator, b: ResolvedCoordinator): string[] {
  const details: string[] = [];
  changed('listens', a.listens.name, b.listens.name, details);
  changed('phase', a.phase.name, b.phase.name, details);
  changed('entity type', a.entityType, b.entityType, details);
  changed('work topic', a.workTopic.name, b.workTopic.name, details);
  changed('ready topic', a.readyTopic.name, b.readyTopic.name, details);
  changed('publishes', a.publishes?.name, b.publishes?.name, details);
  changed('service', a.service, b.service, details);
  const stall = (c: ResolvedCoordinator): string | undefined =>
    c.stall === undefined ? undefined : `≥${Math.round(c.stall.minFraction * 100)}% after ${c.stall.noProgressFor} without progress`;
  changed('stall policy', stall(a), stall(b), details);
  changed('second batch', a.onActiveBatch, b.onActiveBatch, details);
  changed('counts as complete', a.countsAsComplete, b.countsAsComplete, details);
  changed('full list URL', a.fullListUrl, b.fullListUrl, details);
  return details;
}

const SETTINGS: readonly [string, (s: SubscriptionSettings) => Shown][] = [
  ['ack_deadline_seconds', (s) => s.ackDeadlineSeconds],
  ['retry.min_backoff_seconds', (s) => s.minBackoffSeconds],
  ['retry.max_backoff_seconds', (s) => s.maxBackoffSeconds],
  ['dead_letter_after_attempts', (s) => s.deadLetterAfterAttempts],
  ['message_retention_seconds', (s) => s.messageRetentionSeconds],
  ['delivery', (s) => s.delivery],
  ['invoker', (s) => s.invoker],
];

/**
 * Subscription setting changes, grouped: one `defaults.subscription` edit touches every subscription
 * and reads as one line naming how many. Subscriptions of renamed consumers are compared with their
 * old selves; added and removed ones belong to the components that own them.
 */
function diffSubscriptions(
  base: ResolvedPipeline,
  head: ResolvedPipeline,
  processorRenames: ReadonlyMap<string, string>,
  barrierRenames: ReadonlyMap<string, string>,
): PipelineChange[] {
  const rename = (s: PlannedSubscription): string => `${processorRenames.get(s.consumer) ?? barrierRenames.get(s.consumer) ?? s.consumer}--${s.topic}`;
  const before = new Map(planSubscriptions(base).map((s) => [rename(s), s]));
  const groups = new Map<string, string[]>();
  for (const after of planSubscriptions(head)) {
    const old = before.get(after.name);
    if (old === undefined) continue;
    const details: string[] = [];
    for (const [label, get] of SETTINGS) changed(label, get(old.settings), get(after.settings), details);
    changed('dead-letter topic', old.deadLetterTopic, after.deadLetterTopic, details);
    changed('filter', filterWords(old), filterWords(after), details);
    for (const detail of details) groups.set(detail, [...(groups.get(detail) ?? []), after.name]);
  }
  return [...groups].map(([detail, names]) => ({
    subject: 'subscriptions',
    action: 'changed',
    name: names.length === 1 ? (names[0] ?? '') : `${names.length} subscriptions`,
    details: [names.length === 1 ? detail : `${detail} (${abbreviate(names)})`],
  }));
}

function filterWords(s: PlannedSubscription): string | undefined {
  if (s.filter === undefined) return undefined;
  return 'equals' in s.filter ? `${s.filter.attribute} = ${s.filter.equals}` : `no ${s.filter.attribute}`;
}

function abbreviate(names: readonly string[]): string {
  return names.length <= 3 ? names.join(', ') : `${names.slice(0, 3).join(', ')}, … ${names.length - 3} more`;
}

function diffSimulation(base: ResolvedPipeline, head: ResolvedPipeline): PipelineChange[] {
  const details: string[] = [];
  const types = [...new Set([...Object.keys(base.simulation.entities), ...Object.keys(head.simulation.entities)])].sort();
  for (const type of types) changed(`entities.${type}`, base.simulation.entities[type], head.simulation.entities[type], details);
  const behaviour = (p: ResolvedPipeline, name?: string): string => {
    const b = name === undefined ? p.simulation.defaults : (p.simulation.processors.get(name) ?? p.simulation.defaults);
    return `latency ${b.latencyMs[0]}–${b.latencyMs[1]} ms, failure ${b.failureRate}, no data ${b.noDataRate}, duplicates ${b.duplicateRate}`;
  };
  changed('defaults', behaviour(base), behaviour(head), details);
  const named = [...new Set([...base.simulation.processors.keys(), ...head.simulation.processors.keys()])].sort();
  for (const name of named)
    if (base.simulation.processors.has(name) && head.simulation.processors.has(name)) changed(name, behaviour(base, name), behaviour(head, name), details);
  return details.length === 0 ? [] : [{ subject: 'simulate', action: 'changed', name: 'simulate', details }];
}

function formatMs(ms: number): string {
  if (ms % 86_400_000 === 0) return `${ms / 86_400_000}d`;
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  return `${ms / 1000}s`;
}
