import { createHash } from 'node:crypto';
import { buildGraph } from '../graph/build-graph.ts';
import { checkGraph } from '../graph/check-graph.ts';
import type { PipelineGraph } from '../graph/pipeline-graph.ts';
import { formatPath, sortDiagnostics, type Diagnostic, type Finding } from './diagnostic.ts';
import { parsePipeline, type SourceLocator } from './parse-pipeline.ts';
import { readSource, decodeSource, type PositionedFinding, type SourceText } from './read-source.ts';
import { resolve } from './resolve.ts';
import type { ResolvedPipeline } from './resolved-pipeline.ts';
import { validateSchema } from './validate-schema.ts';

/** Everything loading produced: every diagnostic, and the pipeline and graph when it got that far. */
export interface LoadResult {
  /** The file name as given; diagnostics are rendered against it. */
  readonly file: string;
  readonly diagnostics: readonly Diagnostic[];
  /** Set when the file parsed and passed the schema (possibly with unknown-key errors). */
  readonly pipeline?: ResolvedPipeline;
  readonly graph?: PipelineGraph;
  /** sha256 of the file's text, first 12 hex digits: stamped on manifests and messages. */
  readonly hash?: string;
  /** Source positions of the parsed document (set when the file parsed): lets a command point into the file. */
  readonly locator?: SourceLocator;
  /** True when schema errors stopped the graph checks from running. */
  readonly graphChecksSkipped: boolean;
}

/** Loads and checks a pipeline file: read → parse → validateSchema → resolve → buildGraph → checkGraph. */
export function loadPipeline(file: string): LoadResult {
  return loadFromSource(file, readSource(file));
}

/** Same as `loadPipeline`, from bytes already in memory (tests and fuzzing). */
export function loadPipelineBytes(file: string, bytes: Uint8Array): LoadResult {
  return loadFromSource(file, decodeSource(bytes));
}

function loadFromSource(file: string, source: SourceText): LoadResult {
  if (!source.ok) return { file, diagnostics: source.findings.map(positioned), graphChecksSkipped: true };
  const parsed = parsePipeline(source.text);
  if (!parsed.ok) return { file, diagnostics: sortDiagnostics(parsed.findings.map(positioned)), graphChecksSkipped: true };
  const place = (finding: Finding): Diagnostic => locate(finding, parsed.locator);

  const schema = validateSchema(parsed.data);
  const diagnostics = schema.findings.map(place);
  if (schema.spec === undefined) return { file, diagnostics: sortDiagnostics(diagnostics), locator: parsed.locator, graphChecksSkipped: true };

  const pipeline = resolve(schema.spec);
  const graph = buildGraph(pipeline);
  diagnostics.push(...checkGraph(graph).map(place));
  const hash = createHash('sha256').update(source.text).digest('hex').slice(0, 12);
  return { file, diagnostics: sortDiagnostics(diagnostics), pipeline, graph, hash, locator: parsed.locator, graphChecksSkipped: false };
}

function positioned(finding: PositionedFinding): Diagnostic {
  return {
    code: finding.code,
    severity: finding.severity,
    message: finding.message,
    path: formatPath(finding.path),
    line: finding.line,
    column: finding.column,
    ...(finding.hint ? { hint: finding.hint } : {}),
  };
}

function locate(finding: Finding, locator: SourceLocator): Diagnostic {
  const { line, column } = locator.locate(finding.path, finding.atKey);
  return {
    code: finding.code,
    severity: finding.severity,
    message: finding.message,
    path: formatPath(finding.path),
    line,
    column,
    ...(finding.hint ? { hint: finding.hint } : {}),
  };
}
