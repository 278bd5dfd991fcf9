import type { Diagnostic } from './diagnostic.ts';

/** Colour functions; identity when colour is off. */
export interface Palette {
  readonly red: (text: string) => string;
  readonly yellow: (text: string) => string;
  readonly green: (text: string) => string;
  readonly dim: (text: string) => string;
  readonly bold: (text: string) => string;
  readonly cyan: (text: string) => string;
}

const identity = (text: string): string => text;

/** A palette that adds nothing, for files, pipes, NO_COLOR and tests. */
export const PLAIN: Palette = { red: identity, yellow: identity, green: identity, dim: identity, bold: identity, cyan: identity };

/**
 * Renders one diagnostic the way compilers do, so editors and terminals link to it:
 * `pipeline.yaml:42:9 error [graph/unknown-topic] phases.analytics.publishes: <message>` and a `hint:` line.
 */
export function formatDiagnostic(file: string, d: Diagnostic, palette: Palette = PLAIN): string {
  const severity = d.severity === 'error' ? palette.red('error') : palette.yellow('warning');
  const where = d.path === '' ? '' : `${palette.bold(d.path)}: `;
  const head = `${file}:${d.line}:${d.column} ${severity} ${palette.dim(`[${d.code}]`)} ${where}${d.message}`;
  return d.hint === undefined ? head : `${head}\n  ${palette.cyan('hint:')} ${d.hint}`;
}

/** Renders every diagnostic and a closing count line. */
export function formatDiagnostics(file: string, diagnostics: readonly Diagnostic[], palette: Palette = PLAIN): string {
  const errors = diagnostics.filter((d) => d.severity === 'error').length;
  const warnings = diagnostics.length - errors;
  const lines = diagnostics.map((d) => formatDiagnostic(file, d, palette));
  const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;
  lines.push(`${file}: ${errors > 0 ? palette.red(plural(errors, 'error')) : '0 errors'}, ${plural(warnings, 'warning')}`);
  return lines.join('\n');
}

/** What `baton validate` prints for a file with problems: the diagnostics, a count, and a note if graph checks did not run. */
export function formatReport(file: string, result: { diagnostics: readonly Diagnostic[]; graphChecksSkipped: boolean }, palette: Palette = PLAIN): string {
  const invalid = result.diagnostics.some((d) => d.severity === 'error');
  const skipped = invalid && result.graphChecksSkipped ? '\n(graph checks run once the problems above are fixed)' : '';
  return `${formatDiagnostics(file, result.diagnostics, palette)}${skipped}`;
}

/** The machine-readable form (`--format json`). */
export function diagnosticsToJson(file: string, diagnostics: readonly Diagnostic[]): string {
  return JSON.stringify({ file, valid: !diagnostics.some((d) => d.severity === 'error'), diagnostics }, null, 2);
}
