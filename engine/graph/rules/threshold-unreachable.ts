import type { Finding } from '../../config/diagnostic.ts';
import type { Ref, ResolvedBarrier, Threshold } from '../../config/resolved-pipeline.ts';
import { findingOf, type GraphRule } from '../graph-rule.ts';

/**
 * A threshold that can never hold leaves every key waiting forever: a count above the expected
 * members, a required member that is not expected, a quorum outside (0, 1], count and quorum together,
 * a deadline tier needing more members than expected, a mode expecting a non-member. Prevents #8, #9.
 */
export const thresholdUnreachable: GraphRule = {
  code: 'graph/threshold-unreachable',
  severity: 'error',
  prevents: [8, 9],
  skipAfter: ['graph/duplicate-name', 'graph/unknown-topic', 'graph/unknown-processor', 'graph/unknown-phase'],
  check({ pipeline }) {
    const declared = new Set(pipeline.processors.map((p) => p.name));
    return pipeline.barriers.flatMap((barrier) => {
      const members = barrier.members.map((m) => m.name);
      const findings: Finding[] = [];
      const expectations = barrier.modes
        ? barrier.modes.profiles.map((profile) => {
            for (const ref of profile.expect ?? []) {
              if (declared.has(ref.name) && !members.includes(ref.name)) {
                findings.push(
                  findingOf(
                    this,
                    ref.path,
                    `mode "${profile.name}" expects "${ref.name}", which is not a member of barrier "${barrier.name}"`,
                    `members are: ${members.join(', ')}`,
                  ),
                );
              }
            }
            return { expected: (profile.expect ?? barrier.members).map((r) => r.name), threshold: profile.threshold, label: `mode "${profile.name}"` };
          })
        : [{ expected: members, threshold: barrier.threshold, label: 'threshold' }];
      for (const { expected, threshold, label } of expectations) findings.push(...checkThreshold(this, barrier, threshold, expected, declared, label));
      const least = Math.min(...expectations.map((e) => e.expected.length));
      for (const tier of barrier.deadlines) {
        if (tier.minMembers > least) {
          findings.push(
            findingOf(
              this,
              [...tier.path, 'min_members'],
              `deadline tier after ${tier.after} needs ${tier.minMembers} members, but only ${least} are expected`,
              `use at most ${least}`,
            ),
          );
        }
      }
      return findings;
    });
  },
};

function checkThreshold(
  rule: GraphRule,
  barrier: ResolvedBarrier,
  threshold: Threshold,
  expected: readonly string[],
  declared: Set<string>,
  label: string,
): Finding[] {
  const findings: Finding[] = [];
  const of = `barrier "${barrier.name}"`;
  if (threshold.count !== undefined && threshold.quorum !== undefined) {
    findings.push(
      findingOf(
        rule,
        threshold.path,
        `${label} of ${of} sets both count (${threshold.count}) and quorum (${threshold.quorum}); they contradict`,
        'keep one of them',
      ),
    );
  }
  if (threshold.count !== undefined && threshold.count > expected.length) {
    findings.push(
      findingOf(
        rule,
        [...threshold.path, 'count'],
        `${label} of ${of} needs ${threshold.count} members, but only ${expected.length} are expected`,
        `use a count from 1 to ${expected.length}, or "all"`,
      ),
    );
  }
  if (threshold.quorum !== undefined && !(threshold.quorum > 0 && threshold.quorum <= 1)) {
    findings.push(
      findingOf(rule, [...threshold.path, 'quorum'], `${label} of ${of} has quorum ${threshold.quorum}; a quorum is a fraction in (0, 1]`, 'write 60% as 0.6'),
    );
  }
  threshold.required.forEach((ref: Ref) => {
    if (declared.has(ref.name) && !expected.includes(ref.name)) {
      findings.push(
        findingOf(rule, ref.path, `${label} of ${of} requires "${ref.name}", which is not an expected member`, `expected members are: ${expected.join(', ')}`),
      );
    }
  });
  return findings;
}
