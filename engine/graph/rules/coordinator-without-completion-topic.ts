import { findingOf, type GraphRule } from '../graph-rule.ts';

/** A coordinator must announce when its batch is done, or everything downstream waits. Prevents #16. */
export const coordinatorWithoutCompletionTopic: GraphRule = {
  code: 'graph/coordinator-without-completion-topic',
  severity: 'error',
  prevents: [16],
  check({ pipeline }) {
    return pipeline.coordinators
      .filter((c) => c.publishes === undefined)
      .map((c) =>
        findingOf(this, c.path, `coordinator "${c.name}" has no completion topic, so nobody learns when a batch is done`, 'add `publishes: <topic>`'),
      );
  },
};
