import type { DiagramModel, DiagramNode, DiagramNodeKind } from './diagram-model.ts';
import { mermaidId } from './escape.ts';
import { renderTemplate } from './render-template.ts';

/** `diagram.mmd`: a Mermaid flowchart of the diagram model (phases as subgraphs, dashed dead-letter paths). */
export function generateMermaid(diagram: DiagramModel): string {
  const ids = new Map<string, string>();
  const taken = new Set<string>();
  const idOf = (modelId: string): string => {
    const known = ids.get(modelId);
    if (known !== undefined) return known;
    const [kind = 'n', ...rest] = modelId.split(':');
    let candidate = mermaidId(kind.replace(/-/g, '_'), rest.join(':'));
    for (let n = 2; taken.has(candidate); n++) candidate = `${mermaidId(kind.replace(/-/g, '_'), rest.join(':'))}_${n}`;
    taken.add(candidate);
    ids.set(modelId, candidate);
    return candidate;
  };
  const node = (n: DiagramNode): object => ({ id: idOf(n.id), label: [n.title, ...lines(n)].join('\n'), ...SHAPES[n.kind] });
  const clusters = diagram.clusters.map((c) => ({ id: idOf(c.id), title: c.title, nodes: c.nodes.map(node) }));
  const nodes = diagram.nodes.map(node);
  const edges = diagram.edges.map((e) => ({
    from: idOf(e.fromCluster ?? e.from),
    to: idOf(e.toCluster ?? e.to),
    label: e.label,
    arrow: e.style === 'flow' ? '-->' : '-.->',
  }));
  const kinds = new Map<DiagramNodeKind, string[]>();
  for (const n of [...diagram.clusters.flatMap((c) => c.nodes), ...diagram.nodes]) {
    const list = kinds.get(n.kind);
    if (list === undefined) kinds.set(n.kind, [idOf(n.id)]);
    else list.push(idOf(n.id));
  }
  return renderTemplate('diagram-mmd', {
    title: diagram.title,
    hash: diagram.hash,
    clusters,
    nodes,
    edges,
    classes: [...kinds].map(([kind, list]) => ({ kind, ids: list.join(',') })),
    deadLetterLinks: diagram.edges.flatMap((e, i) => (e.style === 'dead-letter' ? [String(i)] : [])).join(','),
  });
}

/** Member lists are laid out three names to a line so a bundled phase stays compact. */
function lines(n: DiagramNode): string[] {
  if (n.kind !== 'bundle') return [...n.lines];
  const rows: string[] = [];
  for (let i = 0; i < n.lines.length; i += 3) rows.push(n.lines.slice(i, i + 3).join(' · '));
  return rows;
}

const SHAPES: Record<DiagramNodeKind, { open: string; close: string }> = {
  processor: { open: '[', close: ']' },
  bundle: { open: '[', close: ']' },
  barrier: { open: '{{', close: '}}' },
  coordinator: { open: '[[', close: ']]' },
  entry: { open: '([', close: '])' },
  external: { open: '[/', close: '/]' },
  dlq: { open: '[(', close: ')]' },
};
