import { findingOf, type GraphRule } from '../graph-rule.ts';
import { hasPublisher, subscribersOf } from '../queries.ts';

/**
 * A topic that something subscribes to but nothing publishes to starves its subscribers. Topics a
 * barrier listens on are reported by `graph/barrier-input-no-publisher` instead. Prevents #3, #5.
 */
export const topicNoPublisher: GraphRule = {
  code: 'graph/topic-no-publisher',
  severity: 'error',
  prevents: [3, 5],
  skipAfter: ['graph/duplicate-name', 'graph/unknown-topic', 'graph/unknown-processor', 'graph/unknown-phase'],
  check(graph) {
    const barrierInputs = new Set(graph.pipeline.barriers.map((b) => b.listens.name));
    return graph.pipeline.topics
      .filter((t) => t.externalPublishers === undefined && !barrierInputs.has(t.name) && !hasPublisher(graph, t.name))
      .map((t) => {
        const readers = subscribersOf(graph, t.name);
        const who = readers.length > 0 ? `; ${readers.join(', ')} would wait forever` : '';
        return findingOf(
          this,
          t.path,
          `nothing publishes to topic "${t.name}"${who}`,
          'make a phase, barrier or coordinator publish it, remove it, or state `external_publishers`',
        );
      });
  },
};
