import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline/promises';
import { Command } from 'commander';
import type { ResolvedPipeline } from '../config/resolved-pipeline.ts';
import { suggestHint } from '../config/suggest.ts';
import { planSubscriptions } from '../graph/subscription-plan.ts';
import type { DeadLetterFilter, DeadLetterRecord } from '../ports/dead-letter-queue.ts';
import type { RuntimeEvent } from '../runtime/pipeline-runtime.ts';
import { VirtualClock } from '../simulator/virtual-clock.ts';
import { backendChoice, backendUsageError, stateLocation, withBackendOptions, type BackendOptions } from './backend-options.ts';
import { commandLine } from './command-line.ts';
import { deadLetterJson, decodeBody, formatDeadLetter, formatDeadLetterList, formatRedrive, parseSince } from './dlq-format.ts';
import { asStateError } from './embedded-backend.ts';
import { EXIT, type CommandContext } from './exit-codes.ts';
import { loadValidPipeline, type ValidPipeline } from './load-valid-pipeline.ts';
import { withPipelineFile } from './pipeline-file.ts';
import { BackendError } from './run-backend.ts';
import { acquireStateLock } from './state-lock.ts';
import { openStoredRun, type StoredRun } from './stored-run.ts';
import { paletteFor } from './terminal.ts';

/** Asks a yes/no question on the terminal; undefined when there is no terminal to ask on. */
export type Confirm = ((question: string) => Promise<boolean>) | undefined;

/** Options every `baton dlq` subcommand takes. */
type DlqOptions = BackendOptions & { file: string; json?: boolean; topic?: string; since?: string; all?: boolean; dryRun?: boolean; yes?: boolean };

/** Asks on stdin when both stdin and stdout are terminals. */
function terminalConfirm(context: CommandContext): Confirm {
  if (process.stdin.isTTY !== true || context.stdout.isTTY !== true) return undefined;
  return async (question) => {
    const rl = createInterface({ input: process.stdin, output: context.stdout });
    try {
      return /^y(es)?$/i.test((await rl.question(question)).trim());
    } finally {
      rl.close();
    }
  };
}

/**
 * `baton dlq list|show|redrive|purge`: the dead letters of a stored run, on either backend, without
 * opening a database by hand. `confirm` (tests) replaces the terminal question purge asks.
 */
export function dlqCommand(context: CommandContext, { confirm }: { confirm?: Confirm } = {}): Command {
  const dlq = new Command('dlq').description('list, show, redrive and purge dead letters: messages a subscription gave up on');
  const sub = (name: string, description: string, exitCodes: string): Command => {
    const command = withBackendOptions(withPipelineFile(new Command(name), { positional: false }).description(description));
    command.addHelpText('after', `\nExit codes: ${exitCodes}`);
    dlq.addCommand(command);
    return command;
  };
  const selection = (command: Command, verb: string): Command =>
    command
      .argument('[ids...]', `the dead letters to ${verb}, by id (from dlq list) or message id`)
      .option('--topic <topic>', `${verb} the dead letters of this topic`)
      .option('--since <when>', `${verb} those dead-lettered since a time (2025-11-29, 2025-11-29T12:00Z) or for an age (30m, 2h, 7d)`)
      .option('--all', `${verb} every dead letter`);

  sub(
    'list',
    'list dead letters: id, message id, topic, key, consumer, first and last attempt, reason',
    '0 listed (also none), 1 no state, 2 usage error, 74 the state database cannot be used.',
  )
    .option('--topic <topic>', 'only dead letters of this topic')
    .option('--since <when>', 'only those dead-lettered since a time (2025-11-29, 2025-11-29T12:00Z) or for an age (30m, 2h, 7d)')
    .option('--json', 'print as JSON')
    .action((options: DlqOptions) => withRun(context, 'list', options, false, (run, loaded) => list(context, options, run, loaded)));

  sub(
    'show',
    'show one dead letter: its facts, attributes and decoded envelope',
    '0 shown, 1 no state or no such dead letter, 2 usage error, 74 the state database cannot be used.',
  )
    .argument('<id>', 'the dead letter, by id (from dlq list) or message id')
    .option('--json', 'print as JSON')
    .action((id: string, options: DlqOptions) => withRun(context, 'show', options, false, (run, loaded) => show(context, options, run, loaded, id)));

  selection(
    sub(
      'redrive',
      'deliver dead letters again, with the same message id, to the subscription that gave up on them',
      '0 every selected dead letter redriven (or already), 1 no state, no such dead letter, or one could not be redriven, 2 usage error, 74 the state database cannot be used, 75 --state-dir is in use.',
    ),
    'redrive',
  )
    .option('--dry-run', 'say what would be redriven and change nothing')
    .option('--json', 'print the outcomes as JSON')
    .addHelpText(
      'after',
      '\nConsumers dedupe by message id: a barrier that already recorded a redriven completion absorbs it; one that had not records it, and fires if that completes it. A dead letter is redriven once; redriving it again is a no-op that says when it was. Embedded: the delivery goes back on the subscription that gave up, the barriers and coordinators handle what is due at once (a processor receives it on the next `baton run --resume`), and the command holds --state-dir like a run. gcp: the message is published to its topic again (same baton_id) and its consumer receives it as usual; on the pull path the other subscriptions of the topic ignore it, having settled that id; on the push path (a deployment) they receive it again with the same id: barriers absorb it; an SDK processor redoes its work and publishes the same completion id, which its barrier absorbs.',
    )
    .action((ids: string[], options: DlqOptions) =>
      withRun(context, 'redrive', options, !options.dryRun, (run, loaded, events) => redrive(context, options, run, loaded, ids, events)),
    );

  selection(
    sub(
      'purge',
      'forget dead letters (after a fix made them moot); the messages are not delivered again',
      '0 purged (or declined), 1 no state or no such dead letter, 2 usage error (also: no terminal to confirm on and no --yes), 74 the state database cannot be used, 75 --state-dir is in use.',
    ),
    'purge',
  )
    .option('--yes', 'do not ask for confirmation (needed when stdin is not a terminal)')
    .option('--json', 'print what was purged as JSON')
    .action((ids: string[], options: DlqOptions) =>
      withRun(context, 'purge', options, true, (run, loaded) => purge(context, options, run, loaded, ids, confirm ?? terminalConfirm(context))),
    );
  return dlq;
}

