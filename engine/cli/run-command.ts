import { withPipelineFile } from './pipeline-file.ts';
import { Command, InvalidArgumentError, Option } from 'commander';
import { loadValidPipeline, type ValidPipeline } from './load-valid-pipeline.ts';
import { hasKeyFinished, inspectKey } from '../runtime/inspect-key.ts';
import { PipelineRuntime } from '../runtime/pipeline-runtime.ts';
import { KeyFeeder } from '../simulator/key-feeder.ts';
import { ProcessorSimulator } from '../simulator/processor-simulator.ts';
import { stableId } from '../simulator/seeded-random.ts';
import { emptyLoopStats, runSimulation } from '../simulator/simulated-run.ts';
import { VirtualClock } from '../simulator/virtual-clock.ts';
import { WatchedMessageBus } from '../simulator/watched-message-bus.ts';
import type { Palette } from '../config/format-diagnostics.ts';
import type { ResolvedPipeline } from '../config/resolved-pipeline.ts';
import { asStateError, hasEmbeddedState } from './embedded-backend.ts';
import { BackendError, openRunBackend, type RunBackend } from './run-backend.ts';
import { commandLine, quote } from './command-line.ts';
import { acquireStateLock } from './state-lock.ts';
import { runtimeSubscriptions, type RunRecord } from './stored-run.ts';
import { EXIT, type CommandContext } from './exit-codes.ts';
import { formatDuration } from './format-time.ts';
import { keyRuleContext, parseKeys } from './parse-keys.ts';
import { buildRunReport, formatRunReport } from './run-report.ts';
import { RunProgress } from './run-progress.ts';
import { backendUsageError, withBackendOptions, type BackendOptions } from './backend-options.ts';
import { paletteFor } from './terminal.ts';

const DEFAULT_LIMIT = '48h';
const DEFAULT_MAX_IN_FLIGHT = 10;

interface RunOptions extends BackendOptions {
  file: string;
  key: string[];
  keys?: string;
  keysFrom?: string;
  stateDir: string;
  resume?: boolean;
  fresh?: boolean;
  full?: boolean;
  seed?: number;
  failureRate?: number;
  noDataRate?: number;
  duplicateRate?: number;
  start?: string;
  limit: string;
  maxInFlight: number;
  json?: boolean;
}

const positiveInt =
  (name: string) =>
  (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${name} must be a whole number of at least 1, got "${value}"`);
    return n;
  };

const fraction =
  (name: string) =>
  (value: string): number => {
    const n = Number(value);
    if (!(n >= 0 && n <= 1)) throw new InvalidArgumentError(`${name} must be a number from 0 to 1, got "${value}"`);
    return n;
  };

/** `baton run`: the whole pipeline in one process on the embedded backend, processors simulated. */
export function runCommand(context: CommandContext): Command {
  const command = withPipelineFile(new Command('run'), { positional: true })
    .description('run the pipeline end to end on the embedded backend (SQLite), with simulated processors and the real barriers and coordinator')
    .option('--key <key>', 'a key to run (repeatable)', (value: string, previous: string[]) => [...previous, value], [])
    .option('--keys <list>', 'keys: a range A..B (date or hour keys, both ends included) or a list a,b,c')
    .option('--keys-from <file>', 'keys, one per line (# comments and blank lines ignored); - reads stdin')
    .option('--resume', 'continue the run in --state-dir after a crash or kill')
    .option('--fresh', 'delete the state in --state-dir and start over')
    .option('--full', 'processors report non-incremental work, so every downstream phase recomputes everything')
    .addOption(new Option('--seed <n>', 'seed of the simulation (default: simulate.seed)').argParser((v) => Number.parseInt(v, 10)))
    .addOption(new Option('--failure-rate <p>', 'chance each processor run fails').argParser(fraction('--failure-rate')))
    .addOption(new Option('--no-data-rate <p>', 'chance each processor run reports no_data').argParser(fraction('--no-data-rate')))
    .addOption(new Option('--duplicate-rate <p>', 'chance each completion is delivered twice').argParser(fraction('--duplicate-rate')))
    .addOption(
      new Option('--max-in-flight <n>', 'start at most this many keys at a time (a backfill never floods the bus)')
        .default(DEFAULT_MAX_IN_FLIGHT)
        .argParser(positiveInt('--max-in-flight')),
    )
    .option('--start <time>', 'simulated start time, ISO 8601 (default: now); modes compare keys with this day')
    .option('--limit <duration>', 'stop after this much simulated time and report what is stuck', DEFAULT_LIMIT)
    .option('--json', 'print the summary as JSON');
  return withBackendOptions(command, { emulators: true })
    .addHelpText(
      'after',
      `
Every key is checked against the pipeline's key rule (key.type, key.pattern) before anything runs.
A range A..B steps by day for date keys (2025-11-01..2025-11-30) and by hour for hour keys
(2026-11-29T10..2026-11-29T13), at most 10000 keys; string keys have no order, so list them or use
--keys-from. A repeated key runs once.
Without --key, --keys or --keys-from a date-keyed pipeline runs yesterday (UTC). Time is simulated: the run jumps
to the next event when idle, so hours of deadlines take seconds. State lives in --state-dir; after a
kill, run again with --resume. A run holds --state-dir for its lifetime (baton.lock); status and trace
may read it meanwhile. Exit codes: 0 every key finished, 1 a key is stuck or the pipeline is invalid,
2 usage error (bad key, existing state without --resume/--fresh), 74 the state database cannot be used
(not Baton's, damaged, read-only, disk full), 75 another run holds --state-dir.`,
    )
    .action(async (_file: string, options: RunOptions) => {
      const exit = await run(options, context);
      context.setExitCode(exit);
    });
}

