import type { Finding } from '../../config/diagnostic.ts';
import { findingOf, type GraphRule } from '../graph-rule.ts';
import type { PipelineGraph } from '../pipeline-graph.ts';

/**
 * Work must flow one way: a cycle through topics, barriers and dependencies re-runs phases forever or
 * deadlocks them. Follows `flows` edges, which already respect barrier membership and dependency
 * targets; a coordinator's fan-in (`returns`) is not a cycle. Prevents #6 (duplicate runs).
 */
export const cycle: GraphRule = {
  code: 'graph/cycle',
  severity: 'error',
  prevents: [6],
  skipAfter: ['graph/duplicate-name', 'graph/unknown-topic', 'graph/unknown-processor', 'graph/unknown-phase'],
  check(pipelineGraph) {
    return findCycles(pipelineGraph).map((loop) => {
      const names = loop.map((key) => pipelineGraph.graph.getNodeAttribute(key, 'name'));
      const first = loop[0] ?? '';
      return findingOf(
        this,
        pathOfNode(pipelineGraph, first),
        `work flows in a cycle: ${[...names, names[0]].join(' → ')}`,
        'a processor cannot (even indirectly) trigger itself; break one dependency or topic',
      );
    });
  },
};

/** Every elementary cycle found by depth-first search, each reported once, starting at its smallest node key. */
function findCycles({ graph }: PipelineGraph): string[][] {
  // Who each component passes work to, collected in one pass over the edges (most nodes have none).
  const flowsTo = new Map<string, Set<string>>();
  graph.forEachEdge((_e, a, source, target) => {
    if (a.kind !== 'flows') return;
    const targets = flowsTo.get(source);
    if (targets === undefined) flowsTo.set(source, new Set([target]));
    else targets.add(target);
  });
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const found = new Map<string, string[]>();
  const visit = (node: string): void => {
    state.set(node, 'open');
    stack.push(node);
    const next = [...(flowsTo.get(node) ?? [])].sort();
    for (const target of next) {
      if (state.get(target) === 'open') {
        const loop = stack.slice(stack.indexOf(target));
        const start = loop.indexOf([...loop].sort()[0] ?? '');
        const rotated = [...loop.slice(start), ...loop.slice(0, start)];
        found.set(rotated.join('>'), rotated);
      } else if (!state.has(target)) visit(target);
    }
    stack.pop();
    state.set(node, 'done');
  };
  // A node that passes work nowhere closes no cycle, so only the others need a walk of their own.
  for (const node of [...flowsTo.keys()].sort()) if (!state.has(node)) visit(node);
  return [...found.values()];
}

function pathOfNode({ pipeline, graph }: PipelineGraph, key: string): Finding['path'] {
  const { kind, name } = graph.getNodeAttributes(key);
  if (kind === 'processor') return pipeline.processors.find((p) => p.name === name)?.path ?? [];
  if (kind === 'barrier') return pipeline.barriers.find((b) => b.name === name)?.path ?? [];
  if (kind === 'coordinator') return pipeline.coordinators.find((c) => c.name === name)?.path ?? [];
  return [];
}
