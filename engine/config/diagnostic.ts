/**
 * Diagnostics are values, never exceptions: every stage of loading returns them, nothing stops at the
 * first problem, and the CLI renders them (see `format-diagnostics.ts`).
 */

/** How bad a problem is. Errors make a pipeline invalid; warnings are printed and allowed. */
export type Severity = 'error' | 'warning';

/** A path into the pipeline document: object keys and array indices, outermost first. */
export type DocPath = readonly (string | number)[];

/** One problem found in a pipeline file, with where it is. */
export interface Diagnostic {
  /** Stable code, `<stage>/<rule>`, e.g. `graph/unknown-topic`. */
  readonly code: string;
  readonly severity: Severity;
  /** What is wrong, the value received, and what is allowed. */
  readonly message: string;
  /** Dotted path to the offending value, e.g. `phases.raw.publishes`; empty for the whole file. */
  readonly path: string;
  /** 1-based line; always at least 1. */
  readonly line: number;
  /** 1-based column; always at least 1. */
  readonly column: number;
  /** How to fix it, e.g. a did-you-mean. */
  readonly hint?: string;
}

/** A diagnostic before it is placed in the file: the path is still structured. */
export interface Finding {
  readonly code: string;
  readonly severity: Severity;
  readonly message: string;
  readonly path: DocPath;
  readonly hint?: string | undefined;
  /** Point at the key of `path` rather than its value (e.g. an unknown property). */
  readonly atKey?: boolean;
  /** For a missing key: which key. */
  readonly key?: string;
}

/** Renders a structured path the way people read it: `phases.raw.processors[3].name`. */
export function formatPath(path: DocPath): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else out += out === '' ? segment : `.${segment}`;
  }
  return out;
}

/** True when any diagnostic is an error. */
export function hasErrors(diagnostics: readonly Diagnostic[]): boolean {
  return diagnostics.some((d) => d.severity === 'error');
}

/** Orders diagnostics by position, then code, so output is stable. */
export function sortDiagnostics(diagnostics: readonly Diagnostic[]): Diagnostic[] {
  return [...diagnostics].sort((a, b) => a.line - b.line || a.column - b.column || a.code.localeCompare(b.code) || a.message.localeCompare(b.message));
}