/**
 * Checks the backend options, loads the pipeline, opens the stored run (read-only, or for writes
 * holding --state-dir like a tick) and closes it after `act`.
 */
async function withRun(
  context: CommandContext,
  name: string,
  options: DlqOptions,
  write: boolean,
  act: (run: StoredRun, loaded: ValidPipeline, events: readonly RuntimeEvent[]) => Promise<void>,
): Promise<void> {
  // What the runtime decides while the command runs (redrive pumps it).
  const events: RuntimeEvent[] = [];
  const fail = (message: string, code: number): void => {
    context.stderr.write(`baton dlq ${name}: ${message}\n`);
    context.setExitCode(code);
  };
  const badBackend = backendUsageError(options);
  if (badBackend !== undefined) return fail(badBackend, EXIT.usage);
  const loaded = loadValidPipeline(options.file, context);
  if (loaded === undefined) return;
  const lock =
    write && options.backend === 'embedded' && existsSync(options.stateDir)
      ? acquireStateLock(options.stateDir, commandLine(`dlq ${name}`, options))
      : undefined;
  try {
    let run: StoredRun | undefined;
    try {
      // On the run's own clock: a redriven delivery is due at the time the run will look next.
      run = await openStoredRun(loaded.pipeline, backendChoice(options), {
        ...(write ? { write: { clock: new VirtualClock(0), ...(loaded.hash === undefined ? {} : { pipelineHash: loaded.hash }) } } : {}),
        onEvent: (event) => events.push(event),
        deployment: true,
      });
    } catch (error) {
      if (!(error instanceof BackendError)) throw asStateError(error, options);
      return fail(error.message, EXIT.usage);
    }
    if (run === undefined) return fail(`${stateLocation(options)} holds no state; dead letters come from a run: ${commandLine('run', options)}`, EXIT.invalid);
    try {
      context.setExitCode(EXIT.ok);
      await act(run, loaded, events);
    } catch (error) {
      throw asStateError(error, options);
    } finally {
      await run.backend.close();
    }
  } finally {
    lock?.release();
  }
}

/** `--topic` / `--since` as a filter; a usage error (printed) when one is wrong. */
function filterOf(context: CommandContext, name: string, options: DlqOptions, run: StoredRun, loaded: ValidPipeline): DeadLetterFilter | undefined {
  if (options.topic !== undefined && !loaded.pipeline.topics.some((t) => t.name === options.topic)) {
    const hint = suggestHint(
      options.topic,
      loaded.pipeline.topics.map((t) => t.name),
      'topics',
    );
    context.stderr.write(`baton dlq ${name}: --topic "${options.topic}" is not a topic of ${options.file}${hint === undefined ? '' : `; ${hint}`}\n`);
    context.setExitCode(EXIT.usage);
    return undefined;
  }
  let since: number | undefined;
  if (options.since !== undefined) {
    since = parseSince(options.since, run.clock.now());
    if (since === undefined) {
      context.stderr.write(`baton dlq ${name}: --since "${options.since}" is neither a time (2025-11-29, 2025-11-29T12:00Z) nor an age (30m, 2h, 7d)\n`);
      context.setExitCode(EXIT.usage);
      return undefined;
    }
  }
  return { ...(options.topic === undefined ? {} : { topic: options.topic }), ...(since === undefined ? {} : { since }) };
}

