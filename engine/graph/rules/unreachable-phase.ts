import { findingOf, type GraphRule } from '../graph-rule.ts';
import { nodeKey } from '../pipeline-graph.ts';
import { reachableFrom } from '../queries.ts';

/**
 * Every phase must be reachable from an entry phase by the flow of work; otherwise it never runs.
 * Only checked when some phase is an entry (a pipeline with none is reported by `graph/phase-trigger`).
 * Prevents #25 (gaps nobody notices).
 */
export const unreachablePhase: GraphRule = {
  code: 'graph/unreachable-phase',
  severity: 'error',
  prevents: [25],
  skipAfter: ['graph/duplicate-name', 'graph/unknown-topic', 'graph/unknown-processor', 'graph/unknown-phase', 'graph/phase-trigger', 'graph/cycle'],
  check(pipelineGraph) {
    const { pipeline, graph } = pipelineGraph;
    const entryPhases = new Set(pipeline.phases.filter((phase) => phase.entry !== undefined).map((phase) => phase.name));
    const starts = pipeline.processors.filter((p) => entryPhases.has(p.phase)).map((p) => nodeKey('processor', p.name));
    const externallyFed = new Set(pipeline.topics.filter((t) => t.externalPublishers !== undefined).map((t) => t.name));
    for (const p of pipeline.processors) if (p.triggeredBy && externallyFed.has(p.triggeredBy.name)) starts.push(nodeKey('processor', p.name));
    if (starts.length === 0) return [];
    const reached = reachableFrom(pipelineGraph, starts, ['flows', 'returns']);
    return pipeline.phases
      .filter(
        (phase) =>
          phase.processors.length > 0 && !phase.processors.some((name) => reached.has(nodeKey('processor', name)) && graph.hasNode(nodeKey('processor', name))),
      )
      .map((phase) =>
        findingOf(
          this,
          phase.triggeredBy?.path ?? phase.path,
          `phase "${phase.name}" is never reached from an entry phase, so it never runs`,
          `trigger it from a topic that an upstream phase, barrier or coordinator publishes`,
        ),
      );
  },
};
