import { hasErrors } from '../config/diagnostic.ts';
import { formatReport } from '../config/format-diagnostics.ts';
import { loadPipeline, type LoadResult } from '../config/load-pipeline.ts';
import type { ResolvedPipeline } from '../config/resolved-pipeline.ts';
import type { PipelineGraph } from '../graph/pipeline-graph.ts';
import { EXIT, type CommandContext } from './exit-codes.ts';
import { paletteFor } from './terminal.ts';

/** A pipeline that loaded without errors. */
export type ValidPipeline = LoadResult & { readonly pipeline: ResolvedPipeline; readonly graph: PipelineGraph };

/**
 * Loads a pipeline for a command that needs a valid one. On errors it prints the diagnostics (and
 * `why`, what the command did not do), sets exit code 1 and returns undefined.
 */
export function loadValidPipeline(file: string, context: CommandContext, why?: string): ValidPipeline | undefined {
  const loaded = loadPipeline(file);
  if (!hasErrors(loaded.diagnostics) && loaded.pipeline && loaded.graph) return loaded as ValidPipeline;
  context.stderr.write(`${formatReport(file, loaded, paletteFor(context.stderr))}\n${why === undefined ? '' : `${why}\n`}`);
  context.setExitCode(EXIT.invalid);
  return undefined;
}
