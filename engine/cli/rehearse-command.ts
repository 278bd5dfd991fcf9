import { withPipelineFile } from './pipeline-file.ts';
import { Command, InvalidArgumentError, Option } from 'commander';
import { formatRunReport } from './run-report.ts';
import { EXIT, type CommandContext } from './exit-codes.ts';
import { formatDuration } from './format-time.ts';
import { loadValidPipeline } from './load-valid-pipeline.ts';
import { keyRuleContext, parseKeys } from './parse-keys.ts';
import { paletteFor } from './terminal.ts';

interface RehearseOptions {
  file: string;
  key: string[];
  keys?: string;
  keysFrom?: string;
  speed: number;
  seed?: number;
  start?: string;
  timeout: number;
  json?: boolean;
}

/**
 * `baton rehearse`: the deployment the manifests describe, stood up on this machine and run. It
 * proves the composition — push delivery, the packaged functions under functions-framework, the
 * coordinator's container command, the scheduler jobs, the rendered IAM — not Google's side of it.
 */
export function rehearseCommand(context: CommandContext): Command {
  return withPipelineFile(new Command('rehearse'), { positional: true })
    .description(
      'stand up the generated deployment on the Pub/Sub and Firestore emulators (push delivery, functions-framework, scheduler jobs, rendered IAM) and run keys through it',
    )
    .option('--key <key>', 'a key to run (repeatable)', (value: string, all: string[]) => [...all, value], [])
    .option('--keys <list>', 'keys: a range A..B (date or hour keys, both ends included) or a list a,b,c')
    .option('--keys-from <file>', 'keys, one per line (# comments and blank lines ignored); - reads stdin')
    .addOption(
      new Option(
        '--speed <n>',
        'simulated seconds per real second: processors, deadlines, stall policies, scheduler jobs and retry backoffs all run this much faster',
      )
        .default(60)
        .argParser(positive('--speed')),
    )
    .addOption(new Option('--seed <n>', 'seed of the simulated processors (default: simulate.seed)').argParser(integer('--seed')))
    .option('--start <time>', 'simulated start time, ISO 8601 (default: now); modes compare keys with this day')
    .addOption(new Option('--timeout <seconds>', 'give up after this many real seconds').default(600).argParser(positive('--timeout')))
    .option('--json', 'print the result as JSON')
    .addHelpText(
      'after',
      `
What it stands up, all from the same deploy model as generated/terraform and generated/gcloud/deploy.sh:
  - the Pub/Sub and Firestore emulators; every topic, dead-letter topic and subscription with its
    filter, ack deadline, retry and dead-letter policy; push subscriptions delivered by the emulator
  - each barrier function from the \`baton package\` bundle under @google-cloud/functions-framework,
    with the entry point, signature and environment the manifests give it; the coordinator with its
    container command; user processors as HTTP services built with the processor SDK, doing the
    simulated work of \`simulate:\`
  - every Cloud Scheduler job as a local timer, compressed by --speed
  - the rendered IAM, enforced: each component reaches the emulators through a guard that lets a
    call through only if its service account holds the role; a denied call fails the rehearsal
OIDC is off (the emulator pushes without tokens). Keys are checked against the key rule first; a
range A..B steps by day (date keys) or hour (hour keys). Without --key, --keys or --keys-from a
date-keyed pipeline rehearses yesterday (UTC). Exit codes: 0 every key finished, 1 a key did not finish, a call was
denied, or the pipeline is invalid, 2 usage error or no emulators.`,
    )
    .action(async (file: string, options: RehearseOptions) => {
      context.setExitCode(await rehearseAction(file, options, context));
    });
}

