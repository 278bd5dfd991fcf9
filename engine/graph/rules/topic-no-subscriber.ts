import { findingOf, type GraphRule } from '../graph-rule.ts';
import { componentPublishersOf, hasSubscriber, publishersOf } from '../queries.ts';

/**
 * Messages on a topic nobody subscribes to vanish. A warning, because a processor's output topic is often
 * read outside the pipeline: say so with `external_consumers`. A topic a barrier or coordinator publishes
 * to is `graph/component-topic-no-subscriber`'s, an error. Prevents #3.
 */
export const topicNoSubscriber: GraphRule = {
  code: 'graph/topic-no-subscriber',
  severity: 'warning',
  prevents: [3],
  skipAfter: ['graph/duplicate-name', 'graph/unknown-topic', 'graph/unknown-processor', 'graph/unknown-phase', 'graph/phase-trigger'],
  check(graph) {
    return graph.pipeline.topics
      .filter((t) => t.externalConsumers === undefined && !hasSubscriber(graph, t.name))
      .filter((t) => componentPublishersOf(graph, t.name).length === 0)
      .map((t) => {
        const writers = publishersOf(graph, t.name);
        const who = writers.length > 0 ? ` (published by ${[...new Set(writers)].join(', ')})` : '';
        return findingOf(
          this,
          t.path,
          `nothing subscribes to topic "${t.name}"${who}; its messages are dropped`,
          'subscribe a phase, barrier or coordinator to it, or state `external_consumers`',
        );
      });
  },
};
