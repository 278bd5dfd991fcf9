import { MAX_KEY_LENGTH } from '../config/conventions.ts';

/** Keys given on the command line, or why they are not valid. */
export type ParsedKeys = { readonly ok: true; readonly keys: string[] } | { readonly ok: false; readonly error: string };

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
/** Largest range `--keys` expands, so a typo in a year cannot queue a century of work. */
export const MAX_KEYS = 3660;

function isDate(text: string): boolean {
  const m = DATE.exec(text);
  if (!m) return false;
  const date = new Date(`${text}T00:00:00Z`);
  return !Number.isNaN(date.getTime()) && date.toISOString().slice(0, 10) === text;
}

/**
 * Reads `--key` values and a `--keys` list or range: `2025-11-01..2025-11-30` (dates, inclusive) or
 * `a,b,c`. For `date` keys every key must be a real calendar date; order is kept, repeats dropped.
 */
export function parseKeys(single: readonly string[], list: string | undefined, type: 'date' | 'string'): ParsedKeys {
  const keys: string[] = [...single];
  if (list !== undefined) {
    const range = /^(.+)\.\.(.+)$/.exec(list);
    if (range) {
      const [from, to] = [range[1] ?? '', range[2] ?? ''];
      if (type !== 'date' || !isDate(from) || !isDate(to)) return { ok: false, error: `--keys ${list}: a range needs two dates, YYYY-MM-DD..YYYY-MM-DD` };
      const start = Date.parse(`${from}T00:00:00Z`);
      const end = Date.parse(`${to}T00:00:00Z`);
      if (end < start) return { ok: false, error: `--keys ${list}: the range ends before it starts` };
      const days = (end - start) / 86_400_000 + 1;
      if (days > MAX_KEYS) return { ok: false, error: `--keys ${list}: ${days} keys; at most ${MAX_KEYS} per run` };
      for (let t = start; t <= end; t += 86_400_000) keys.push(new Date(t).toISOString().slice(0, 10));
    } else {
      keys.push(
        ...list
          .split(',')
          .map((k) => k.trim())
          .filter((k) => k !== ''),
      );
    }
  }
  if (type === 'date') {
    const bad = keys.find((k) => !isDate(k));
    if (bad !== undefined) return { ok: false, error: `key "${bad}" is not a calendar date (YYYY-MM-DD); this pipeline's key is a date` };
  } else {
    const bad = keys.find((k) => k.trim() === '' || [...k].length > MAX_KEY_LENGTH);
    if (bad !== undefined) return { ok: false, error: `key "${bad}" is empty or longer than ${MAX_KEY_LENGTH} characters` };
  }
  return { ok: true, keys: [...new Set(keys)] };
}
