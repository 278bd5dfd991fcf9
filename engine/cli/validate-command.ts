import { withPipelineFile } from './pipeline-file.ts';
import { Command, Option } from 'commander';
import { hasErrors } from '../config/diagnostic.ts';
import { diagnosticsToJson, formatReport } from '../config/format-diagnostics.ts';
import { loadPipeline } from '../config/load-pipeline.ts';
import { formatSummary } from './summary.ts';
import { paletteFor } from './terminal.ts';
import { EXIT, type CommandContext } from './exit-codes.ts';

/** `baton validate [file]`: every problem in one run, located; a topology summary when valid. */
export function validateCommand(context: CommandContext): Command {
  return withPipelineFile(new Command('validate'), { positional: true })
    .description('check a pipeline file against the schema and the graph rules')
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'json']).default('text'))
    .addHelpText(
      'after',
      `
Exit codes: 0 valid (warnings allowed), 1 invalid, 2 usage error.
Diagnostics look like:
  pipeline.yaml:42:9 error [graph/unknown-topic] phases.analytics.publishes: topic "…" is not declared under topics
    hint: did you mean "…"?`,
    )
    .action((file: string, options: { format: 'text' | 'json' }) => {
      const result = loadPipeline(file);
      const invalid = hasErrors(result.diagnostics);
      if (options.format === 'json') {
        context.stdout.write(`${diagnosticsToJson(file, result.diagnostics)}\n`);
      } else {
        const palette = paletteFor(invalid ? context.stderr : context.stdout);
        if (result.diagnostics.length > 0) context.stderr.write(`${formatReport(file, result, paletteFor(context.stderr))}\n`);
        if (!invalid) context.stdout.write(`${formatSummary(result, palette)}\n`);
      }
      context.setExitCode(invalid ? EXIT.invalid : EXIT.ok);
    });
}