async function list(context: CommandContext, options: DlqOptions, run: StoredRun, loaded: ValidPipeline): Promise<void> {
  const filter = filterOf(context, 'list', options, run, loaded);
  if (filter === undefined) return;
  const records = await run.backend.deadLetters.list(filter);
  if (options.json) {
    context.stdout.write(`${JSON.stringify({ deadLetters: records.map((r) => deadLetterJson(r, loaded.pipeline)) }, null, 2)}\n`);
    return;
  }
  const where = stateLocation(options);
  if (records.length === 0) {
    context.stdout.write(`no dead letters${filter.topic === undefined && filter.since === undefined ? '' : ' match'} in ${where}\n`);
    return;
  }
  const redriven = records.filter((r) => r.redrive !== undefined).length;
  context.stdout.write(`${formatDeadLetterList(records, loaded.pipeline, paletteFor(context.stdout))}\n`);
  const count = `${records.length} dead letter${records.length === 1 ? '' : 's'}${redriven === 0 ? '' : ` (${redriven} redriven)`}`;
  context.stdout.write(`${count}; show one: ${commandLine('dlq show', options, ['<id>'])}; redrive: ${commandLine('dlq redrive', options, ['<id>'])}\n`);
}

async function show(context: CommandContext, options: DlqOptions, run: StoredRun, loaded: ValidPipeline, id: string): Promise<void> {
  const [record] = await resolveIds(context, 'show', options, run, [id]);
  if (record === undefined) return;
  if (options.json) {
    const body = decodeBody(record.message.data);
    const json = { ...deadLetterJson(record, loaded.pipeline), attributes: record.message.attributes, data: body.value, dataIsJson: body.json };
    context.stdout.write(`${JSON.stringify(json, null, 2)}\n`);
    return;
  }
  context.stdout.write(`${formatDeadLetter(record, loaded.pipeline, paletteFor(context.stdout))}\n`);
}

/** The dead letters named by id or message id; prints a clear error (exit 1) for any that is neither. */
async function resolveIds(context: CommandContext, name: string, options: DlqOptions, run: StoredRun, ids: readonly string[]): Promise<DeadLetterRecord[]> {
  const all = await run.backend.deadLetters.list();
  const found: DeadLetterRecord[] = [];
  for (const id of ids) {
    const byId = all.find((r) => r.id === id);
    // By message id: the newest dead letter of that message (an older one may have been redriven).
    const byMessage = all.filter((r) => r.messageId === id).at(-1);
    const record = byId ?? byMessage;
    if (record === undefined) {
      const hint =
        all.length === 0 ? 'there are none' : suggestHint(id, [...new Set([...all.map((r) => r.id), ...all.map((r) => r.messageId)])], 'dead letters');
      context.stderr.write(`baton dlq ${name}: no dead letter "${id}" in ${stateLocation(options)}; ${hint ?? ''}\n`);
      context.setExitCode(EXIT.invalid);
      return [];
    }
    if (!found.includes(record)) found.push(record);
  }
  return found;
}

/** The dead letters a redrive or purge works on: ids, or a filter; a usage error for neither or both. */
async function select(
  context: CommandContext,
  name: string,
  options: DlqOptions,
  run: StoredRun,
  loaded: ValidPipeline,
  ids: readonly string[],
): Promise<DeadLetterRecord[] | undefined> {
  const filtered = options.topic !== undefined || options.since !== undefined || options.all === true;
  if (ids.length > 0 === filtered) {
    const both = ids.length > 0 ? 'ids or a selection (--topic, --since, --all), not both' : 'which dead letters: ids, or --topic/--since, or --all';
    context.stderr.write(`baton dlq ${name}: name ${both}\n`);
    context.setExitCode(EXIT.usage);
    return undefined;
  }
  if (ids.length > 0) {
    const records = await resolveIds(context, name, options, run, ids);
    return records.length === 0 ? undefined : records;
  }
  const filter = filterOf(context, name, options, run, loaded);
  return filter === undefined ? undefined : run.backend.deadLetters.list(filter);
}

