import type { Finding } from '../../config/diagnostic.ts';
import { formatPath } from '../../config/diagnostic.ts';
import { findingOf, type GraphRule } from '../graph-rule.ts';

/**
 * Each case (`when`) may have one mode profile: the runtime takes the first profile of a case, so a
 * second one is never used, and its expectation and threshold are a promise the run does not keep.
 * Prevents #9.
 */
export const modeCaseDuplicated: GraphRule = {
  code: 'graph/mode-case-duplicated',
  severity: 'error',
  prevents: [9],
  check({ pipeline }) {
    const findings: Finding[] = [];
    for (const barrier of pipeline.barriers) {
      const firstOf = new Map<string, string>();
      for (const profile of barrier.modes?.profiles ?? []) {
        const first = firstOf.get(profile.when);
        if (first === undefined) {
          firstOf.set(profile.when, profile.name);
          continue;
        }
        findings.push(
          findingOf(
            this,
            [...profile.path, 'when'],
            `mode "${profile.name}" of barrier "${barrier.name}" has when: ${profile.when}, like mode "${first}" before it; only "${first}" is ever used`,
            `remove ${formatPath(profile.path)}, or merge it into "${first}"`,
          ),
        );
      }
    }
    return findings;
  },
};
