import type { LoadResult } from '../engine/config/load-pipeline.ts';
import { describeBarrier, describeCoordinator } from '../engine/graph/describe.ts';

/**
 * The picture both diagram outputs (Mermaid, DOT) draw, decided once: phases as clusters, large
 * phases bundled into one node, and parallel edges merged so a 21-member phase hands off with one
 * edge, not 21. Edges are work flows (labelled with their topic) and dashed dead-letter paths.
 */

/** Phases with more processors than this are drawn as one node listing its members. */
export const BUNDLE_ABOVE = 6;

/**
 * A bundle of more processors than this names none of them, only how many: a phase of thousands would
 * make a node thousands of lines tall, which Graphviz lays out slowly and nobody reads. The names are
 * in docs/processors.md.
 */
export const LIST_MEMBERS_UP_TO = 60;

export type DiagramNodeKind = 'processor' | 'bundle' | 'barrier' | 'coordinator' | 'entry' | 'external' | 'dlq';

export interface DiagramNode {
  /** Stable id, unique across the diagram (`processor:name`, `barrier:name`, …). */
  readonly id: string;
  readonly kind: DiagramNodeKind;
  /** First line, in bold where the format allows. */
  readonly title: string;
  /** Further lines (threshold in words, rule, member names). */
  readonly lines: readonly string[];
  /** Free text (a description) for hover. */
  readonly tooltip: string;
}

export interface DiagramCluster {
  readonly id: string;
  readonly title: string;
  readonly tooltip: string;
  readonly nodes: readonly DiagramNode[];
}

export interface DiagramEdge {
  readonly from: string;
  readonly to: string;
  readonly label: string;
  readonly style: 'flow' | 'return' | 'dead-letter';
  /** Draw from / to the whole cluster (every member of the phase takes part). */
  readonly fromCluster: string | undefined;
  readonly toCluster: string | undefined;
}

export interface DiagramModel {
  readonly title: string;
  readonly description: string;
  readonly hash: string;
  readonly clusters: readonly DiagramCluster[];
  /** Nodes outside every phase: phase barriers, entry points, external consumers, dead-letter topics. */
  readonly nodes: readonly DiagramNode[];
  readonly edges: readonly DiagramEdge[];
  /** Drawn members of each cluster an edge can start or end at. */
  readonly clusterMembers: ReadonlyMap<string, readonly string[]>;
}

const id = (kind: string, name: string): string => `${kind}:${name}`;

