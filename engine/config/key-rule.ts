import { MAX_KEY_LENGTH } from './conventions.ts';
import type { KeyRule } from './resolved-pipeline.ts';

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

/** Largest range `--keys A..B` expands, so a typo in a year cannot queue a century of work. */
export const MAX_RANGE_KEYS = 10_000;

/** True for a real calendar date written YYYY-MM-DD (2025-02-30 is not one). */
export function isCalendarDate(text: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(text)) return false;
  // Round-tripping through Date rejects 2025-02-30 and similar.
  const date = new Date(`${text}T00:00:00Z`);
  return !Number.isNaN(date.getTime()) && date.toISOString().slice(0, 10) === text;
}

/** True for an hour of a real calendar date written YYYY-MM-DDTHH (UTC, hours 00–23). */
export function isCalendarHour(text: string): boolean {
  const m = /^(\d{4}-\d{2}-\d{2})T([01]\d|2[0-3])$/.exec(text);
  return m !== null && isCalendarDate(m[1] ?? '');
}

/** How a range of each ordered key type is written, for messages. */
const RANGE_FORMAT: Record<'date' | 'hour', string> = { date: 'YYYY-MM-DD..YYYY-MM-DD', hour: 'YYYY-MM-DDTHH..YYYY-MM-DDTHH (UTC)' };

/** How each ordered key type is written, for messages. */
const FORMAT: Record<'date' | 'hour', string> = { date: 'YYYY-MM-DD', hour: 'YYYY-MM-DDTHH (UTC)' };

const patterns = new Map<string, RegExp>();

/** `key.pattern` compiled once: a `--keys-from` file or a busy barrier checks many keys against it. */
function patternOf(source: string): RegExp {
  let pattern = patterns.get(source);
  if (pattern === undefined) patterns.set(source, (pattern = new RegExp(source)));
  return pattern;
}

/** Why a key breaks the key rule, and which field of `key:` it breaks (to point at it in pipeline.yaml). */
export interface KeyRuleProblem {
  readonly message: string;
  readonly field?: 'type' | 'pattern';
}

/**
 * What is wrong with `key` under the pipeline's key rule, or undefined when it obeys it: not empty,
 * at most `MAX_KEY_LENGTH` characters, a real date for `date` keys, a real hour for `hour` keys, and a
 * match of `key.pattern` when there is one. The runtime throws it as `InvalidKeyError`; the CLI prints it.
 */
export function keyRuleProblem(rule: KeyRule, key: string): KeyRuleProblem | undefined {
  const length = [...key].length;
  if (key.trim() === '') return { message: 'is empty' };
  if (length > MAX_KEY_LENGTH) return { message: `is ${length} characters; a key has at most ${MAX_KEY_LENGTH} (every id derived from it must fit)` };
  if (rule.type === 'date' && !isCalendarDate(key)) return { message: `is not a date; key.type date expects ${FORMAT.date}`, field: 'type' };
  if (rule.type === 'hour' && !isCalendarHour(key)) return { message: `is not an hour; key.type hour expects ${FORMAT.hour}`, field: 'type' };
  if (rule.pattern !== undefined && !patternOf(rule.pattern).test(key)) return { message: `does not match key.pattern ${rule.pattern}`, field: 'pattern' };
  return undefined;
}

/** A range's keys, or why it cannot be expanded. */
export type KeyRange = { readonly ok: true; readonly keys: string[] } | { readonly ok: false; readonly error: string };

/**
 * Every key from `from` to `to`, both included, in order: one per day for `date` keys, one per hour
 * for `hour` keys. String keys have no order Baton knows, so a range of them is refused; so is a
 * range that ends before it starts or holds more than `MAX_RANGE_KEYS` keys. The caller checks
 * each key against the rest of the rule (pattern).
 */
export function expandKeyRange(rule: KeyRule, from: string, to: string): KeyRange {
  if (rule.type === 'string')
    return { ok: false, error: `${rule.name} is a string key, which has no order to step through; list the keys (a,b,c) or read them with --keys-from FILE` };
  const step = rule.type === 'date' ? DAY_MS : HOUR_MS;
  const valid = rule.type === 'date' ? isCalendarDate : isCalendarHour;
  const bad = [from, to].find((k) => !valid(k));
  if (bad !== undefined)
    return { ok: false, error: `"${bad}" is not ${rule.type === 'date' ? 'a date' : 'an hour'}; a range of ${rule.type} keys is ${RANGE_FORMAT[rule.type]}` };
  const start = toMs(rule.type, from);
  const end = toMs(rule.type, to);
  if (end < start) return { ok: false, error: 'the range ends before it starts' };
  const count = (end - start) / step + 1;
  if (count > MAX_RANGE_KEYS)
    return { ok: false, error: `${count} keys; a range holds at most ${MAX_RANGE_KEYS} (split it, or list the keys with --keys-from FILE)` };
  const keys: string[] = [];
  for (let t = start; t <= end; t += step) keys.push(fromMs(rule.type, t));
  return { ok: true, keys };
}

function toMs(type: 'date' | 'hour', key: string): number {
  return Date.parse(type === 'date' ? `${key}T00:00:00Z` : `${key}:00:00Z`);
}

function fromMs(type: 'date' | 'hour', ms: number): string {
  return new Date(ms).toISOString().slice(0, type === 'date' ? 10 : 13);
}