async function run(options: RunOptions, context: CommandContext): Promise<number> {
  const { stdout, stderr } = context;
  const palette = paletteFor(stdout);
  const loaded = loadValidPipeline(options.file, context);
  if (loaded === undefined) return EXIT.invalid;
  const usage = (message: string): number => {
    stderr.write(`baton run: ${message}\n`);
    return EXIT.usage;
  };
  if (options.resume && options.fresh) return usage('--resume continues the stored run and --fresh deletes it; pass one of them');
  if (options.resume && (options.key.length > 0 || options.keys !== undefined || options.keysFrom !== undefined))
    return usage('--resume continues the stored run with its own keys; drop --key/--keys/--keys-from');
  const limitMatch = /^([1-9][0-9]*)(m|h|d)$/.exec(options.limit);
  if (!limitMatch) return usage(`--limit ${options.limit}: write a duration like 90m, 48h or 3d`);
  const badBackend = backendUsageError(options);
  if (badBackend !== undefined) return usage(badBackend);
  const parsed = parseKeys(options, keyRuleContext(loaded));
  if (!parsed.ok) return usage(parsed.error);
  for (const notice of parsed.notices) stderr.write(`${notice}\n`);
  const startedAt = options.start === undefined ? Date.now() : Date.parse(options.start);
  if (Number.isNaN(startedAt)) return usage(`--start ${options.start ?? ''}: not an ISO 8601 time`);

  // Held for the whole run, before --fresh deletes anything: a second run or a --fresh refuses (exit 75).
  const lock = options.backend === 'embedded' ? acquireStateLock(options.stateDir, commandLine('run', options, runFlags(options))) : undefined;
  try {
    if (lock?.tookOverFrom !== undefined) {
      const { pid, startedAt } = lock.tookOverFrom;
      stderr.write(`note: took over the lock of ${options.stateDir}/ from run pid ${pid} (started ${startedAt}), which is no longer running\n`);
    }
    return await openAndRun(options, context, palette, loaded, parsed.keys, startedAt, limitMatch, usage, lock?.tookOverFrom?.command);
  } catch (error) {
    throw asStateError(error, options);
  } finally {
    lock?.release();
  }
}

