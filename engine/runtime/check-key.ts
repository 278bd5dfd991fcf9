import { MAX_KEY_LENGTH } from '../config/conventions.ts';
import type { ResolvedPipeline } from '../config/resolved-pipeline.ts';
import { InvalidKeyError } from './errors.ts';

/** Throws a permanent `InvalidKeyError` unless `key` obeys the pipeline's key rule and is at most `MAX_KEY_LENGTH` characters. */
export function checkKey(rule: ResolvedPipeline['key'], key: string): void {
  const length = [...key].length;
  if (length > MAX_KEY_LENGTH) {
    throw new InvalidKeyError(
      `${rule.name} "${key.slice(0, 40)}…" is ${length} characters; a key has at most ${MAX_KEY_LENGTH} (every id derived from it must fit)`,
    );
  }
  if (rule.type === 'date' && !isCalendarDate(key)) throw new InvalidKeyError(`${rule.name} "${key}" is not a date; expected YYYY-MM-DD`);
  if (rule.pattern !== undefined && !new RegExp(rule.pattern).test(key)) {
    throw new InvalidKeyError(`${rule.name} "${key}" does not match the key pattern ${rule.pattern}`);
  }
}

function isCalendarDate(text: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(text)) return false;
  // Round-tripping through Date rejects 2025-02-30 and similar.
  const date = new Date(`${text}T00:00:00Z`);
  return !Number.isNaN(date.getTime()) && date.toISOString().slice(0, 10) === text;
}
