import { countOf, unreportedOf } from '../runtime/describe-trigger.ts';
import { withPipelineFile } from './pipeline-file.ts';
import { Command } from 'commander';
import type { Palette } from '../config/format-diagnostics.ts';
import { loadValidPipeline } from './load-valid-pipeline.ts';
import type { ResolvedPipeline } from '../config/resolved-pipeline.ts';
import { describeThreshold } from '../graph/describe.ts';
import type { BarrierKeyStatus } from '../runtime/completion-barrier.ts';
import type { TriggerData } from '../runtime/envelope.ts';
import { inspectKey, type KeyView } from '../runtime/inspect-key.ts';
import { suggestHint } from '../config/suggest.ts';
import { keyOptionError, keyRuleContext } from './parse-keys.ts';
import { EXIT, type CommandContext } from './exit-codes.ts';
import { formatDuration } from './format-time.ts';
import { knownKeys, openStoredRun } from './stored-run.ts';
import { paletteFor } from './terminal.ts';
import { commandLine } from './command-line.ts';
import { asStateError } from './embedded-backend.ts';
import { findStuck, firstSeenAt } from '../runtime/find-stuck.ts';
import { liveStateHolder } from './state-lock.ts';
import { formatStuck, parseSince, stuckActions } from './stuck-report.ts';
import { backendChoice, backendUsageError, stateLocation, withBackendOptions, type BackendOptions } from './backend-options.ts';

/** `baton status [--key K] [--stuck [--since D]] [--json]`: every barrier and batch of every key, across all phases. */
export function statusCommand(context: CommandContext): Command {
  const command = withPipelineFile(new Command('status'), { positional: true })
    .description("show each key's progress across every phase: barriers n of N, missing members, deadlines, coordinator batches")
    .option('--key <key>', 'only this key')
    .option('--barrier <name>', 'only this barrier, for the keys it has seen (what a deadline-missed alert asks for)')
    .option('--stuck', 'only what cannot get on by itself, each with why and what to run; exit 3 when anything is stuck')
    .option('--since <when>', 'with --stuck: only keys first seen since then: a duration back (24h, 7d) or a date or time (2025-11-29)')
    .option('--json', 'print as JSON');
  return withBackendOptions(command)
    .addHelpText(
      'after',
      '\nReads the embedded backend (.baton/ by default) without changing it, also while a run holds it and from a read-only folder. Exit codes: 0 shown (with --stuck: nothing stuck), 1 no state or unknown key, 2 usage error, 3 with --stuck: something is stuck, 74 the state database cannot be used (damaged, or not a Baton database).\n\n' +
        "--stuck judges at the time the tick would: on gcp the store's (the Firestore server's); on the embedded backend the real clock (baton tick's), except while a baton run holds --state-dir: then the run's simulated clock, since the run ticks itself. " +
        'Stuck: a deadline tier elapsed that has not fired, a trigger or batch completion decided but not published, a batch quiet past its stall window (baton tick fixes these); ' +
        'a threshold no member left can reach, a last deadline tier elapsed short of its minimum, a batch stalled below its stall minimum (these need a person: rerun, dead letters, backfill --force).',
    )
    .action(async (_file: string, options: StatusOptions) => {
      const { stdout, stderr } = context;
      const badBackend = backendUsageError(options) ?? (options.since !== undefined && options.stuck !== true ? '--since goes with --stuck' : undefined);
      if (badBackend !== undefined) {
        stderr.write(`baton status: ${badBackend}\n`);
        context.setExitCode(EXIT.usage);
        return;
      }
      const loaded = loadValidPipeline(options.file, context);
      if (loaded === undefined) return;
      const pipeline = loaded.pipeline;
      const badKey = options.key === undefined ? undefined : keyOptionError('--key', options.key, keyRuleContext(loaded));
      if (badKey !== undefined) {
        stderr.write(`baton status: ${badKey}\n`);
        context.setExitCode(EXIT.usage);
        return;
      }
      // --stuck on gcp is a check of a deployment, whose state need not come from a baton run (no run record).
      const run = await openStoredRun(pipeline, backendChoice(options), { deployment: options.stuck === true && options.backend === 'gcp' });
      if (run === undefined) {
        stderr.write(`baton status: ${stateLocation(options)} holds no state; start one with: ${commandLine('run', options)}\n`);
        context.setExitCode(EXIT.invalid);
        return;
      }
      try {
        if (options.barrier !== undefined && !pipeline.barriers.some((b) => b.name === options.barrier)) {
          const names = pipeline.barriers.map((b) => b.name);
          stderr.write(`baton status: no barrier "${options.barrier}" in ${options.file}; ${suggestHint(options.barrier, names, 'barriers') ?? ''}\n`);
          context.setExitCode(EXIT.usage);
          return;
        }
        const keys = options.key === undefined ? await knownKeys(pipeline, run) : [options.key];
        const views: KeyView[] = [];
        for (const key of keys) {
          const view = await inspectKey(pipeline, run.runtime, key);
          if (options.barrier === undefined) views.push(view);
          else {
            const barriers = view.barriers.filter((b) => b.barrier === options.barrier);
            if (barriers.some((b) => b.status !== undefined)) views.push({ ...view, barriers, batches: [] });
          }
        }
        if (options.key !== undefined && views.every((v) => v.correlationId === undefined)) {
          stderr.write(`baton status: no state for key "${options.key}" in ${stateLocation(options)}\n`);
          context.setExitCode(EXIT.invalid);
          return;
        }
        if (options.stuck === true) {
          // What the tick would see: the store's time on Firestore (the server's), the real clock on a stopped
          // embedded run (baton tick runs on it), the run's simulated clock while a run holds --state-dir.
          const live = options.backend === 'embedded' && liveStateHolder(options.stateDir) !== undefined;
          const now = options.backend === 'gcp' ? await run.backend.store.now() : live ? run.clock.now() : Date.now();
          reportStuck(pipeline, views, now, options, context);
          return;
        }
        const now = run.clock.now();
        if (options.json) {
          stdout.write(`${JSON.stringify({ now, run: run.record ?? null, pipelineHash: loaded.hash, keys: views }, null, 2)}\n`);
        } else {
          const palette = paletteFor(stdout);
          const stamp =
            run.record && run.record.pipelineHash !== loaded.hash
              ? palette.yellow(` (run began with hash ${run.record.pipelineHash}; ${options.file} is now ${loaded.hash ?? '?'})`)
              : '';
          stdout.write(
            `${run.record ? `run ${run.record.runId}, ` : ''}pipeline hash ${loaded.hash ?? '?'}${stamp}, simulated now ${new Date(now).toISOString()}\n`,
          );
          for (const view of views) stdout.write(`\n${formatKey(pipeline, view, now, palette)}\n`);
        }
        context.setExitCode(EXIT.ok);
      } catch (error) {
        throw asStateError(error, options);
      } finally {
        await run.backend.close();
      }
    });
}

