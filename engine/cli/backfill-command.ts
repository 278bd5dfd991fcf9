import { Command, InvalidArgumentError, Option } from 'commander';
import type { ResolvedPipeline } from '../config/resolved-pipeline.ts';
import { backfillPhases, backfillStart, type BackfillStart } from '../runtime/backfill-start.ts';
import { SystemClock } from '../runtime/system-clock.ts';
import { backendChoice, backendUsageError, withBackendOptions, type BackendOptions } from './backend-options.ts';
import { defaultJournalFile } from './backfill-journal.ts';
import { deploymentOf, sendBackfill, type BackfillSummary } from './backfill-sender.ts';
import { commandLine } from './command-line.ts';
import { asStateError } from './embedded-backend.ts';
import { EXIT, type CommandContext } from './exit-codes.ts';
import { loadValidPipeline } from './load-valid-pipeline.ts';
import { keyRuleContext, parseKeys } from './parse-keys.ts';
import { resolvePipelineFile, withPipelineFile } from './pipeline-file.ts';
import { BackendError } from './run-backend.ts';
import { runCommand } from './run-command.ts';
import { openStoredRun } from './stored-run.ts';

/** The options of `baton backfill`, as commander parses them. */
export interface BackfillOptions extends BackendOptions {
  readonly file: string;
  readonly from: string;
  readonly to: string;
  readonly phase?: string;
  readonly rate: number;
  readonly maxInFlight: number;
  readonly dryRun?: boolean;
  readonly force?: boolean;
  readonly entryUrl: string[];
  readonly journal?: string;
  readonly waitTimeout: string;
  readonly json?: boolean;
}

function positive(flag: string, pattern: RegExp) {
  return (value: string): number => {
    const match = pattern.exec(value);
    const n = match ? Number(match[1]) / (match[2] === 'm' ? 60 : 1) : NaN;
    if (!(n > 0))
      throw new InvalidArgumentError(`${flag} ${value}: write a positive number${flag === '--rate' ? ' per second or minute, like 5/s or 30/m' : ''}`);
    return n;
  };
}

/**
 * `baton backfill --from A --to B`: starts every key of a range on a deployment (`--backend gcp`: the
 * emulators, or a project with `--project`), a few at a time and rate-limited, skipping keys already
 * finished, resumable after a kill. On the embedded backend a backfill is `baton run --keys A..B`.
 */
