// Data flow: each measure's figures → rows (value, baseline, ratio, target, ✓/✗) → the printed table, bench/results/latest.json, docs/benchmarks.md.

/** The measures `npm run bench` knows, in the order it runs them. */
export const MEASURES = ['fan-in', 'embedded', 'run', 'generate', 'validate'] as const;
export type MeasureId = (typeof MEASURES)[number];

/** One line of the table: a figure, what it is compared with, and whether it meets its target. */
export interface BenchRow {
  readonly measure: MeasureId;
  /** What is measured, e.g. `fan-in, 21 members: Baton ÷ lock-free floor`. */
  readonly name: string;
  /** Baton's figure, rendered (e.g. `1.71 s`). */
  readonly value: string;
  /** The baseline's figure, rendered, or `-` when the row has none. */
  readonly baseline: string;
  /** The comparison the target is about, rendered (e.g. `1.60×`), or `-`. */
  readonly ratio: string;
  readonly target: string;
  /** true ✓, false ✗, null: informational (no target). */
  readonly pass: boolean | null;
  /** The raw numbers behind the row, for tools reading latest.json. */
  readonly figures: Readonly<Record<string, number | string | boolean | null | readonly (number | string | boolean)[]>>;
}

/** A measure that did not run, and why (printed loudly). */
export interface SkippedMeasure {
  readonly measure: MeasureId;
  readonly reason: string;
}

/** What one `npm run bench` produced: the content of bench/results/latest.json. */
export interface BenchResult {
  readonly date: string;
  readonly smoke: boolean;
  readonly machine: { readonly cpus: number; readonly cpuModel: string; readonly memoryGb: number; readonly os: string };
  readonly node: string;
  readonly measures: readonly MeasureId[];
  readonly rows: readonly BenchRow[];
  readonly skipped: readonly SkippedMeasure[];
  readonly durationSeconds: number;
}

const mark = (pass: boolean | null): string => (pass === null ? ' ' : pass ? '✓' : '✗');

/** The table as printed on the terminal: fixed-width columns. */
export function formatTable(result: BenchResult): string {
  const header = ['', 'measure', 'Baton', 'baseline', 'ratio', 'target'];
  const rows = result.rows.map((r) => [mark(r.pass), r.name, r.value, r.baseline, r.ratio, r.target]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  const skipped = result.skipped.map((s) => `SKIPPED ${s.measure}: ${s.reason}`);
  return [line(header), ...rows.map(line), ...skipped].join('\n');
}

/** The same table in Markdown. */
export function markdownTable(result: BenchResult): string {
  const cell = (text: string): string => text.replace(/\|/g, '\\|');
  const lines = ['| | measure | Baton | baseline | ratio | target |', '|---|---|---|---|---|---|'];
  for (const r of result.rows) lines.push(`| ${mark(r.pass)} | ${[r.name, r.value, r.baseline, r.ratio, r.target].map(cell).join(' | ')} |`);
  for (const s of result.skipped) lines.push(`| **skipped** | ${cell(s.measure)} | ${cell(s.reason)} | | | |`);
  return lines.join('\n');
}