type StatusOptions = BackendOptions & { file: string; key?: string; barrier?: string; json?: boolean; stuck?: boolean; since?: string };

/** `--stuck`: what holds each key (first seen since `--since`) up at `now`; exit 3 when anything does. */
function reportStuck(pipeline: ResolvedPipeline, views: readonly KeyView[], now: number, options: StatusOptions, context: CommandContext): void {
  const since = options.since === undefined ? undefined : parseSince(options.since, now);
  if (since !== undefined && !since.ok) {
    context.stderr.write(`baton status: ${since.error}\n`);
    context.setExitCode(EXIT.usage);
    return;
  }
  const checked = views.filter((v) => since === undefined || (firstSeenAt(v) ?? -Infinity) >= since.at);
  const items = checked.flatMap((v) => findStuck(pipeline, v, now));
  if (options.json) {
    const stuck = items.map((item) => ({ ...item, actions: stuckActions(item, options) }));
    context.stdout.write(`${JSON.stringify({ now, since: since?.at ?? null, checked: checked.length, stuck }, null, 2)}\n`);
  } else {
    context.stdout.write(formatStuck(items, checked.length, now, options, paletteFor(context.stdout)));
  }
  context.setExitCode(items.length > 0 ? EXIT.stuck : EXIT.ok);
}

