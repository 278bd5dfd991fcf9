import { describeCounts, unreportedOf } from '../runtime/describe-trigger.ts';
import { withPipelineFile } from './pipeline-file.ts';
import { Command } from 'commander';
import { loadValidPipeline } from './load-valid-pipeline.ts';
import type { PublishedMessage } from '../ports/message-history.ts';
import type { CompletionData, TriggerData, WorkData } from '../runtime/envelope.ts';
import { keyOptionError, keyRuleContext } from './parse-keys.ts';
import { EXIT, type CommandContext } from './exit-codes.ts';
import { formatDuration } from './format-time.ts';
import { openStoredRun } from './stored-run.ts';
import { paletteFor } from './terminal.ts';
import { commandLine } from './command-line.ts';
import { asStateError } from './embedded-backend.ts';
import { backendChoice, backendUsageError, stateLocation, withBackendOptions, type BackendOptions } from './backend-options.ts';

/** `baton trace <correlation-id | key>`: every message of a run, in order, with hops and fan-in lineage. */
export function traceCommand(context: CommandContext): Command {
  const command = withPipelineFile(new Command('trace'), { positional: false })
    .description('show the timeline of every message of a key (or correlation id) across phases, hop durations and fan-in lineage')
    .argument('<id>', 'a key (e.g. 2025-11-29) or a correlation id')
    .option('--work', 'also list every per-entity work and ready message (hidden by default: there may be hundreds)')
    .option('--json', 'print the messages as JSON');
  return withBackendOptions(command).action(async (id: string, options: BackendOptions & { file: string; work?: boolean; json?: boolean }) => {
    const { stdout, stderr } = context;
    const badBackend = backendUsageError(options);
    if (badBackend !== undefined) {
      stderr.write(`baton trace: ${badBackend}\n`);
      context.setExitCode(EXIT.usage);
      return;
    }
    const loaded = loadValidPipeline(options.file, context);
    if (loaded === undefined) return;
    const run = await openStoredRun(loaded.pipeline, backendChoice(options));
    if (run === undefined) {
      stderr.write(`baton trace: ${stateLocation(options)} holds no state; start one with: ${commandLine('run', options)}\n`);
      context.setExitCode(EXIT.invalid);
      return;
    }
    try {
      const messages = (await run.backend.bus.messagesOf(id)).filter((m) => !m.topic.endsWith('-dlq'));
      if (messages.length === 0) {
        // An id that breaks the key rule can only be a correlation id; say so when it is not one either.
        const badKey = keyOptionError('<id>', id, keyRuleContext(loaded));
        const where = stateLocation(options);
        stderr.write(
          badKey === undefined
            ? `baton trace: no message has key or correlation id "${id}" in ${where}\n`
            : `baton trace: no message has correlation id "${id}" in ${where}, and it is not a key: ${badKey}\n`,
        );
        context.setExitCode(badKey === undefined ? EXIT.invalid : EXIT.usage);
        return;
      }
      if (options.json)
        stdout.write(
          `${JSON.stringify(
            messages.map((m) => ({ ...m, data: JSON.parse(m.data) as unknown })),
            null,
            2,
          )}\n`,
        );
      else stdout.write(`${formatTrace(messages, options.work === true, paletteFor(stdout).bold)}\n`);
      context.setExitCode(EXIT.ok);
    } catch (error) {
      throw asStateError(error, options);
    } finally {
      await run.backend.close();
    }
  });
}

/** The timeline: one line per message, `+time  hop  what`, and each trigger's fan-in lineage under it. */
export function formatTrace(messages: readonly PublishedMessage[], showWork: boolean, bold: (s: string) => string): string {
  const byId = new Map(messages.map((m) => [m.id, m]));
  const start = messages[0]?.publishedAt ?? 0;
  const correlation = new Set(messages.map((m) => m.attributes['ce-correlationid']));
  const traces = new Set(messages.map((m) => /^00-([0-9a-f]{32})-/.exec(m.attributes['ce-traceparent'] ?? '')?.[1]).filter((t) => t !== undefined));
  const lines = [
    `${messages.length} messages, key ${messages[0]?.attributes['ce-subject'] ?? '?'}, correlation id ${[...correlation].join(', ')}, ${traces.size} trace id${traces.size === 1 ? '' : 's'}`,
  ];
  let work = 0;
  let ready = 0;
  for (const m of messages) {
    const type = m.attributes['ce-type'] ?? '';
    const at = `+${formatDuration(m.publishedAt - start)}`.padStart(9);
    if (type.endsWith('work.v1')) {
      work++;
      if (!showWork) continue;
      const data = JSON.parse(m.data) as WorkData;
      lines.push(`${at}  ${''.padStart(8)}  work     ${data.coordinator} → ${m.topic}: ${data.entity_type} ${String(data.entity_id)}`);
      continue;
    }
    if (type.endsWith('completion.v1')) {
      const data = JSON.parse(m.data) as CompletionData;
      if (data.batch_id !== undefined) {
        ready++;
        if (!showWork) continue;
      }
      const cause = data.trigger_message_id === undefined ? undefined : byId.get(data.trigger_message_id);
      const hop = cause ? formatDuration(m.publishedAt - cause.publishedAt) : '';
      const entities = data.metadata?.entities_changed
        ? ` changed ${Object.entries(data.metadata.entities_changed)
            .map(([t, ids]) => `${ids.length} ${t}`)
            .join(', ')}`
        : '';
      const again = m.id.endsWith(':again') ? ' (duplicate delivery)' : '';
      lines.push(`${at}  ${hop.padStart(8)}  done     ${data.processor_name} → ${m.topic}: ${data.status}${entities}${again}`);
      continue;
    }
    const data = JSON.parse(m.data) as TriggerData;
    const joined = data.lineage.map((id) => byId.get(id)).filter((x): x is PublishedMessage => x !== undefined);
    const last = Math.max(...joined.map((j) => j.publishedAt));
    const hop = joined.length > 0 ? formatDuration(m.publishedAt - last) : '';
    const target = data.target ? ` (starts ${data.target})` : '';
    const unreported = unreportedOf(data);
    const missing = unreported.length > 0 ? `, missing ${unreported.join(', ')}` : '';
    // A barrier with modes fires once per mode of a key: the mode names the generation (issue 16 #1).
    const generation = data.mode === undefined ? '' : ` [${data.mode}]`;
    lines.push(
      bold(`${at}  ${hop.padStart(8)}  trigger  ${data.emitter}${generation} → ${m.topic}${target}: ${data.reason} ${describeCounts(data)}${missing}`),
    );
    if (joined.length > 0) {
      const first = Math.min(...joined.map((j) => j.publishedAt));
      lines.push(`${''.padStart(21)}joined ${data.lineage.length} completions, +${formatDuration(first - start)} … +${formatDuration(last - start)}`);
    }
  }
  if (!showWork && work + ready > 0) lines.push(`(${work} work and ${ready} ready messages hidden; --work lists them)`);
  return lines.join('\n');
}
