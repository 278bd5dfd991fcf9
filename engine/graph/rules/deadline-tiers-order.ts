import type { Finding } from '../../config/diagnostic.ts';
import { findingOf, type GraphRule } from '../graph-rule.ts';

/**
 * Deadline tiers read as a ladder: each later tier waits longer and asks for fewer members. A tier out
 * of order never matters (an earlier one always fires first), which usually means a typo. Prevents #9.
 */
export const deadlineTiersOrder: GraphRule = {
  code: 'graph/deadline-tiers-order',
  severity: 'warning',
  prevents: [9],
  check({ pipeline }) {
    const findings: Finding[] = [];
    for (const barrier of pipeline.barriers) {
      barrier.deadlines.forEach((tier, i) => {
        const previous = barrier.deadlines[i - 1];
        if (previous === undefined) return;
        if (tier.afterMs <= previous.afterMs) {
          findings.push(
            findingOf(
              this,
              [...tier.path, 'after'],
              `tier ${i + 1} (after ${tier.after}) does not come after tier ${i} (after ${previous.after})`,
              'list tiers from the shortest wait to the longest',
            ),
          );
        } else if (tier.minMembers >= previous.minMembers) {
          findings.push(
            findingOf(
              this,
              [...tier.path, 'min_members'],
              `tier ${i + 1} asks for ${tier.minMembers} members, no fewer than tier ${i} (${previous.minMembers}), so it can never fire first`,
              'later tiers should need fewer members',
            ),
          );
        }
      });
    }
    return findings;
  },
};