async function openAndRun(
  options: RunOptions,
  context: CommandContext,
  palette: Palette,
  loaded: ValidPipeline,
  parsedKeys: string[],
  startedAt: number,
  limitMatch: RegExpExecArray,
  usage: (message: string) => number,
  killedCommand: string | undefined,
): Promise<number> {
  const { stderr } = context;
  const pipeline = loaded.pipeline;
  const clock = new VirtualClock(0);
  const existed = options.backend === 'embedded' && hasEmbeddedState(options.stateDir);
  let backend;
  try {
    backend = await openRunBackend(options, pipeline, clock, { fresh: options.fresh === true });
  } catch (error) {
    if (error instanceof BackendError) return usage(error.message);
    throw error;
  }
  if (backend === undefined) return usage('no backend');
  try {
    let record = await backend.journal.get<RunRecord>('run');
    if (record !== undefined && !options.resume)
      return usage(`${backend.where} holds state from an earlier run; pass --resume to continue it or --fresh to start over`);
    if (record === undefined) {
      // A run killed between creating the database and recording its keys (issue 10) left a
      // database with no run in it: nothing ran, so there is nothing to continue. The lock it left
      // still names its command line: the way to start it again.
      if (options.resume && !existed) return usage(`nothing to resume: ${backend.where} holds no run`);
      if (options.resume) {
        const again = killedCommand?.includes(' --resume') === false ? killedCommand : commandLine('run', options, ['--key <key>']);
        return usage(`nothing to resume: the run in ${backend.where} was stopped before it recorded its keys, so nothing ran; start it again: ${again}`);
      }
      let keys = parsedKeys;
      if (keys.length === 0) {
        if (pipeline.key.type !== 'date')
          return usage(
            `pass --key, --keys or --keys-from: this pipeline's key is ${pipeline.key.type === 'hour' ? 'an hour' : 'not a date'}, so there is no default`,
          );
        keys = [new Date(Date.now() - 86_400_000).toISOString().slice(0, 10)];
      }
      const seed = options.seed ?? pipeline.simulation.seed;
      const overrides = {
        ...(options.failureRate === undefined ? {} : { failureRate: options.failureRate }),
        ...(options.noDataRate === undefined ? {} : { noDataRate: options.noDataRate }),
        ...(options.duplicateRate === undefined ? {} : { duplicateRate: options.duplicateRate }),
      };
      const runId = `run-${stableId(seed, keys.join(','), options.full ? 'full' : 'incremental', startedAt)}`;
      record = { runId, keys, full: options.full === true, seed, overrides, startedAt, pipelineHash: loaded.hash ?? '', maxInFlight: options.maxInFlight };
      await backend.journal.set('run', record);
      await backend.journal.set('clock', startedAt);
    }
    clock.advanceTo((await backend.journal.get<number>('clock')) ?? record.startedAt);
    if (record.pipelineHash !== loaded.hash) {
      stderr.write(`note: ${options.file} changed since this run began; keys already open keep the expectations they started with\n`);
    }
    return await execute(options, context, palette, pipeline, loaded.hash, backend, record, clock, limitMatch);
  } finally {
    await backend.close();
  }
}

