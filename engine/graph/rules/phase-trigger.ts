import type { Finding } from '../../config/diagnostic.ts';
import { findingOf, type GraphRule } from '../graph-rule.ts';

/**
 * Each phase says what starts it: `triggered_by` a topic, or `entry` (started outside Baton) — exactly
 * one of them — and a pipeline needs at least one entry. Processors with same-phase dependencies need a
 * trigger topic to receive their dependency trigger on. Prevents #15 (nothing ever starts).
 */
export const phaseTrigger: GraphRule = {
  code: 'graph/phase-trigger',
  severity: 'error',
  prevents: [15],
  check({ pipeline }) {
    const findings: Finding[] = [];
    for (const phase of pipeline.phases) {
      if (phase.entry !== undefined && phase.triggeredBy !== undefined) {
        findings.push(
          findingOf(
            this,
            phase.triggeredBy.path,
            `phase "${phase.name}" has both entry and triggered_by; it is started one way`,
            'keep `triggered_by` for a topic-driven phase, `entry` for one started outside Baton',
          ),
        );
      } else if (phase.entry === undefined && phase.triggeredBy === undefined) {
        findings.push(
          findingOf(
            this,
            phase.path,
            `phase "${phase.name}" has neither triggered_by nor entry, so nothing starts it`,
            'add `triggered_by: <topic>` or `entry: <what starts it>`',
          ),
        );
      } else if (phase.triggeredBy === undefined) {
        for (const p of pipeline.processors.filter((p) => p.phase === phase.name && p.dependencyBarrier !== undefined)) {
          findings.push(
            findingOf(
              this,
              [...p.path.slice(0, -1), 'depends_on'],
              `processor "${p.name}" waits for processors of its own phase, but entry phase "${phase.name}" has no trigger topic to start it on`,
              'give the phase a `triggered_by` topic',
            ),
          );
        }
      }
    }
    if (pipeline.phases.length > 0 && pipeline.phases.every((p) => p.entry === undefined) && pipeline.topics.every((t) => t.externalPublishers === undefined)) {
      findings.push(
        findingOf(
          this,
          ['phases'],
          'no phase is an entry and no topic has external publishers, so nothing ever starts the pipeline',
          'mark the first phase with `entry: <what starts it>`',
        ),
      );
    }
    return findings;
  },
};
