import { findingOf, type GraphRule } from '../graph-rule.ts';
import { hasPublisher } from '../queries.ts';

/**
 * A barrier must hear from every member: its input topic needs a publisher, and each member processor
 * must publish its completions to that topic, or the barrier can never fire. Prevents #5, #8.
 */
export const barrierInputNoPublisher: GraphRule = {
  code: 'graph/barrier-input-no-publisher',
  severity: 'error',
  prevents: [5, 8],
  skipAfter: ['graph/duplicate-name', 'graph/unknown-topic', 'graph/unknown-processor', 'graph/unknown-phase'],
  check(graph) {
    const { pipeline } = graph;
    const topics = new Map(pipeline.topics.map((t) => [t.name, t]));
    const processors = new Map(pipeline.processors.map((p) => [p.name, p]));
    return pipeline.barriers.flatMap((barrier) => {
      const topic = topics.get(barrier.listens.name);
      if (topic === undefined) return [];
      if (!hasPublisher(graph, barrier.listens.name) && topic.externalPublishers === undefined) {
        return [
          findingOf(
            this,
            barrier.listens.path,
            `barrier "${barrier.name}" listens on "${barrier.listens.name}", which nothing publishes to`,
            'listen on the topic its members publish to',
          ),
        ];
      }
      const phase = pipeline.phases.find((p) => p.name === barrier.membersPhase?.name);
      if (barrier.membersPhase && phase && phase.publishes.name !== barrier.listens.name) {
        return [
          findingOf(
            this,
            barrier.membersPhase.path,
            `members of phase "${phase.name}" publish to "${phase.publishes.name}", not to "${barrier.listens.name}" where barrier "${barrier.name}" listens; they can never report`,
            `listen on "${phase.publishes.name}"`,
          ),
        ];
      }
      // Members given as a phase publish where the phase publishes, checked above.
      if (barrier.membersPhase) return [];
      return barrier.members.flatMap((member) => {
        const processor = processors.get(member.name);
        if (processor === undefined || processor.publishes.name === barrier.listens.name) return [];
        return [
          findingOf(
            this,
            member.path,
            `member "${member.name}" publishes to "${processor.publishes.name}", not to "${barrier.listens.name}" where barrier "${barrier.name}" listens; it can never report`,
            `listen on "${processor.publishes.name}" or move the member to a phase that publishes "${barrier.listens.name}"`,
          ),
        ];
      });
    });
  },
};