async function redrive(
  context: CommandContext,
  options: DlqOptions,
  run: StoredRun,
  loaded: ValidPipeline,
  ids: readonly string[],
  events: readonly RuntimeEvent[],
): Promise<void> {
  const records = await select(context, 'redrive', options, run, loaded, ids);
  if (records === undefined) return;
  const dryRun = options.dryRun === true;
  const outcomes = await run.backend.deadLetters.redrive(
    records.map((r) => r.id),
    { dryRun },
  );
  const redriven = outcomes.filter((o) => o.outcome === 'redriven').length;
  if (redriven > 0) await deliverRedriven(options, run, loaded.pipeline, records);
  const after = redriven > 0 ? await run.backend.deadLetters.list() : [];
  const again = after.filter((d) => d.redrive === undefined && records.some((r) => r.messageId === d.messageId && r.subscription === d.subscription));
  const fired = events.flatMap((e) => (e.kind === 'fired' ? [`${e.trigger.emitter} for ${e.trigger.scope}`] : []));
  const failed = outcomes.some((o) => o.outcome === 'failed' || o.outcome === 'not-found');
  if (failed) context.setExitCode(EXIT.invalid);
  if (options.json) {
    const json = { dryRun, outcomes, fired, deadLetteredAgain: again.map((d) => deadLetterJson(d, loaded.pipeline)) };
    context.stdout.write(`${JSON.stringify(json, null, 2)}\n`);
    return;
  }
  if (outcomes.length === 0) {
    context.stdout.write(`no dead letters match in ${stateLocation(options)}\n`);
    return;
  }
  const palette = paletteFor(context.stdout);
  context.stdout.write(`${formatRedrive(outcomes, palette)}\n`);
  if (dryRun) {
    context.stdout.write(`dry run: ${outcomes.filter((o) => o.outcome === 'would-redrive').length} of ${outcomes.length} would be redriven; nothing changed\n`);
    return;
  }
  for (const f of fired) context.stdout.write(`fired ${f}\n`);
  for (const d of again) context.stdout.write(`${palette.red('dead-lettered again')} as ${d.id}: ${d.reason}\n`);
  context.stdout.write(`redrove ${redriven} of ${outcomes.length} dead letter${outcomes.length === 1 ? '' : 's'}\n`);
}

/**
 * Where nothing else consumes the barrier and coordinator subscriptions, the command does, as a run
 * would: embedded (nothing runs between runs) and a `baton run --backend gcp` project (pull
 * subscriptions). Embedded delivers at once; Pub/Sub delivers in its own time, so there it pumps until
 * the redriven messages are settled, for at most `GCP_SETTLE_MS`. A deployment's own consumers
 * receive them by push.
 */
async function deliverRedriven(options: DlqOptions, run: StoredRun, pipeline: ResolvedPipeline, records: readonly DeadLetterRecord[]): Promise<void> {
  if (options.backend === 'embedded') {
    await run.runtime.pump();
    return;
  }
  if (run.record === undefined) return;
  // Only what the runtime consumes: a processor's subscription waits for its processor.
  const pumped = new Set(planSubscriptions(pipeline).flatMap((p) => (p.role === 'processor' ? [] : [p.name])));
  const subscriptions = [...new Set(records.map((r) => r.subscription))].filter((s) => pumped.has(s));
  if (subscriptions.length === 0) return;
  const until = Date.now() + GCP_SETTLE_MS;
  for (;;) {
    await run.runtime.pump();
    const waiting = await Promise.all(subscriptions.map((s) => run.backend.bus.backlog(s)));
    if (waiting.every((n) => n === 0) || Date.now() > until) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** How long a redrive on a `baton run --backend gcp` project waits for Pub/Sub to deliver what it redrove. */
const GCP_SETTLE_MS = 20_000;

async function purge(
  context: CommandContext,
  options: DlqOptions,
  run: StoredRun,
  loaded: ValidPipeline,
  ids: readonly string[],
  confirm: Confirm,
): Promise<void> {
  const records = await select(context, 'purge', options, run, loaded, ids);
  if (records === undefined) return;
  if (records.length === 0) {
    context.stdout.write(options.json ? `${JSON.stringify({ purged: [] }, null, 2)}\n` : `no dead letters match in ${stateLocation(options)}\n`);
    return;
  }
  const what = `${records.length} dead letter${records.length === 1 ? '' : 's'}`;
  if (options.yes !== true) {
    if (confirm === undefined) {
      context.stderr.write(`baton dlq purge: would purge ${what}; stdin is not a terminal to confirm on: pass --yes\n`);
      context.setExitCode(EXIT.usage);
      return;
    }
    const ok = await confirm(`purge ${what} (${records.map((r) => r.id).join(', ')}) from ${stateLocation(options)}? They will not be delivered again. [y/N] `);
    if (!ok) {
      context.stdout.write('nothing purged\n');
      return;
    }
  }
  const purged = await run.backend.deadLetters.purge(records.map((r) => r.id));
  if (options.json) context.stdout.write(`${JSON.stringify({ purged: records.map((r) => r.id) }, null, 2)}\n`);
  else context.stdout.write(`purged ${purged} dead letter${purged === 1 ? '' : 's'}\n`);
}
