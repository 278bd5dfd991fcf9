import { existsSync } from 'node:fs';
import { describeCounts } from '../runtime/describe-trigger.ts';
import type { TriggerData } from '../runtime/envelope.ts';
import { withPipelineFile } from './pipeline-file.ts';
import { Command } from 'commander';
import { loadValidPipeline } from './load-valid-pipeline.ts';
import { SystemClock } from '../runtime/system-clock.ts';
import { EXIT, type CommandContext } from './exit-codes.ts';
import { BackendError } from './run-backend.ts';
import { openStoredRun } from './stored-run.ts';
import { backendChoice, backendUsageError, stateLocation, withBackendOptions, type BackendOptions } from './backend-options.ts';
import { asStateError } from './embedded-backend.ts';
import { commandLine } from './command-line.ts';
import { acquireStateLock } from './state-lock.ts';

/**
 * `baton tick`: what the generated Cloud Scheduler job does, from a shell — fire every open key past a
 * deadline tier, complete stalled batches, re-publish triggers decided but not yet published.
 * Idempotent, and safe while completions arrive (each decision is fire-once in the store).
 */
export function tickCommand(context: CommandContext): Command {
  const command = withPipelineFile(new Command('tick'), { positional: true }).description(
    'evaluate every deadline tier and stall policy now, on the real clock (what the scheduled tick does)',
  );
  return withBackendOptions(command)
    .addHelpText(
      'after',
      '\nOn the embedded backend a tick holds --state-dir like a run: exit 75 while a run holds it. Exit codes: 0 every key ticked, 1 a key failed (printed with its reason), 2 usage error, 74 the state database cannot be used, 75 --state-dir is in use.',
    )
    .action(async (_file: string, options: BackendOptions & { file: string }) => {
      const badBackend = backendUsageError(options);
      if (badBackend !== undefined) {
        context.stderr.write(`baton tick: ${badBackend}\n`);
        context.setExitCode(EXIT.usage);
        return;
      }
      const loaded = loadValidPipeline(options.file, context);
      if (loaded === undefined) return;
      const clock = new SystemClock();
      // A tick writes (fires, marks published): it holds --state-dir like a run, so a run's --fresh cannot
      // delete the database under it and it cannot decide inside a live run (exit 75 while one holds it).
      const lock =
        options.backend === 'embedded' && existsSync(options.stateDir) ? acquireStateLock(options.stateDir, commandLine('tick', options)) : undefined;
      try {
        await tickOnce(options, context, loaded, clock);
      } finally {
        lock?.release();
      }
    });
}

async function tickOnce(
  options: BackendOptions & { file: string },
  context: CommandContext,
  loaded: NonNullable<ReturnType<typeof loadValidPipeline>>,
  clock: SystemClock,
): Promise<void> {
  const { stdout, stderr } = context;
  let run;
  try {
    run = await openStoredRun(loaded.pipeline, backendChoice(options), {
      write: { clock, ...(loaded.hash === undefined ? {} : { pipelineHash: loaded.hash }) },
      // On gcp a tick is what the deployed scheduler job does: the project's state need not come from a baton run.
      deployment: options.backend === 'gcp',
    });
  } catch (error) {
    if (!(error instanceof BackendError)) throw asStateError(error, options);
    stderr.write(`baton tick: ${error.message}\n`);
    context.setExitCode(EXIT.usage);
    return;
  }
  if (run === undefined) {
    stderr.write(`baton tick: ${stateLocation(options)} holds no state to tick\n`);
    context.setExitCode(EXIT.invalid);
    return;
  }
  try {
    const report = await run.runtime.tick();
    for (const t of report.fired) stdout.write(`fired ${t.emitter} for ${t.scope}: ${t.reason} ${describeCounts(JSON.parse(t.message.data) as TriggerData)}\n`);
    for (const p of report.published) if (p.why !== 'decided') stdout.write(`published ${p.trigger.emitter} for ${p.trigger.scope}: ${p.why}\n`);
    for (const f of report.failures) stderr.write(`baton tick: ${f.component}${f.key === undefined ? '' : ` key ${f.key}`} failed: ${f.reason}\n`);
    const failed = report.failures.length === 0 ? '' : `, ${report.failures.length} failed`;
    stdout.write(`tick at ${new Date(clock.now()).toISOString()}: ${report.fired.length} fired${failed}\n`);
    // Every other key was still ticked; the exit code says something needs a look.
    context.setExitCode(report.failures.length === 0 ? EXIT.ok : EXIT.invalid);
  } catch (error) {
    throw asStateError(error, options);
  } finally {
    await run.backend.close();
  }
}
