import type { ResolvedPipeline } from '../config/resolved-pipeline.ts';
import { nodeKey, type PipelineGraph } from './pipeline-graph.ts';
import { reachableFrom } from './queries.ts';

/**
 * Names of the phases whose work flows, through barriers and coordinators, into a processor of `phase`
 * before it starts: the phases a processor of `phase` may wait for. `phase` itself is not included.
 */
export function upstreamPhasesOf(pipelineGraph: PipelineGraph, phase: string): ReadonlySet<string> {
  // Asked per dependency by more than one rule; each answer walks the graph once per phase, so it is kept per graph.
  let known = upstreamByGraph.get(pipelineGraph);
  if (known === undefined) upstreamByGraph.set(pipelineGraph, (known = new Map<string, ReadonlySet<string>>()));
  const answer = known.get(phase) ?? computeUpstream(pipelineGraph, phase);
  known.set(phase, answer);
  return answer;
}

const upstreamByGraph = new WeakMap<PipelineGraph, Map<string, ReadonlySet<string>>>();

function computeUpstream(pipelineGraph: PipelineGraph, phase: string): ReadonlySet<string> {
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
