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
  const followed = new Set(kinds);
  const queue = [...seen];
  // An index, not shift(): the queue can hold every processor of the pipeline.
  for (let i = 0; i < queue.length; i++) {
    graph.forEachOutEdge(queue[i] as string, (_edge, attributes, _source, next) => {
      if (!followed.has(attributes.kind) || seen.has(next)) return;
      seen.add(next);
      queue.push(next);
    });
  }
  return seen;
}

/** Whether any subscription delivers `topic`. */
export function hasSubscriber({ graph }: PipelineGraph, topic: string): boolean {
  const key = nodeKey('topic', topic);
  return graph.hasNode(key) && graph.someOutEdge(key, (_e, attributes) => attributes.kind === 'delivers');
}

/** Whether any component publishes to `topic`. */
export function hasPublisher({ graph }: PipelineGraph, topic: string): boolean {
  const key = nodeKey('topic', topic);
  return graph.hasNode(key) && graph.someInEdge(key, (_e, attributes) => attributes.kind === 'publishes');
}
