import type { ResolvedPipeline } from '../config/resolved-pipeline.ts';
import { nodeKey, type PipelineGraph } from './pipeline-graph.ts';
import { reachableFrom } from './queries.ts';

/**
 * Names of the phases whose work flows, through barriers and coordinators, into a processor of `phase`
 * before it starts: the phases a processor of `phase` may wait for. `phase` itself is not included.
 */
export function upstreamPhasesOf(pipelineGraph: PipelineGraph, phase: string): Set<string> {
  const { pipeline } = pipelineGraph;
  const targets = new Set(processorsOf(pipeline, phase).map((name) => nodeKey('processor', name)));
  const upstream = new Set<string>();
  for (const other of pipeline.phases) {
    if (other.name === phase) continue;
    const reached = reachableFrom(
      pipelineGraph,
      other.processors.map((name) => nodeKey('processor', name)),
      ['flows'],
    );
    if ([...targets].some((key) => reached.has(key))) upstream.add(other.name);
  }
  return upstream;
}

function processorsOf(pipeline: ResolvedPipeline, phase: string): readonly string[] {
  return pipeline.phases.find((p) => p.name === phase)?.processors ?? [];
}
