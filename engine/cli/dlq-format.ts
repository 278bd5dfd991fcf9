import type { Palette } from '../config/format-diagnostics.ts';
import type { ResolvedPipeline } from '../config/resolved-pipeline.ts';
import { planSubscriptions } from '../graph/subscription-plan.ts';
import type { DeadLetterRecord, RedriveOutcome } from '../ports/dead-letter-queue.ts';

/** A dead letter as `baton dlq … --json` prints it: times as ISO text, who consumes the subscription. */
export interface DeadLetterJson {
  readonly id: string;
  readonly messageId: string;
  readonly topic: string;
  readonly key: string | null;
  readonly subscription: string;
  /** The processor, barrier or coordinator the subscription delivers to (null: not in this pipeline). */
  readonly consumer: string | null;
  readonly reason: string;
  readonly deliveryAttempts: number;
  readonly firstAttemptAt: string | null;
  readonly lastAttemptAt: string;
  readonly path: 'pull' | 'push';
  readonly redrive: { readonly at: string; readonly result: string } | null;
}

/** Who reads each subscription of the pipeline: `processor load_a`, `barrier ingest-done`. */
export function consumersOf(pipeline: ResolvedPipeline): Map<string, { readonly name: string; readonly role: string }> {
  return new Map(planSubscriptions(pipeline).map((p) => [p.name, { name: p.consumer, role: p.role === 'coordinator-ready' ? 'coordinator' : p.role }]));
}

/** A time as people compare them in a list: ISO, to the second. */
export function formatInstant(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** The JSON form of a dead letter. */
export function deadLetterJson(record: DeadLetterRecord, pipeline: ResolvedPipeline): DeadLetterJson {
  return {
    id: record.id,
    messageId: record.messageId,
    topic: record.topic,
    key: record.message.attributes['ce-subject'] ?? null,
    subscription: record.subscription,
    consumer: consumersOf(pipeline).get(record.subscription)?.name ?? null,
    reason: record.reason,
    deliveryAttempts: record.deliveryAttempts,
    firstAttemptAt: record.firstAttemptAt === undefined ? null : new Date(record.firstAttemptAt).toISOString(),
    lastAttemptAt: new Date(record.lastAttemptAt).toISOString(),
    path: record.path,
    redrive: record.redrive === undefined ? null : { at: new Date(record.redrive.at).toISOString(), result: record.redrive.result },
  };
}

/** `baton dlq list`: one row per dead letter under a header, the reason last (it is the long one). */
export function formatDeadLetterList(records: readonly DeadLetterRecord[], pipeline: ResolvedPipeline, palette: Palette): string {
  const rows = records.map((r) => {
    const json = deadLetterJson(r, pipeline);
    const state = r.redrive === undefined ? '' : palette.dim(` [redriven ${formatInstant(r.redrive.at)}]`);
    return [
      json.id,
      json.messageId,
      json.topic,
      json.key ?? '-',
      json.consumer ?? json.subscription,
      json.firstAttemptAt === null ? '-' : formatInstant(r.firstAttemptAt ?? 0),
      formatInstant(r.lastAttemptAt),
      `${r.reason}${state}`,
    ];
  });
  const header = ['ID', 'MESSAGE', 'TOPIC', 'KEY', 'CONSUMER', 'FIRST ATTEMPT', 'LAST ATTEMPT', 'REASON'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [palette.bold(line(header)), ...rows.map(line)].join('\n');
}

/** `baton dlq show`: the dead letter's facts, its attributes, and its body decoded. */
export function formatDeadLetter(record: DeadLetterRecord, pipeline: ResolvedPipeline, palette: Palette): string {
  const json = deadLetterJson(record, pipeline);
  const consumer = consumersOf(pipeline).get(record.subscription);
  const first = json.firstAttemptAt === null ? '' : `, first ${formatInstant(record.firstAttemptAt ?? 0)}`;
  const facts: [string, string][] = [
    ['message id', record.messageId],
    ['topic', record.topic],
    ['key', json.key ?? '-'],
    ['subscription', `${record.subscription}${consumer === undefined ? '' : ` (${consumer.role} ${consumer.name})`}`],
    ['reason', record.reason],
    ['attempts', `${record.deliveryAttempts}${first}, last ${formatInstant(record.lastAttemptAt)}`],
    ['redriven', record.redrive === undefined ? 'no' : `${formatInstant(record.redrive.at)}: ${record.redrive.result}`],
  ];
  const width = Math.max(...facts.map(([name]) => name.length));
  const lines = [palette.bold(`dead letter ${record.id} (${record.path} path)`), ...facts.map(([name, value]) => `  ${name.padEnd(width)}  ${value}`)];
  lines.push(palette.bold('attributes'));
  for (const [name, value] of Object.entries(record.message.attributes).sort(([a], [b]) => a.localeCompare(b))) lines.push(`  ${name}: ${value}`);
  const body = decodeBody(record.message.data);
  lines.push(palette.bold(body.json ? 'envelope data' : 'body (not JSON)'));
  lines.push(...body.text.split('\n').map((l) => `  ${l}`));
  return lines.join('\n');
}

/** The body pretty-printed when it is JSON, else as it is. */
export function decodeBody(data: string): { readonly json: boolean; readonly value: unknown; readonly text: string } {
  try {
    const value = JSON.parse(data) as unknown;
    return { json: true, value, text: JSON.stringify(value, null, 2) };
  } catch {
    return { json: false, value: data, text: data };
  }
}

/** One line per redrive outcome: `1  redriven: delivered to … again`. */
export function formatRedrive(outcomes: readonly RedriveOutcome[], palette: Palette): string {
  const width = Math.max(...outcomes.map((o) => o.id.length));
  const word: Record<RedriveOutcome['outcome'], string> = {
    redriven: palette.green('redriven'),
    'would-redrive': 'would redrive',
    'already-redriven': palette.yellow('skipped'),
    'not-found': palette.red('not found'),
    failed: palette.red('failed'),
  };
  return outcomes.map((o) => `${o.id.padEnd(width)}  ${word[o.outcome]}: ${o.note}`).join('\n');
}

/**
 * A `--since` value as epoch ms: a time (`2025-11-29`, `2025-11-29T12:00Z`; UTC unless it says otherwise) or an age before `now`
 * (`30m`, `2h`, `7d`). Undefined when it is neither.
 */
export function parseSince(value: string, now: number): number | undefined {
  const age = /^(\d+)(m|h|d)$/.exec(value);
  if (age) return now - Number(age[1]) * { m: 60_000, h: 3_600_000, d: 86_400_000 }[age[2] as 'm' | 'h' | 'd'];
  const parts = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/.exec(value);
  if (parts === null) return undefined;
  // A time without an offset is UTC, as every time Baton prints is.
  const time = Date.parse(parts[1] === undefined && value.length > 10 ? `${value.replace(' ', 'T')}Z` : value);
  return Number.isNaN(time) ? undefined : time;
}