async function execute(
  options: RunOptions,
  context: CommandContext,
  palette: Palette,
  pipeline: ResolvedPipeline,
  hash: string | undefined,
  backend: RunBackend,
  record: RunRecord,
  clock: VirtualClock,
  limitMatch: RegExpExecArray,
): Promise<number> {
  const { stdout } = context;
  const subscriptions = runtimeSubscriptions(pipeline);
  // This process is the only publisher (the state lock, or a fresh gcp project): pulls that can only come back empty are skipped.
  const bus = new WatchedMessageBus(
    backend.bus,
    clock,
    subscriptions.map((s) => s.config),
  );
  const simulator = new ProcessorSimulator(pipeline, bus, clock, subscriptions, {
    runId: record.runId,
    full: record.full,
    overrides: record.overrides,
    pipelineHash: hash,
  });
  const progress = new RunProgress(stdout, palette, pipeline, simulator, record.keys.length, record.startedAt, () => clock.now());
  let duplicates = (await backend.journal.get<number>('duplicates')) ?? 0;
  const runtime = new PipelineRuntime({
    pipeline,
    subscriptions,
    store: backend.store,
    bus,
    clock,
    fullList: (coordinator) => {
      const type = pipeline.coordinators.find((c) => c.name === coordinator)?.entityType ?? '';
      return () => Promise.resolve(simulator.fullList(type));
    },
    ...(hash === undefined ? {} : { pipelineHash: hash }),
    onEvent: (event) => {
      if (event.kind === 'duplicate') duplicates++;
      if (event.kind === 'fired' && !options.json) progress.fired(event.trigger);
    },
  });
  await runtime.start();
  const feeder = new KeyFeeder(
    record.keys,
    record.maxInFlight ?? record.keys.length,
    (key) => hasKeyFinished(pipeline, runtime, key),
    (keys) => simulator.startKeys(keys),
  );
  if (options.resume) await feeder.resume(async (key) => (await inspectKey(pipeline, runtime, key)).correlationId !== undefined);

  const keys = `${record.keys.length} key${record.keys.length === 1 ? '' : 's'}`;
  const header = `${options.resume ? 'resuming' : 'running'} ${record.runId}: pipeline ${pipeline.name} (hash ${hash ?? '?'}), ${keys}${record.full ? ', full recompute' : ''}, on ${backend.where}`;
  if (!options.json) stdout.write(`${header}\n`);
  const wallStart = Date.now();
  const limitMs = Number(limitMatch[1]) * { m: 60_000, h: 3_600_000, d: 86_400_000 }[limitMatch[2] as 'm' | 'h' | 'd'];
  const saved = { clock: clock.now(), duplicates };
  const loop = emptyLoopStats();
  const end = await runSimulation({
    pipeline,
    runtime,
    simulator,
    subscriptions,
    bus,
    store: backend.store,
    clock,
    limitAt: record.startedAt + limitMs,
    feeder,
    stats: loop,
    onStep: async () => {
      // Each only when it changed: the clock at every jump of simulated time, duplicates now and then.
      if (clock.now() !== saved.clock) await backend.journal.set('clock', (saved.clock = clock.now()));
      if (duplicates !== saved.duplicates) await backend.journal.set('duplicates', (saved.duplicates = duplicates));
      if (!options.json) progress.draw();
    },
  });
  if (!options.json) progress.draw(true);

  const views = [];
  for (const key of record.keys) views.push(await inspectKey(pipeline, runtime, key));
  const report = buildRunReport(pipeline, views, record.startedAt, duplicates, await openDeadLetters(backend));
  const wall = Date.now() - wallStart;
  if (options.json) {
    const json = {
      runId: record.runId,
      end,
      wallMs: wall,
      simulatedMs: clock.now() - record.startedAt,
      ...report,
      phases: Object.fromEntries(report.phases),
      loop,
    };
    stdout.write(`${JSON.stringify(json, null, 2)}\n`);
  } else {
    stdout.write(`\n${formatRunReport(report, palette, commandLine('status', options, ['--json']), commandLine('dlq list', options))}\n`);
    const how = end === 'time-limit' ? palette.yellow(`stopped at the ${options.limit} limit`) : 'finished';
    stdout.write(`${how} in ${formatDuration(wall)} wall time, ${formatDuration(clock.now() - record.startedAt)} simulated\n`);
    if (report.finishedKeys < report.keys.length) stdout.write(`see what is stuck: ${commandLine('status', options)}\n`);
  }
  return report.finishedKeys === report.keys.length ? EXIT.ok : EXIT.invalid;
}

/** The run's own settings, as flags, for the lock file (who holds the folder, doing what). */
function runFlags(options: RunOptions): string[] {
  // Every option that changes what the run does, so "start it again: <command>" repeats the run itself.
  const flags: string[] = [];
  if (options.resume) flags.push('--resume');
  if (options.fresh) flags.push('--fresh');
  for (const key of options.key) flags.push('--key', quote(key));
  if (options.keys !== undefined) flags.push('--keys', quote(options.keys));
  if (options.keysFrom !== undefined) flags.push('--keys-from', quote(options.keysFrom));
  if (options.full) flags.push('--full');
  const valued: [string, string | number | undefined][] = [
    ['--seed', options.seed],
    ['--failure-rate', options.failureRate],
    ['--no-data-rate', options.noDataRate],
    ['--duplicate-rate', options.duplicateRate],
    ['--start', options.start],
    ['--limit', options.limit === DEFAULT_LIMIT ? undefined : options.limit],
    ['--max-in-flight', options.maxInFlight === DEFAULT_MAX_IN_FLIGHT ? undefined : options.maxInFlight],
  ];
  for (const [flag, value] of valued) if (value !== undefined) flags.push(flag, quote(String(value)));
  return flags;
}

/** Dead letters not redriven yet: what `baton dlq list` shows as still to act on. */
async function openDeadLetters(backend: RunBackend): Promise<number> {
  return (await backend.deadLetters.list()).filter((d) => d.redrive === undefined).length;
}
