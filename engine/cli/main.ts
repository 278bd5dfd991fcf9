import { Command, CommanderError } from 'commander';
import { backfillCommand } from './backfill-command.ts';
import { checkProcessorCommand } from './check-processor-command.ts';
import { dashboardCommand } from './dashboard-command.ts';
import { dlqCommand } from './dlq-command.ts';
import { EXIT, type CommandContext } from './exit-codes.ts';
import { generateCommand } from './generate-command.ts';
import { packageCommand } from './package-command.ts';
import { planCommand } from './plan-command.ts';
import { resolvePipelineFile } from './pipeline-file.ts';
import { provisionCommand } from './provision-command.ts';
import { rehearseCommand } from './rehearse-command.ts';
import { runCommand } from './run-command.ts';
import { StateError } from './state-error.ts';
import { statusCommand } from './status-command.ts';
import { tickCommand } from './tick-command.ts';
import { traceCommand } from './trace-command.ts';
import { validateCommand } from './validate-command.ts';

/** Builds the `baton` program. The CLI is the only place that wires adapters, prints, or exits. */
export function buildProgram(context: CommandContext): Command {
  const program = new Command('baton')
    .description('Baton: one pipeline.yaml → validated graph, deploy manifests, diagram, and orchestration')
    .version('0.1.0')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({ writeOut: (s) => context.stdout.write(s), writeErr: (s) => context.stderr.write(s) });
  program.addCommand(validateCommand(context));
  program.addCommand(generateCommand(context));
  program.addCommand(planCommand(context));
  program.addCommand(runCommand(context));
  program.addCommand(statusCommand(context));
  program.addCommand(traceCommand(context));
  program.addCommand(dashboardCommand(context));
  program.addCommand(provisionCommand(context));
  program.addCommand(tickCommand(context));
  program.addCommand(dlqCommand(context));
  program.addCommand(backfillCommand(context));
  program.addCommand(packageCommand(context));
  program.addCommand(rehearseCommand(context));
  program.addCommand(checkProcessorCommand(context));
  // `[file]` and `-f` are one setting on every command (issue 10): settled before each action runs.
  program.hook('preAction', (_program, actionCommand) => resolvePipelineFile(actionCommand));
  for (const command of [...program.commands, ...program.commands.flatMap((c) => c.commands)])
    command.exitOverride().configureOutput({ writeOut: (s) => context.stdout.write(s), writeErr: (s) => context.stderr.write(s) });
  return program;
}

/** Runs the CLI and resolves to the exit code. */
export async function main(argv: readonly string[], context: Omit<CommandContext, 'setExitCode'> = process): Promise<number> {
  let code: number = EXIT.ok;
  const program = buildProgram({ ...context, setExitCode: (c) => (code = c) });
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) {
      const ok = error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help';
      return ok ? EXIT.ok : EXIT.usage;
    }
    // The state cannot be used: one line saying what, where and what to do; not a bug, so no stack.
    if (error instanceof StateError) {
      context.stderr.write(`baton: ${error.message}\n`);
      return error.exitCode;
    }
    throw error;
  }
  return code;
}
