import { findingOf, type GraphRule } from '../graph-rule.ts';
import { componentPublishersOf, hasSubscriber } from '../queries.ts';

/**
 * A barrier or coordinator that publishes to a topic nothing reads does its work for nobody: the seed's
 * orchestrator published its trigger to a topic with no subscriber, and nobody noticed for weeks. An
 * error, unless the topic says who reads it outside the pipeline with `external_consumers`. Topics only
 * processors publish to are `graph/topic-no-subscriber`'s (a warning). Prevents #3.
 */
export const componentTopicNoSubscriber: GraphRule = {
  code: 'graph/component-topic-no-subscriber',
  severity: 'error',
  prevents: [3],
  skipAfter: ['graph/duplicate-name', 'graph/unknown-topic', 'graph/unknown-processor', 'graph/unknown-phase', 'graph/phase-trigger'],
  check(graph) {
    return graph.pipeline.topics
      .filter((t) => t.externalConsumers === undefined && !hasSubscriber(graph, t.name))
      .flatMap((t) => {
        const components = componentPublishersOf(graph, t.name);
        if (components.length === 0) return [];
        return [
          findingOf(
            this,
            t.path,
            `${components.join(', ')} publish${components.length === 1 ? 'es' : ''} to topic "${t.name}", which nothing subscribes to; ${components.length === 1 ? 'its' : 'their'} output is dropped`,
            'subscribe a phase, barrier or coordinator to it, or state who reads it outside the pipeline with `external_consumers`',
          ),
        ];
      });
  },
};