export function backfillCommand(context: CommandContext): Command {
  const command = withPipelineFile(new Command('backfill'), { positional: true })
    .description('start every key from --from to --to on a deployment, rate-limited and resumable (embedded: baton run --keys A..B)')
    .requiredOption('--from <key>', 'the first key (date or hour keys)')
    .requiredOption('--to <key>', 'the last key, included')
    .option('--phase <phase>', 'start at this phase (default: the entry phase); its upstream phase must have its output for each key')
    .addOption(
      new Option('--rate <n/s>', 'most messages sent per second (5/s, 30/m)')
        .argParser(positive('--rate', /^(\d+(?:\.\d+)?)(?:\/(s|m))?$/))
        .default(10, '10/s'),
    )
    .addOption(new Option('--max-in-flight <n>', 'most keys sent but not finished at once').argParser(positive('--max-in-flight', /^([1-9]\d*)$/)).default(5))
    .option('--dry-run', 'print what would be sent, send nothing')
    .option('--force', 'also send keys already finished, as a new execution (a member that failed reports again)')
    .option(
      '--entry-url <url>',
      "gcp, entry phase: the entry processor's URL (what the scheduler calls); name=URL for each of several",
      (v: string, p: string[]) => [...p, v],
      [],
    )
    .option('--journal <file>', 'where the backfill records what it sent (default: <state-dir>/backfill/<from>..<to>-<phase>.jsonl)')
    .option('--wait-timeout <duration>', 'give up when no key finished for this long (resume later)', '30m')
    .option('--json', 'print the plan (--dry-run) or the summary as JSON');
  return withBackendOptions(command)
    .addHelpText(
      'after',
      `
An entry phase is started the way its scheduler does: an entry message { id, key, correlation_id } POSTed
to each entry processor (--entry-url). Any other phase P is started by announcing, on the topic P's start
listens to, a completion of every processor of the phase before P (as if it had just finished for the
key); the deployed barrier then decides P's start as always: threshold, modes, exactly one trigger.

Ids are deterministic per key, so a key sent twice (a resumed backfill) is a duplicate to the bus and the
barriers. Killed? Run the same command again: the journal (--journal) says what was sent and finished.
A key finished when every phase barrier from the start phase on fired and every batch completed; --force
sends finished keys too, as a new execution: a barrier that already fired for a key does not fire again
(one trigger per barrier × key), so --force helps keys whose members failed, not finished ones.

Exit codes: 0 every key finished (or skipped), 1 a key did not finish (see baton status --stuck), 2 usage error.`,
    )
    .action(async (_file: string, options: BackfillOptions) => {
      const usage = (message: string): void => {
        context.stderr.write(`baton backfill: ${message}\n`);
        context.setExitCode(EXIT.usage);
      };
      const bad = backendUsageError(options);
      if (bad !== undefined) return usage(bad);
      if (!/^[1-9]\d*(s|m|h)$/.test(options.waitTimeout)) return usage(`--wait-timeout ${options.waitTimeout}: write a duration like 90s, 30m or 2h`);
      const loaded = loadValidPipeline(options.file, context);
      if (loaded === undefined) return;
      const pipeline = loaded.pipeline;
      const parsed = parseKeys({ keys: `${options.from}..${options.to}` }, keyRuleContext(loaded));
      if (!parsed.ok) return usage(parsed.error.replace(`--keys ${options.from}..${options.to}`, `--from ${options.from} --to ${options.to}`));
      if (options.backend === 'embedded') return backfillEmbedded(options, pipeline, context, usage);

      const phase = options.phase ?? pipeline.phases.find((p) => p.triggeredBy === undefined)?.name ?? pipeline.phases[0]?.name ?? '';
      const found = backfillStart(pipeline, phase);
      if (!found.ok) return usage(`--phase ${phase}: ${found.error}`);
      const entryUrls = entryUrlsOf(found.start, options.entryUrl);
      if (!entryUrls.ok) return usage(entryUrls.error);
      const args = { from: options.from, to: options.to, phase, force: options.force === true };
      const clock = new SystemClock();
      let run;
      try {
        run = await openStoredRun(pipeline, backendChoice(options), { write: { clock }, deployment: true });
      } catch (error) {
        if (!(error instanceof BackendError)) throw asStateError(error, options);
        return usage(error.message);
      }
      if (run === undefined) return usage('the deployment cannot be opened');
      let summary: BackfillSummary;
      try {
        summary = await sendBackfill({
          pipeline,
          pipelineHash: loaded.hash,
          keys: parsed.keys,
          start: found.start,
          phases: backfillPhases(pipeline, found.start),
          entryUrls: entryUrls.urls,
          deployment: deploymentOf(pipeline, run),
          args,
          journalFile: options.journal ?? defaultJournalFile(options.stateDir, args),
          ratePerSecond: options.rate,
          maxInFlight: options.maxInFlight,
          dryRun: options.dryRun === true,
          waitTimeoutMs: Number(options.waitTimeout.slice(0, -1)) * { s: 1_000, m: 60_000, h: 3_600_000 }[options.waitTimeout.slice(-1) as 's' | 'm' | 'h'],
          out: context.stdout,
          json: options.json === true,
        });
      } finally {
        await run.backend.close();
      }
      if (summary.unfinished.length > 0 && !options.dryRun) {
        context.stderr.write(`baton backfill: ${summary.unfinished.length} key(s) did not finish; see: ${commandLine('status', options, ['--stuck'])}\n`);
      }
      context.setExitCode(summary.unfinished.length === 0 || options.dryRun === true ? EXIT.ok : EXIT.invalid);
    });
}

