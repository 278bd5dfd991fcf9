import type { EdgeKind, PipelineGraph } from './pipeline-graph.ts';
import { nodeKey } from './pipeline-graph.ts';

/** Names of the components that publish to `topic`. */
export function publishersOf({ graph }: PipelineGraph, topic: string): string[] {
  const key = nodeKey('topic', topic);
  if (!graph.hasNode(key)) return [];
  return graph.filterInEdges(key, (_e, attributes) => attributes.kind === 'publishes').map((edge) => graph.getNodeAttribute(graph.source(edge), 'name'));
}

/** The barriers and coordinators that publish to `topic`, each once, as `barrier "name"`. */
export function componentPublishersOf({ graph }: PipelineGraph, topic: string): string[] {
  const key = nodeKey('topic', topic);
  if (!graph.hasNode(key)) return [];
  const names = graph
    .filterInEdges(key, (_e, attributes) => attributes.kind === 'publishes')
    .map((edge) => graph.source(edge))
    .filter((source) => ['barrier', 'coordinator'].includes(graph.getNodeAttribute(source, 'kind')))
    .map((source) => `${graph.getNodeAttribute(source, 'kind')} "${graph.getNodeAttribute(source, 'name')}"`);
  return [...new Set(names)];
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
