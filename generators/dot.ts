import type { DiagramEdge, DiagramModel, DiagramNode, DiagramNodeKind } from './diagram-model.ts';
import { dotHtml, dotString } from './escape.ts';
import { renderTemplate } from './render-template.ts';

/** `diagram.dot`: the diagram model for Graphviz (phases as clusters, barriers as hexagons, dashed dead-letter paths). */
export function generateDot(diagram: DiagramModel): string {
  const node = (n: DiagramNode): object => ({ id: n.id, tooltip: n.tooltip || n.title, attrs: NODE_ATTRS[n.kind], label: htmlLabel(n) });
  return renderTemplate('diagram-dot', {
    title: diagram.title,
    hash: diagram.hash,
    heading: `${diagram.title} (hash ${diagram.hash})`,
    description: diagram.description || diagram.title,
    clusters: diagram.clusters.map((c) => ({ id: `cluster_${c.id}`, title: c.title, tooltip: c.tooltip || c.title, nodes: c.nodes.map(node) })),
    nodes: diagram.nodes.map(node),
    sameRank: deadLetterNeighbours(diagram),
    // Members that one edge starts together run side by side: rank them together.
    rows: [...new Set(diagram.edges.flatMap((e) => (e.toCluster === undefined ? [] : [e.toCluster])))].map((c) => diagram.clusterMembers.get(c) ?? []),
    edges: diagram.edges.flatMap((e) => [{ from: e.from, to: e.to, attrs: edgeAttrs(e) }, ...rankingEdges(e, diagram.clusterMembers)]),
  });
}

function htmlLabel(n: DiagramNode): string {
  if (n.kind === 'bundle') {
    const rows: string[] = [];
    for (let i = 0; i < n.lines.length; i += 3) {
      rows.push(
        `<tr>${n.lines
          .slice(i, i + 3)
          .map((name) => `<td align="left">${dotHtml(name)}</td>`)
          .join('')}</tr>`,
      );
    }
    return `<table border="0" cellborder="0" cellspacing="0" cellpadding="3"><tr><td colspan="3"><b>${dotHtml(n.title)}</b></td></tr>${rows.join('')}</table>`;
  }
  const title = n.kind === 'processor' || n.kind === 'dlq' ? dotHtml(n.title) : `<b>${dotHtml(n.title)}</b>`;
  return [title, ...n.lines.map((line) => `<font point-size="11">${dotHtml(line)}</font>`)].join('<br/>');
}

/** Each dead-letter topic is drawn beside its first consumer (its edges do not rank it). */
function deadLetterNeighbours(diagram: DiagramModel): [string, string][] {
  const placed = new Map<string, string>();
  for (const e of diagram.edges) if (e.style === 'dead-letter' && !placed.has(e.to)) placed.set(e.to, e.from);
  return [...placed].map(([dlq, consumer]) => [consumer, dlq]);
}

/** Invisible edges to every other member of a cluster an edge enters or leaves, so the members rank side by side. */
function rankingEdges(e: DiagramEdge, members: ReadonlyMap<string, readonly string[]>): { from: string; to: string; attrs: string }[] {
  const invisible = 'style=invis';
  const into =
    e.toCluster === undefined ? [] : (members.get(e.toCluster) ?? []).filter((m) => m !== e.to).map((m) => ({ from: e.from, to: m, attrs: invisible }));
  const outOf =
    e.fromCluster === undefined ? [] : (members.get(e.fromCluster) ?? []).filter((m) => m !== e.from).map((m) => ({ from: m, to: e.to, attrs: invisible }));
  return [...into, ...outOf];
}

function edgeAttrs(e: DiagramEdge): string {
  const attrs: string[] = [];
  if (e.label) attrs.push(`label=${dotString(` ${e.label} `)}`);
  if (e.fromCluster) attrs.push(`ltail=${dotString(`cluster_${e.fromCluster}`)}`);
  if (e.toCluster) attrs.push(`lhead=${dotString(`cluster_${e.toCluster}`)}`);
  if (e.style === 'return') attrs.push('style=dashed', 'color="#2e7d32"', 'fontcolor="#2e7d32"');
  if (e.style === 'dead-letter') attrs.push('style=dashed', 'color="#b03a2e"', 'arrowhead=empty', 'constraint=false');
  if (e.style === 'flow') attrs.push('penwidth=1.6');
  return attrs.join(', ');
}

const NODE_ATTRS: Record<DiagramNodeKind, string> = {
  processor: '',
  bundle: 'shape=box, ',
  barrier: 'shape=hexagon, fillcolor="#fff3cd", color="#b8860b", penwidth=2, ',
  coordinator: 'shape=box, peripheries=2, fillcolor="#e8f5e9", color="#2e7d32", ',
  entry: 'shape=oval, fillcolor="#f5f5f5", color="#777777", ',
  external: 'shape=parallelogram, fillcolor="#f5f5f5", color="#777777", ',
  dlq: 'shape=cylinder, style="dashed,filled", fillcolor="#fdecea", color="#b03a2e", fontsize=10, ',
};
