import type { Command } from 'commander';

/** The pipeline file when the command line names none. */
export const DEFAULT_PIPELINE_FILE = 'pipeline.yaml';

const HELP = `pipeline file (default: ${DEFAULT_PIPELINE_FILE})`;

/**
 * Gives a command the pipeline file argument every `baton` command takes the same way: `-f, --file`
 * always, and a positional `[file]` too when the command has no other positional argument (the form
 * validate, generate, plan, package, provision and rehearse always had; run, status and tick had
 * only `-f`). `resolvePipelineFile` (a pre-action hook) makes both forms one value.
 */
export function withPipelineFile(command: Command, { positional }: { positional: boolean }): Command {
  if (positional) command.argument('[file]', HELP);
  return command.option('-f, --file <file>', HELP);
}

/**
 * Before an action runs: the file given as `[file]` or `-f` (refused when both name different files),
 * else the default, set in both places so the action reads either.
 */
export function resolvePipelineFile(command: Command): void {
  if (!command.options.some((o) => o.long === '--file')) return;
  const index = command.registeredArguments.findIndex((a) => a.name() === 'file');
  const flag = command.getOptionValue('file') as string | undefined;
  const positional = index < 0 ? undefined : (command.processedArgs[index] as string | undefined);
  if (flag !== undefined && positional !== undefined && flag !== positional)
    command.error(`error: two pipeline files: "${positional}" and -f "${flag}"; pass one`, { exitCode: 2, code: 'baton.two-files' });
  const file = positional ?? flag ?? DEFAULT_PIPELINE_FILE;
  command.setOptionValue('file', file);
  if (index >= 0) command.processedArgs = command.processedArgs.map((value: unknown, i) => (i === index ? file : value));
}
