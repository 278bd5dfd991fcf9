import { Graphviz } from '@hpcc-js/wasm-graphviz';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { buildDiagramModel, LIST_MEMBERS_UP_TO } from '../../../generators/diagram-model.ts';
import { generateDot } from '../../../generators/dot.ts';
import { fileOf, fixturePath, generated, NBA_PIPELINE } from './generate-fixture.ts';
import { widePipeline } from './wide-pipeline.ts';

describe('the NBA diagram', () => {
  let mmd = '';
  let dot = '';
  let svg = '';
  let architecture = '';
  beforeAll(async () => {
    const { files } = await generated(NBA_PIPELINE);
    mmd = fileOf(files, 'diagram.mmd');
    dot = fileOf(files, 'diagram.dot');
    svg = fileOf(files, 'diagram.svg');
    architecture = fileOf(files, 'ARCHITECTURE.md');
  });

  it('draws each phase as a subgraph and each barrier as a hexagon labelled with its threshold in words', () => {
    for (const phase of ['scrapers', 'raw', 'analytics', 'precompute', 'predictions'])
      expect(mmd).toMatch(new RegExp(`subgraph phase_${phase} \\["${phase} \\(\\d+\\)"\\]`));
    expect(mmd).toMatch(/barrier_phase2_to_phase3\{\{"phase2-to-phase3<br\/>all 21"\}\}/);
    expect(mmd).toContain('overnight: critical (2) + 60% of 5');
    expect(mmd).toContain('tiers 5→4@1h→3@2h→any@4h');
  });

  it('hands the 21 raw processors off with one edge, not 21', () => {
    const handOffs = mmd.split('\n').filter((line) => line.includes('|"nba-phase2-raw-complete"|'));
    expect(handOffs).toEqual(['  bundle_raw -->|"nba-phase2-raw-complete"| barrier_phase2_to_phase3']);
    expect(dot.match(/-> "barrier:phase2-to-phase3" \[label=/g)).toHaveLength(1);
  });

  it('starts a whole phase with one edge to its cluster when every member is triggered', () => {
    expect(mmd).toContain('barrier_phase2_to_phase3 -->|"nba-phase3-trigger"| phase_analytics');
    expect(dot).toMatch(/"barrier:phase2-to-phase3" -> "processor:[a-z_]+" \[label=" nba-phase3-trigger ", lhead="cluster_phase:analytics"/);
  });

  it('draws dead-letter paths dashed and names topics on edges', () => {
    expect(mmd).toMatch(/bundle_raw -\.-> dlq_nba_phase1_scrapers_complete_dlq/);
    expect(mmd).toMatch(/linkStyle [\d,]+ stroke:#b03a2e,stroke-dasharray:5 5/);
    expect(dot).toMatch(/-> "dlq:nba-phase2-raw-complete-dlq" \[style=dashed/);
  });

  it('renders to an SVG that shows every phase, barrier and topic', () => {
    expect(svg).toMatch(/^<\?xml/);
    expect(svg).toContain('</svg>');
    for (const text of ['raw (21)', 'phase3&#45;to&#45;phase4', 'nba&#45;phase4&#45;precompute&#45;complete', 'prediction&#45;coordinator'])
      expect(svg).toContain(text);
  });

  it('embeds the Mermaid source in ARCHITECTURE.md so GitHub renders it', () => {
    expect(architecture).toContain(`\`\`\`mermaid\n${mmd.trimEnd()}\n\`\`\``);
  });
});

describe('the hostile diagram', () => {
  let mmd = '';
  let dot = '';
  let svg = '';
  beforeAll(async () => {
    const { files } = await generated(fixturePath('hostile/pipeline.yaml'));
    mmd = fileOf(files, 'diagram.mmd');
    dot = fileOf(files, 'diagram.dot');
    svg = fileOf(files, 'diagram.svg');
  });

  it('keeps every Mermaid label on one line with no raw quote or backtick inside', () => {
    const body = mmd.split('---\n')[2] ?? '';
    for (const line of body.split('\n').filter((l) => l.includes('"'))) {
      const labels = [...line.matchAll(/"([^"]*)"/g)].map((m) => m[1] ?? '');
      expect(labels.length, line).toBeGreaterThan(0);
      for (const label of labels) expect(label, line).not.toMatch(/[`]/);
      expect(line.replace(/"[^"]*"/g, ''), line).not.toContain('"');
    }
    expect(mmd).toContain('cron says #quot;go#quot; $(date) #96;date#96; ${HOME}');
  });

  it('writes a YAML front matter that parses', () => {
    const front = mmd.split('---\n')[1] ?? '';
    expect(parseYaml(front)).toEqual({ title: 'hostile' });
  });

  it('writes DOT that Graphviz accepts, with user text only in labels and tooltips', async () => {
    const graphviz = await Graphviz.load();
    expect(() => graphviz.dot(dot, 'svg')).not.toThrow();
    expect(svg).not.toContain('<script>');
    expect(svg).toContain('a &#39;single&#39; &quot;double&quot; &lt;script&gt;alert(1)&lt;/script&gt;');
  });
});

describe('the diagram of a wide pipeline', () => {
  it(`counts the processors of a phase larger than ${LIST_MEMBERS_UP_TO} instead of naming each, so Graphviz lays out one short node per phase`, async () => {
    const result = widePipeline(5 * (LIST_MEMBERS_UP_TO + 1));
    expect(result.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    const diagram = buildDiagramModel(result);
    const bundles = diagram.clusters.flatMap((c) => c.nodes).filter((n) => n.kind === 'bundle');
    expect(bundles.map((b) => [b.title, b.lines])).toEqual(Array(5).fill([`${LIST_MEMBERS_UP_TO + 1} processors`, ['named in docs/processors.md']]));
    const dot = generateDot(diagram);
    expect(dot).not.toContain('p1_proc_0');
    const svg = (await Graphviz.load()).dot(dot, 'svg');
    expect(svg).toContain('named in docs/processors.md');
  });

  it(`still names every member of a phase of ${LIST_MEMBERS_UP_TO}`, () => {
    const diagram = buildDiagramModel(widePipeline(5 * LIST_MEMBERS_UP_TO));
    const bundle = diagram.clusters[0]?.nodes.find((n) => n.kind === 'bundle');
    expect(bundle?.lines).toHaveLength(LIST_MEMBERS_UP_TO);
    expect(bundle?.lines[0]).toBe('p1_proc_0');
  });
});
