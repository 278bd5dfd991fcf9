import { findingOf, type GraphRule } from '../graph-rule.ts';

/** Turning a dead-letter topic off must be deliberate: say why. Prevents #17, #19. */
export const dlqDisabledWithoutReason: GraphRule = {
  code: 'graph/dlq-disabled-without-reason',
  severity: 'error',
  prevents: [17, 19],
  check({ pipeline }) {
    return pipeline.topics
      .filter((t) => !t.deadLetter.enabled && (t.deadLetter.reason === undefined || t.deadLetter.reason.trim() === ''))
      .map((t) =>
        findingOf(
          this,
          [...t.path, 'dead_letter', 'enabled'],
          `topic "${t.name}" disables its dead-letter topic without a reason; undeliverable messages would be retried forever or lost`,
          'add `reason: <why>` under dead_letter, or remove `enabled: false`',
        ),
      );
  },
};