/** Builds the diagram from the graph; throws when the pipeline did not load. */
export function buildDiagramModel(result: LoadResult): DiagramModel {
  const { pipeline, graph } = result;
  if (!pipeline || !graph) throw new Error(`${result.file} did not load; fix its diagnostics before generating`);
  const g = graph.graph;
  const processors = new Map(pipeline.processors.map((p) => [p.name, p]));

  // Where each component is drawn, and which phase cluster it belongs to.
  const drawnAs = new Map<string, string>();
  const clusterOf = new Map<string, string>();
  const clusterMembers = new Map<string, string[]>();
  const clusters: { id: string; title: string; tooltip: string; nodes: DiagramNode[] }[] = [];
  const outside: DiagramNode[] = [];
  for (const phase of pipeline.phases) {
    const cluster = {
      id: id('phase', phase.name),
      title: `${phase.name} (${phase.processors.length})`,
      tooltip: phase.description,
      nodes: [] as DiagramNode[],
    };
    clusters.push(cluster);
    const bundled = phase.processors.length > BUNDLE_ABOVE;
    if (bundled) {
      const bundle = id('bundle', phase.name);
      cluster.nodes.push({
        id: bundle,
        kind: 'bundle',
        title: `${phase.processors.length.toLocaleString('en-US')} processors`,
        lines: phase.processors.length > LIST_MEMBERS_UP_TO ? ['named in docs/processors.md'] : [...phase.processors],
        tooltip: phase.description,
      });
      for (const p of phase.processors) drawnAs.set(id('processor', p), bundle);
      clusterMembers.set(cluster.id, [bundle]);
      clusterOf.set(bundle, cluster.id);
    } else {
      for (const p of phase.processors) {
        const processor = processors.get(p);
        cluster.nodes.push({ id: id('processor', p), kind: 'processor', title: p, lines: [], tooltip: processor?.description ?? '' });
        drawnAs.set(id('processor', p), id('processor', p));
        clusterOf.set(id('processor', p), cluster.id);
      }
      clusterMembers.set(
        cluster.id,
        phase.processors.map((p) => id('processor', p)),
      );
    }
  }
  const clusterById = new Map(clusters.map((c) => [c.id, c]));
  for (const barrier of pipeline.barriers) {
    const node: DiagramNode = {
      id: id('barrier', barrier.name),
      kind: 'barrier',
      title: barrier.name,
      lines: describeBarrier(barrier).split('; '),
      tooltip: barrier.description,
    };
    drawnAs.set(node.id, node.id);
    // A dependency barrier sits inside the phase of the processor it starts.
    const home = barrier.target === undefined ? undefined : processors.get(barrier.target)?.phase;
    if (home !== undefined && clusterById.has(id('phase', home))) clusterById.get(id('phase', home))?.nodes.push(node);
    else outside.push(node);
  }
  for (const coordinator of pipeline.coordinators) {
    const node: DiagramNode = {
      id: id('coordinator', coordinator.name),
      kind: 'coordinator',
      title: coordinator.name,
      lines: describeCoordinator(coordinator).split('; '),
      tooltip: coordinator.description,
    };
    drawnAs.set(node.id, node.id);
    const cluster = clusterById.get(id('phase', coordinator.phase.name));
    if (cluster) cluster.nodes.push(node);
    else outside.push(node);
  }

  const raw: { from: string; to: string; label: string; style: DiagramEdge['style'] }[] = [];
  g.forEachEdge((_e, a, source, target) => {
    if (a.kind !== 'flows' && a.kind !== 'returns') return;
    const from = drawnAs.get(source);
    const to = drawnAs.get(target);
    if (from !== undefined && to !== undefined) raw.push({ from, to, label: a.topic ?? '', style: a.kind === 'flows' ? 'flow' : 'return' });
  });
  for (const phase of pipeline.phases) {
    if (phase.entry === undefined) continue;
    const entry: DiagramNode = { id: id('entry', phase.name), kind: 'entry', title: 'start', lines: [phase.entry], tooltip: phase.entry };
    outside.push(entry);
    for (const p of phase.processors) raw.push({ from: entry.id, to: drawnAs.get(id('processor', p)) ?? '', label: '', style: 'flow' });
  }
  for (const topic of pipeline.topics) {
    if (topic.externalConsumers !== undefined) {
      const external: DiagramNode = {
        id: id('external', topic.name),
        kind: 'external',
        title: 'outside the pipeline',
        lines: [topic.externalConsumers],
        tooltip: topic.externalConsumers,
      };
      outside.push(external);
      g.forEachInEdge(id('topic', topic.name), (_e, a, source) => {
        const from = drawnAs.get(source);
        if (a.kind === 'publishes' && from !== undefined) raw.push({ from, to: external.id, label: topic.name, style: 'flow' });
      });
    }
    if (topic.externalPublishers !== undefined) {
      const external: DiagramNode = {
        id: id('external-in', topic.name),
        kind: 'external',
        title: 'outside the pipeline',
        lines: [topic.externalPublishers],
        tooltip: topic.externalPublishers,
      };
      outside.push(external);
      g.forEachOutEdge(id('topic', topic.name), (_e, a, sub) => {
        if (a.kind !== 'delivers') return;
        for (const consumer of g.outNeighbors(sub)) {
          const to = drawnAs.get(consumer);
          if (to !== undefined) raw.push({ from: external.id, to, label: topic.name, style: 'flow' });
        }
      });
    }
  }
  g.forEachNode((key, a) => {
    if (a.kind !== 'dead-letter-topic' || g.inDegree(key) === 0) return;
    outside.push({ id: id('dlq', a.name), kind: 'dlq', title: a.name, lines: [], tooltip: `dead letters of ${a.name.replace(/-dlq$/, '')}` });
    for (const sub of g.inNeighbors(key)) {
      for (const consumer of g.outNeighbors(sub)) {
        const from = drawnAs.get(consumer);
        if (from !== undefined) raw.push({ from, to: id('dlq', a.name), label: '', style: 'dead-letter' });
      }
    }
  });

  return {
    title: pipeline.name,
    description: pipeline.description,
    hash: result.hash ?? '',
    clusters,
    nodes: outside,
    edges: bundleEdges(raw, clusterMembers, clusterOf),
    clusterMembers,
  };
}

/** Merges duplicate edges, then replaces edges that reach every member of a cluster with one cluster edge. */
function bundleEdges(
  raw: readonly { from: string; to: string; label: string; style: DiagramEdge['style'] }[],
  clusterMembers: ReadonlyMap<string, readonly string[]>,
  clusterOf: ReadonlyMap<string, string>,
): DiagramEdge[] {
  const distinct = [...new Map(raw.filter((e) => e.from !== e.to).map((e) => [`${e.from}|${e.to}|${e.label}|${e.style}`, e])).values()];
  const edges: DiagramEdge[] = [];
  const done = new Set<(typeof distinct)[number]>();
  const covers = (cluster: string, ends: Set<string>): boolean => {
    const members = clusterMembers.get(cluster) ?? [];
    return members.length > 1 && members.every((m) => ends.has(m));
  };
  // One end fixed, the other end spread over a whole cluster → one edge to/from the cluster.
  for (const side of ['to', 'from'] as const) {
    const other = side === 'to' ? 'from' : 'to';
    const groups = new Map<string, typeof distinct>();
    for (const e of distinct) {
      if (done.has(e)) continue;
      const cluster = clusterOf.get(e[side]);
      if (cluster === undefined) continue;
      const key = `${e[other]}|${cluster}|${e.label}|${e.style}`;
      const group = groups.get(key);
      if (group === undefined) groups.set(key, [e]);
      else group.push(e);
    }
    for (const group of groups.values()) {
      const first = group[0];
      if (first === undefined) continue;
      const cluster = clusterOf.get(first[side]) ?? '';
      if (!covers(cluster, new Set(group.map((e) => e[side])))) continue;
      for (const e of group) done.add(e);
      edges.push({
        ...first,
        fromCluster: side === 'from' ? cluster : undefined,
        toCluster: side === 'to' ? cluster : undefined,
      });
    }
  }
  for (const e of distinct) if (!done.has(e)) edges.push({ ...e, fromCluster: undefined, toCluster: undefined });
  return edges.sort((a, b) => {
    const ka = `${a.style}|${a.fromCluster ?? a.from}|${a.toCluster ?? a.to}|${a.label}`;
    const kb = `${b.style}|${b.fromCluster ?? b.from}|${b.toCluster ?? b.to}|${b.label}`;
    return ka < kb ? -1 : ka > kb ? 1 : 0;
  });
}
