import type { Palette } from '../config/format-diagnostics.ts';
import type { StuckItem } from '../runtime/find-stuck.ts';
import { commandLine, type CommandOrigin } from './command-line.ts';
import { formatDuration } from './format-time.ts';

/** What to do about one stuck item: the command that fixes it, or what a person must do. */
export function stuckActions(item: StuckItem, origin: CommandOrigin): string[] {
  if (item.fix.by === 'tick') return [`run: ${commandLine('tick', origin)}`];
  const rerun = item.fix.rerun;
  return [
    ...(rerun.length > 0 ? [`rerun ${rerun.join(', ')} for ${item.key} (or fix what makes ${rerun.length === 1 ? 'it' : 'them'} fail)`] : []),
    `look for dead letters: ${commandLine('dlq list', origin)}`,
    origin.backend === 'gcp'
      ? `or start the key again: ${commandLine('backfill', origin, ['--from', item.key, '--to', item.key, '--force'])}`
      : `or run it again in a state folder of its own (--fresh here would delete every key's state and the dead letters): ${commandLine('run', { ...origin, stateDir: `${origin.stateDir ?? '.baton'}-${item.key}` }, ['--key', item.key])}`,
  ];
}

/** `baton status --stuck` as text: one block per stuck item, saying why and what to run. */
export function formatStuck(items: readonly StuckItem[], checked: number, now: number, origin: CommandOrigin, palette: Palette): string {
  if (items.length === 0) return `nothing stuck: ${checked} key${checked === 1 ? '' : 's'} checked\n`;
  const keys = new Set(items.map((i) => i.key)).size;
  const lines = [`${palette.red(`${items.length} stuck`)} in ${keys} of ${checked} key${checked === 1 ? '' : 's'}`];
  for (const item of items) {
    const who = item.fix.by === 'tick' ? palette.yellow('the tick fixes it') : palette.red('needs a person');
    lines.push('', `${palette.bold(item.key)} ${item.component} (${item.kind}, for ${formatDuration(Math.max(0, now - item.since))}): ${item.why}`);
    lines.push(`  ${who}:`, ...stuckActions(item, origin).map((a) => `    ${a}`));
  }
  return `${lines.join('\n')}\n`;
}

/**
 * Reads `--since`: a duration back from `now` (`90m`, `24h`, `7d`) or an ISO 8601 date or time
 * (`2025-11-29`, `2025-11-29T06:00:00Z`; a date alone is midnight UTC). Epoch ms, or why not.
 */
export function parseSince(text: string, now: number): { ok: true; at: number } | { ok: false; error: string } {
  const duration = /^([1-9][0-9]*)(s|m|h|d)$/.exec(text);
  if (duration) return { ok: true, at: now - Number(duration[1]) * { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[duration[2] as 's' | 'm' | 'h' | 'd'] };
  const at = /^\d{4}-\d{2}-\d{2}(T[\d:.]+(Z|[+-]\d{2}:\d{2}))?$/.test(text) ? Date.parse(text) : NaN;
  if (!Number.isNaN(at)) return { ok: true, at };
  return { ok: false, error: `--since ${text}: write a duration back from now (90m, 24h, 7d) or a date or time (2025-11-29, 2025-11-29T06:00:00Z)` };
}
