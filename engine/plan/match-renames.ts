import type { ResolvedBarrier, ResolvedPipeline, ResolvedProcessor, SubscriptionSettings } from '../config/resolved-pipeline.ts';

/** Old name → new name of every processor and barrier renamed between two pipelines. */
export interface Renames {
  readonly processors: ReadonlyMap<string, string>;
  readonly barriers: ReadonlyMap<string, string>;
}

/**
 * Which processors and barriers an edit renamed: those whose `renamed_from:` says so, then by shape —
 * exactly one removed and one added with the same phase, position within it, subscription settings
 * and number of dependencies (processors), or the same kind, topics and members after the processor
 * renames (barriers). A dependency barrier is renamed with its target. `renamed_from:` naming
 * nothing in the base is noted in `notes` and left an addition.
 */
export function matchRenames(base: ResolvedPipeline, head: ResolvedPipeline, notes: string[]): Renames {
  const processorRenames = pairRenames(
    base.processors,
    head.processors,
    (p) => p.renamedFrom?.name,
    (p, pipeline) => processorShape(p, pipeline),
    notes,
    'processor',
  );
  const mapMember = (name: string): string => processorRenames.get(name) ?? name;
  const barrierRenames = pairRenames(
    base.barriers,
    head.barriers,
    (b) => b.renamedFrom?.name ?? (b.target === undefined ? undefined : renamedTarget(b, processorRenames)),
    (b, _pipeline, side) => barrierShape(b, side === 'base' ? mapMember : (n) => n),
    notes,
    'barrier',
  );
  return { processors: processorRenames, barriers: barrierRenames };
}

/** A dependency barrier is named after its target: it is renamed when its target is. */
function renamedTarget(barrier: ResolvedBarrier, processorRenames: ReadonlyMap<string, string>): string | undefined {
  for (const [from, to] of processorRenames) if (to === barrier.target) return `${from}-dependencies`;
  return undefined;
}

function pairRenames<T extends { readonly name: string }>(
  base: readonly T[],
  head: readonly T[],
  declared: (item: T) => string | undefined,
  shape: (item: T, pipeline: readonly T[], side: 'base' | 'head') => string,
  notes: string[],
  what: string,
): Map<string, string> {
  const baseNames = new Set(base.map((b) => b.name));
  const headNames = new Set(head.map((h) => h.name));
  const renames = new Map<string, string>();
  for (const item of head) {
    const from = declared(item);
    if (from === undefined || baseNames.has(item.name)) continue;
    if (baseNames.has(from) && !headNames.has(from)) renames.set(from, item.name);
    else if (!baseNames.has(from)) notes.push(`${what} ${item.name}: renamed_from names "${from}", which the base does not declare; shown as added`);
  }
  const removed = base.filter((b) => !headNames.has(b.name) && !renames.has(b.name));
  const renamedTo = new Set(renames.values());
  const added = head.filter((h) => !baseNames.has(h.name) && !renamedTo.has(h.name));
  const byShape = (items: readonly T[], all: readonly T[], side: 'base' | 'head'): Map<string, T[]> => {
    const groups = new Map<string, T[]>();
    for (const item of items) groups.set(shape(item, all, side), [...(groups.get(shape(item, all, side)) ?? []), item]);
    return groups;
  };
  const removedShapes = byShape(removed, base, 'base');
  for (const [key, candidates] of byShape(added, head, 'head')) {
    const olds = removedShapes.get(key);
    // Only an unambiguous pair is a rename; anything else stays an addition and a removal.
    if (candidates.length === 1 && olds?.length === 1 && olds[0] !== undefined && candidates[0] !== undefined) renames.set(olds[0].name, candidates[0].name);
  }
  return renames;
}

const settingsKey = (s: SubscriptionSettings): string =>
  JSON.stringify([s.ackDeadlineSeconds, s.minBackoffSeconds, s.maxBackoffSeconds, s.deadLetterAfterAttempts, s.messageRetentionSeconds, s.delivery, s.invoker]);

function processorShape(p: ResolvedProcessor, all: readonly ResolvedProcessor[]): string {
  const position = positionsOf(all).get(p) ?? -1;
  return JSON.stringify([p.phase, position, settingsKey(p.subscription), p.dependsOn.length]);
}

const positions = new WeakMap<readonly ResolvedProcessor[], Map<ResolvedProcessor, number>>();

/** Each processor's index within its phase, computed once per pipeline. */
function positionsOf(all: readonly ResolvedProcessor[]): Map<ResolvedProcessor, number> {
  const known = positions.get(all);
  if (known !== undefined) return known;
  const next = new Map<string, number>();
  const map = new Map(all.map((p) => [p, next.set(p.phase, (next.get(p.phase) ?? -1) + 1).get(p.phase) ?? 0]));
  positions.set(all, map);
  return map;
}

function barrierShape(b: ResolvedBarrier, mapMember: (name: string) => string): string {
  return JSON.stringify([b.kind, b.listens.name, b.publishes.name, b.members.map((m) => mapMember(m.name)).sort(), b.membersPhase?.name]);
}
