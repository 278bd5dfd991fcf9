import { existsSync } from 'node:fs';
import { describeCounts } from '../runtime/describe-trigger.ts';
import type { TriggerData } from '../runtime/envelope.ts';
import { withPipelineFile } from './pipeline-file.ts';
import { Command, Option } from 'commander';
import { loadValidPipeline } from './load-valid-pipeline.ts';
import { PipelineRuntime } from '../runtime/pipeline-runtime.ts';
import { SystemClock } from '../runtime/system-clock.ts';
import { EXIT, type CommandContext } from './exit-codes.ts';
import { BackendError, openRunBackend } from './run-backend.ts';
import { runtimeSubscriptions } from './stored-run.ts';
import { asStateError } from './embedded-backend.ts';
import { commandLine } from './command-line.ts';
import { acquireStateLock } from './state-lock.ts';

/**
 * `baton tick`: what the generated Cloud Scheduler job does, from a shell — fire every open key past a
 * deadline tier, complete stalled batches, re-publish triggers decided but not yet published.
 * Idempotent, and safe while completions arrive (each decision is fire-once in the store).
 */
export function tickCommand(context: CommandContext): Command {
  return withPipelineFile(new Command('tick'), { positional: true })
    .description('evaluate every deadline tier and stall policy now, on the real clock (what the scheduled tick does)')
    .option('--state-dir <dir>', 'the embedded backend state', '.baton')
    .addOption(new Option('--backend <backend>', 'embedded or gcp').choices(['embedded', 'gcp']).default('embedded'))
    .option('--project <id>', 'gcp: the project')
    .addHelpText(
      'after',
      '\nOn the embedded backend a tick holds --state-dir like a run: exit 75 while a run holds it. Exit codes: 0 every key ticked, 1 a key failed (printed with its reason), 2 usage error, 74 the state database cannot be used, 75 --state-dir is in use.',
    )
    .action(async (_file: string, options: { file: string; stateDir: string; backend: 'embedded' | 'gcp'; project?: string }) => {
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
  options: { file: string; stateDir: string; backend: 'embedded' | 'gcp'; project?: string },
  context: CommandContext,
  loaded: NonNullable<ReturnType<typeof loadValidPipeline>>,
  clock: SystemClock,
): Promise<void> {
  const { stdout, stderr } = context;
  const pipeline = loaded.pipeline;
  let backend;
  try {
    backend = await openRunBackend(options, pipeline, clock, { mustExist: true });
  } catch (error) {
    if (!(error instanceof BackendError)) throw asStateError(error, options);
    stderr.write(`baton tick: ${error.message}\n`);
    context.setExitCode(EXIT.usage);
    return;
  }
  if (backend === undefined) {
    stderr.write('baton tick: no state to tick\n');
    context.setExitCode(EXIT.invalid);
    return;
  }
  try {
    const runtime = new PipelineRuntime({
      pipeline,
      subscriptions: runtimeSubscriptions(pipeline),
      store: backend.store,
      bus: backend.bus,
      clock,
      fullList: () => () => Promise.reject(new Error('a tick never opens a batch')),
      ...(loaded.hash === undefined ? {} : { pipelineHash: loaded.hash }),
    });
    const report = await runtime.tick();
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
    await backend.close();
  }
}