async function rehearseAction(file: string, options: RehearseOptions, context: CommandContext): Promise<number> {
  const { stdout, stderr } = context;
  const loaded = loadValidPipeline(file, context);
  if (loaded === undefined || loaded.hash === undefined) return EXIT.invalid;
  const pipeline = loaded.pipeline;
  const parsed = parseKeys(options, keyRuleContext(loaded));
  if (!parsed.ok) return usage(context, parsed.error);
  for (const notice of parsed.notices) stderr.write(`${notice}\n`);
  let keys = parsed.keys;
  if (keys.length === 0) {
    if (pipeline.key.type !== 'date')
      return usage(
        context,
        `pass --key, --keys or --keys-from: this pipeline's key is ${pipeline.key.type === 'hour' ? 'an hour' : 'not a date'}, so there is no default`,
      );
    keys = [new Date(Date.now() - 86_400_000).toISOString().slice(0, 10)];
  }
  const start = options.start === undefined ? Date.now() : Date.parse(options.start);
  if (Number.isNaN(start)) return usage(context, `--start ${options.start ?? ''}: not an ISO 8601 time`);

  const { rehearse, RehearsalError } = await import('../rehearsal/rehearse.ts');
  const palette = paletteFor(stdout);
  let result;
  try {
    result = await rehearse({
      loaded: { ...loaded, hash: loaded.hash },
      keys,
      speed: options.speed,
      seed: options.seed ?? pipeline.simulation.seed,
      start,
      timeoutMs: options.timeout * 1000,
      ...(options.json ? {} : { onProgress: (line: string) => stdout.write(`${line}\n`) }),
    });
  } catch (error) {
    if (error instanceof RehearsalError) return usage(context, error.message);
    throw error;
  }
  if (options.json) {
    stdout.write(`${JSON.stringify({ ...result, report: { ...result.report, phases: Object.fromEntries(result.report.phases) } }, null, 2)}\n`);
  } else {
    stdout.write(`\n${formatRunReport(result.report, palette)}\n\n`);
    stdout.write('component                                  requests  acks  retries  filtered  ticks  dead-lettered  denied\n');
    for (const c of result.components) {
      const d = c.deliveries;
      stdout.write(
        `${`${c.kind} ${c.component}`.padEnd(42)} ${pad(d.requests, 8)} ${pad(d.acks, 5)} ${pad(d.retries, 8)} ${pad(d.filtered, 9)} ${pad(d.ticks, 6)} ${pad(c.deadLettered, 14)} ${pad(c.denied, 7)}\n`,
      );
    }
    for (const letter of result.deadLetters)
      stdout.write(`dead letter on ${letter.deadLetterTopic}: ${letter.id} (key ${letter.key ?? '?'}): ${letter.reason}\n`);
    for (const denial of result.denials) stdout.write(palette.red(`denied: ${denial.call} as ${denial.identity}; missing ${denial.missing}\n`));
    const how =
      result.end === 'finished' ? 'finished' : result.end === 'denied' ? palette.red('stopped: IAM denied a call') : palette.yellow('stopped at the timeout');
    stdout.write(
      `${how} in ${formatDuration(result.wallMs)} wall time, ${formatDuration(result.simulatedMs)} simulated (x${result.speed}); OIDC off: the emulator pushes without tokens\n`,
    );
  }
  const ok = result.end === 'finished' && result.denials.length === 0 && result.report.finishedKeys === result.report.keys.length;
  if (!ok)
    stderr.write(
      `baton rehearse: ${result.end === 'denied' ? 'the rendered IAM denied a call (above)' : `${result.report.keys.length - result.report.finishedKeys} key(s) did not finish`}\n`,
    );
  return ok ? EXIT.ok : EXIT.invalid;
}

function usage(context: CommandContext, message: string): number {
  context.stderr.write(`baton rehearse: ${message}\n`);
  return EXIT.usage;
}

function pad(n: number, width: number): string {
  return String(n).padStart(width);
}

function positive(flag: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`${flag} ${value}: give a positive number`);
    return n;
  };
}

function integer(flag: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isInteger(n)) throw new InvalidArgumentError(`${flag} ${value}: give a whole number`);
    return n;
  };
}
