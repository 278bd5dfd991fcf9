import type { Finding } from '../config/diagnostic.ts';
import type { PipelineGraph } from './pipeline-graph.ts';
import { GRAPH_RULES } from './rules/index.ts';

/** Stage 5: runs every graph rule and returns all their findings. */
export function checkGraph(graph: PipelineGraph): Finding[] {
  return GRAPH_RULES.flatMap((rule) => rule.check(graph));
}
