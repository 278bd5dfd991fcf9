import type { DeadlineTier, ResolvedBarrier, ResolvedCoordinator, Threshold } from '../config/resolved-pipeline.ts';

/**
 * Thresholds and barriers in words, for the CLI summary, the diagram and the docs:
 * "all 21", "4 of 5", "critical (2) + 60% of 5", "tiers 5→4@1h→3@2h→any@4h".
 */
export function describeThreshold(threshold: Threshold, expected: number): string {
  const required = threshold.required.length;
  switch (threshold.kind) {
    case 'all':
      return `all ${expected}`;
    case 'count':
      return required > 0 ? `critical (${required}) + ${threshold.count ?? 0} of ${expected}` : `${threshold.count ?? 0} of ${expected}`;
    case 'quorum': {
      const percent = `${Math.round((threshold.quorum ?? 0) * 100)}%`;
      return required > 0 ? `critical (${required}) + ${percent} of ${expected}` : `${percent} of ${expected}`;
    }
    case 'required':
      return `critical (${required}) of ${expected}`;
  }
}

/**
 * The deadline ladder: `tiers 5→4@1h→3@2h→any@4h` (the first number is the normal threshold). With
 * required members, a tier that fires without them is marked `any@4h without required`.
 */
export function describeDeadlines(barrier: ResolvedBarrier): string | undefined {
  if (barrier.deadlines.length === 0) return undefined;
  const start = barrier.threshold.kind === 'all' ? String(barrier.members.length) : describeThreshold(barrier.threshold, barrier.members.length);
  const marked = requiredMembers(barrier).length > 0;
  const tiers = barrier.deadlines.map((t) => `${t.minMembers === 1 ? 'any' : t.minMembers}@${t.after}${marked && t.ignoreRequired ? ' without required' : ''}`);
  return `tiers ${[start, ...tiers].join('→')}`;
}

/** `tiers wait for payments` when a deadline tier waits for the threshold's required members; else undefined. */
export function describeTierWait(barrier: ResolvedBarrier): string | undefined {
  const required = requiredMembers(barrier);
  if (required.length === 0 || !barrier.deadlines.some((t) => !t.ignoreRequired)) return undefined;
  return `tiers wait for ${required.join(', ')}`;
}

/** What a deadline tier needs besides its minimum, for the barrier docs: `, every required member (payments)`. */
export function describeTierRequirement(barrier: ResolvedBarrier, tier: DeadlineTier): string {
  const required = requiredMembers(barrier);
  if (required.length === 0) return '';
  return tier.ignoreRequired
    ? `, with or without the required members (${required.join(', ')})`
    : `, every required member (${required.join(', ')}) among them`;
}

/** Required members of the barrier's threshold and of every mode profile's, each once. */
function requiredMembers(barrier: ResolvedBarrier): string[] {
  const thresholds = [barrier.threshold, ...(barrier.modes?.profiles.map((p) => p.threshold) ?? [])];
  return [...new Set(thresholds.flatMap((t) => t.required.map((r) => r.name)))];
}

/** The barrier's whole firing rule in words. */
export function describeBarrier(barrier: ResolvedBarrier): string {
  const parts: string[] = [];
  if (barrier.modes) {
    parts.push(
      barrier.modes.profiles
        .map((profile) => {
          const expected = profile.expect?.length ?? barrier.members.length;
          const names = profile.expect && profile.expect.length <= 2 ? ` (${profile.expect.map((r) => r.name).join(', ')})` : '';
          return `${profile.name}: ${describeThreshold(profile.threshold, expected)}${names}`;
        })
        .join('; '),
    );
  } else {
    parts.push(describeThreshold(barrier.threshold, barrier.members.length));
  }
  const deadlines = describeDeadlines(barrier);
  if (deadlines) parts.push(deadlines);
  const wait = describeTierWait(barrier);
  if (wait) parts.push(wait);
  if (barrier.aggregateEntities) parts.push('aggregates entities_changed');
  return parts.join('; ');
}

/** The coordinator's completion rule in words. */
export function describeCoordinator(coordinator: ResolvedCoordinator): string {
  const stall = coordinator.stall
    ? `, or ≥${Math.round(coordinator.stall.minFraction * 100)}% counted after ${coordinator.stall.noProgressFor} without progress`
    : '';
  return `one work message per ${coordinator.entityType.replace(/s$/, '')}; done when every one reported (failures named)${stall}; second batch: ${coordinator.onActiveBatch}`;
}