/** The entry processors' URLs by name (an entry phase on gcp needs one each), or why they are not given right. */
function entryUrlsOf(start: BackfillStart, given: readonly string[]): { ok: true; urls: Map<string, string> } | { ok: false; error: string } {
  const urls = new Map<string, string>();
  if (start.kind !== 'entry') {
    return given.length === 0
      ? { ok: true, urls }
      : { ok: false, error: `--entry-url goes with an entry phase; phase ${start.phase} is started by ${start.topic}` };
  }
  const names = start.processors.map((p) => p.name);
  for (const value of given) {
    const named = /^([\w-]+)=(.+)$/.exec(value);
    const name = named?.[1] ?? (names.length === 1 ? names[0] : undefined);
    if (name === undefined || !names.includes(name))
      return { ok: false, error: `--entry-url ${value}: say which processor, as name=URL (${names.join(', ')})` };
    urls.set(name, named?.[2] ?? value);
  }
  const missing = names.filter((n) => !urls.has(n));
  if (missing.length > 0) {
    return {
      ok: false,
      error: `phase ${start.phase} is an entry phase, started outside Baton (its scheduler calls ${missing.join(', ')}): give --entry-url ${names.length === 1 ? '<url>' : '<name>=<url>'}, or start at the next phase with --phase <phase> when its output is there`,
    };
  }
  return { ok: true, urls };
}

/** The embedded backend: a backfill is a simulated run of the keys; say so, and run it. */
async function backfillEmbedded(options: BackfillOptions, pipeline: ResolvedPipeline, context: CommandContext, usage: (m: string) => void): Promise<void> {
  const gcpOnly = [
    options.phase === undefined ? undefined : '--phase',
    options.entryUrl.length === 0 ? undefined : '--entry-url',
    options.journal === undefined ? undefined : '--journal',
  ].filter((o) => o !== undefined);
  if (gcpOnly.length > 0)
    return usage(
      `${gcpOnly.join(' and ')} go${gcpOnly.length === 1 ? 'es' : ''} with --backend gcp (on the embedded backend a backfill is a run from the entry phase)`,
    );
  const range = `${options.from}..${options.to}`;
  let record;
  try {
    const stored = await openStoredRun(pipeline, backendChoice(options));
    record = stored?.record;
    await stored?.backend.close();
  } catch (error) {
    throw asStateError(error, options);
  }
  const keys = parseKeys({ keys: range }, { rule: pipeline.key, ruleAt: () => undefined, readText: () => '' });
  const same = record !== undefined && keys.ok && record.keys.join(',') === keys.keys.join(',');
  // A simulated run cannot start some keys again and keep the others: starting over deletes every key's
  // state and the dead letters in --state-dir, which a person must ask for by name (run --fresh).
  if (record !== undefined && (options.force === true || !same)) {
    const held = `${options.stateDir}/ holds ${same ? 'this run' : `another run (keys ${record.keys.slice(0, 3).join(', ')}${record.keys.length > 3 ? ', …' : ''})`}`;
    return usage(
      `${held}; on the embedded backend ${options.force === true ? '--force' : 'a backfill of other keys'} would start over and delete every key's state and the dead letters there. Give another --state-dir, or start over deliberately: ${commandLine('run', options, ['--keys', range, '--fresh'])}`,
    );
  }
  const args = [
    ...(same ? ['--resume'] : ['--keys', range]),
    ...(options.maxInFlight === 5 ? [] : ['--max-in-flight', String(options.maxInFlight)]),
    ...(options.json === true ? ['--json'] : []),
  ];
  const line = commandLine('run', options, args);
  if (options.json !== true) context.stdout.write(`on the embedded backend a backfill is a run: ${line}\n`);
  if (options.dryRun === true) return context.setExitCode(EXIT.ok);
  const run = runCommand(context)
    .exitOverride()
    .configureOutput({ writeOut: (s) => context.stdout.write(s), writeErr: (s) => context.stderr.write(s) })
    .hook('preAction', (_run, action) => resolvePipelineFile(action));
  await run.parseAsync([...args, '-f', options.file, '--state-dir', options.stateDir], { from: 'user' });
}