/** One key's status, every barrier then every batch, in pipeline order. */
export function formatKey(pipeline: ResolvedPipeline, view: KeyView, now: number, palette: Palette): string {
  const lines = [`${palette.bold(`key ${view.key}`)}  correlation id ${view.correlationId ?? '-'}`];
  const width = Math.max(...pipeline.barriers.map((b) => b.name.length), ...pipeline.coordinators.map((c) => c.name.length));
  for (const { barrier, generations } of view.barriers) {
    const name = barrier.padEnd(width);
    if (generations.length === 0) lines.push(`  ${name}  ${palette.dim('no completion yet')}`);
    // One line group per generation: a barrier with modes shows each mode the key ran in.
    for (const status of generations) lines.push(...formatGeneration(name, status, width, now, palette));
  }
  for (const batch of view.batches) {
    const name = batch.coordinator.padEnd(width);
    if (batch.progress === undefined) {
      lines.push(`  ${name}  ${palette.dim('no batch yet')}`);
      continue;
    }
    const { state, counted, failed, total } = batch.progress;
    // A batch that completed with failed or missing entities is `partial`: it finished, not all of it counted.
    const finished = counted.length === total ? palette.green('completed') : palette.yellow('partial');
    const completion = state.completion ? `${finished} ${state.completion.reason}` : palette.yellow(state.batch.state);
    const failures = failed.length > 0 ? `, ${palette.red(`${failed.length} failed`)}` : '';
    lines.push(
      `  ${name}  ${completion} ${counted.length}/${total}${failures} ${state.batch.entityType}${state.batch.incremental ? ' (incremental)' : ' (full list)'}, last progress ${formatDuration(now - state.lastProgressAt)} ago`,
    );
  }
  return lines.join('\n');
}

/** One generation of a barrier × key: fired, or open with what it still needs. */
function formatGeneration(name: string, status: BarrierKeyStatus, width: number, now: number, palette: Palette): string[] {
  const lines: string[] = [];
  const { snapshot } = status;
  const expected = snapshot.expected.length;
  const mode = snapshot.mode ? ` [${snapshot.mode}]` : '';
  const rule = describeThreshold({ ...snapshot.threshold, required: snapshot.threshold.required.map((name) => ({ name, path: [] })), path: [] }, expected);
  const count = `${status.completed.length}/${expected}`;
  if (status.trigger) {
    const data = JSON.parse(status.trigger.message.data) as TriggerData;
    const tier = data.deadline_tier ? ` tier ${data.deadline_tier.tier} (after ${data.deadline_tier.after})` : '';
    const when = formatDuration(status.trigger.decidedAt - snapshot.firstCompletionAt);
    const unreported = unreportedOf(data);
    const missing = unreported.length > 0 ? `; missing ${unreported.join(', ')}` : '';
    const failed = (data.members_failed ?? []).length > 0 ? `; ${palette.red('failed')} ${(data.members_failed ?? []).join(', ')}` : '';
    lines.push(`  ${name}  ${palette.green('fired')} ${data.reason}${tier} ${countOf(data)}${mode}, ${when} after the first completion${missing}${failed}`);
    return lines;
  }
  lines.push(`  ${name}  ${palette.yellow('open')} ${count}${mode}, needs ${rule}`);
  if (status.missing.length > 0) lines.push(`  ${''.padEnd(width)}  missing: ${status.missing.join(', ')}`);
  if (status.failed.length > 0) lines.push(`  ${''.padEnd(width)}  ${palette.red('failed')}: ${status.failed.join(', ')}`);
  // Required members not counted yet hold every tier that does not say ignore_required (issue 10).
  const waiting = snapshot.threshold.required.filter((m) => !status.completed.includes(m));
  const needs = (t: { ignoreRequired?: boolean } | undefined): string => (waiting.length > 0 && t?.ignoreRequired !== true ? ` and ${waiting.join(', ')}` : '');
  if (status.nextDeadlineAt !== undefined) {
    const tier = snapshot.deadlines.findIndex((t) => snapshot.firstCompletionAt + t.afterMs === status.nextDeadlineAt);
    const t = snapshot.deadlines[tier];
    lines.push(
      `  ${''.padEnd(width)}  next deadline: tier ${tier + 1} (≥${t?.minMembers ?? '?'}${needs(t)} after ${t?.after ?? '?'}) in ${formatDuration(status.nextDeadlineAt - now)}`,
    );
  } else if (snapshot.deadlines.length === 0) {
    lines.push(`  ${''.padEnd(width)}  no deadline: waits until the threshold holds`);
  } else {
    const held = waiting.length > 0 && snapshot.deadlines.some((t) => t.ignoreRequired !== true);
    lines.push(
      `  ${''.padEnd(width)}  every deadline tier elapsed${held ? `; the tiers wait for the required ${waiting.join(', ')}` : ' short of its minimum'}`,
    );
  }
  return lines;
}
