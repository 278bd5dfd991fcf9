import { describe, expect, it } from 'vitest';
import { expandKeyRange, keyRuleProblem, MAX_RANGE_KEYS } from '../../../engine/config/key-rule.ts';
import type { KeyRule } from '../../../engine/config/resolved-pipeline.ts';

const date: KeyRule = { name: 'game_date', type: 'date', pattern: undefined };
const hour: KeyRule = { name: 'window_hour', type: 'hour', pattern: undefined };
const hourly: KeyRule = { name: 'run_id', type: 'string', pattern: '^\\d{4}-\\d{2}-\\d{2}T([01]\\d|2[0-3])$' };

describe('keyRuleProblem', () => {
  it.each([
    { rule: date, key: '2025-11-29', problem: undefined },
    { rule: date, key: '2025-02-30', problem: 'is not a date; key.type date expects YYYY-MM-DD' },
    { rule: hour, key: '2026-11-29T23', problem: undefined },
    { rule: hour, key: '2026-11-29T24', problem: 'is not an hour; key.type hour expects YYYY-MM-DDTHH (UTC)' },
    { rule: hour, key: '2026-02-29T10', problem: 'is not an hour; key.type hour expects YYYY-MM-DDTHH (UTC)' },
    { rule: hour, key: '2026-11-29', problem: 'is not an hour; key.type hour expects YYYY-MM-DDTHH (UTC)' },
    { rule: hourly, key: '2026-11-29T25', problem: `does not match key.pattern ${hourly.pattern ?? ''}` },
    { rule: hourly, key: '2026-11-29T10', problem: undefined },
    { rule: hourly, key: ' ', problem: 'is empty' },
  ])('$rule.type key "$key": $problem', ({ rule, key, problem }) => {
    expect(keyRuleProblem(rule, key)?.message).toBe(problem);
  });

  it('names the field of key: a key broke, so the CLI can point at it', () => {
    expect(keyRuleProblem(hourly, 'x')?.field).toBe('pattern');
    expect(keyRuleProblem(date, 'x')?.field).toBe('type');
  });
});

describe('expandKeyRange', () => {
  it('steps a date range by day, both ends included, across a month end', () => {
    expect(expandKeyRange(date, '2025-11-29', '2025-12-02')).toEqual({ ok: true, keys: ['2025-11-29', '2025-11-30', '2025-12-01', '2025-12-02'] });
  });

  it('steps an hour range by hour, both ends included, across midnight', () => {
    expect(expandKeyRange(hour, '2026-11-29T22', '2026-11-30T01')).toEqual({
      ok: true,
      keys: ['2026-11-29T22', '2026-11-29T23', '2026-11-30T00', '2026-11-30T01'],
    });
  });

  it('refuses a range of string keys, which have no order, and says to list them instead', () => {
    const range = expandKeyRange(hourly, 'a', 'b');
    expect(range.ok).toBe(false);
    if (!range.ok)
      expect(range.error).toBe('run_id is a string key, which has no order to step through; list the keys (a,b,c) or read them with --keys-from FILE');
  });

  it.each([
    { name: 'ends before it starts', rule: hour, from: '2026-11-29T10', to: '2026-11-29T09', error: 'the range ends before it starts' },
    {
      name: 'ends are not hours',
      rule: hour,
      from: '2026-11-29',
      to: '2026-11-30',
      error: '"2026-11-29" is not an hour; a range of hour keys is YYYY-MM-DDTHH..YYYY-MM-DDTHH (UTC)',
    },
    {
      name: 'an end is not a date',
      rule: date,
      from: '2026-11-29',
      to: '2026-11-31',
      error: '"2026-11-31" is not a date; a range of date keys is YYYY-MM-DD..YYYY-MM-DD',
    },
    {
      name: 'holds one key more than the cap',
      rule: hour,
      from: '2026-01-01T00',
      to: new Date(Date.UTC(2026, 0, 1) + MAX_RANGE_KEYS * 3_600_000).toISOString().slice(0, 13),
      error: `${MAX_RANGE_KEYS + 1} keys; a range holds at most ${MAX_RANGE_KEYS} (split it, or list the keys with --keys-from FILE)`,
    },
  ])('refuses a range that $name', ({ rule, from, to, error }) => {
    expect(expandKeyRange(rule, from, to)).toEqual({ ok: false, error });
  });

  it('expands a range of exactly the cap', () => {
    const to = new Date(Date.UTC(2026, 0, 1) + (MAX_RANGE_KEYS - 1) * 3_600_000).toISOString().slice(0, 13);
    const range = expandKeyRange(hour, '2026-01-01T00', to);
    expect(range.ok && range.keys.length).toBe(MAX_RANGE_KEYS);
  });
});
