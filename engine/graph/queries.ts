import type { EdgeKind, PipelineGraph } from './pipeline-graph.ts';
import { nodeKey } from './pipeline-graph.ts';

/** Names of the components that publish to `topic`. */
export function publishersOf({ graph }: PipelineGraph, topic: string): string[] {
  const key = nodeKey('topic', topic);
  if (!graph.hasNode(key)) return [];
  return graph.filterInEdges(key, (_e, attributes) => attributes.kind === 'publishes').map((edge) => graph.getNodeAttribute(graph.source(edge), 'name'));
}

/** Names of the components subscribed to `topic` (one per subscription). */
export function subscribersOf({ graph }: PipelineGraph, topic: string): string[] {
  const key = nodeKey('topic', topic);
  if (!graph.hasNode(key)) return [];
  return graph
    .filterOutEdges(key, (_e, attributes) => attributes.kind === 'delivers')
    .map((edge) => graph.getNodeAttribute(graph.target(edge), 'consumer') ?? '');
}

/** Node keys reachable from `start` over edges of the given kinds (breadth first, start included). */
export function reachableFrom({ graph }: PipelineGraph, start: readonly string[], kinds: readonly EdgeKind[]): Set<string> {
  const seen = new Set(start.filter((key) => graph.hasNode(key)));
  const queue = [...seen];
  for (let node = queue.shift(); node !== undefined; node = queue.shift()) {
    for (const edge of graph.outEdges(node)) {
      if (!kinds.includes(graph.getEdgeAttribute(edge, 'kind'))) continue;
      const next = graph.target(edge);
      if (!seen.has(next)) {
        seen.add(next);
        queue.push(next);
      }
    }
  }
  return seen;
}
