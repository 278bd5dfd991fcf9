import { describe, expect, it } from 'vitest';
import { MAX_KEY_LENGTH } from '../../../engine/config/conventions.ts';
import type { KeyRule } from '../../../engine/config/resolved-pipeline.ts';
import { parseKeys, type KeyRuleContext } from '../../../engine/cli/parse-keys.ts';

const contextOf = (rule: KeyRule, files: Record<string, string> = {}): KeyRuleContext => ({
  rule,
  ruleAt: (field) => `pipeline.yaml:${field === 'type' ? 6 : 7}:${field === 'type' ? 9 : 12}`,
  readText: (file) => {
    const text = files[file];
    if (text === undefined) throw new Error(`ENOENT: no such file or directory, open '${file}'`);
    return text;
  },
});
const text: KeyRule = { name: 'run_id', type: 'string', pattern: undefined };
const hourly: KeyRule = { name: 'run_hour', type: 'string', pattern: '^\\d{4}-\\d{2}-\\d{2}T([01]\\d|2[0-3])$' };
const hour: KeyRule = { name: 'window_hour', type: 'hour', pattern: undefined };
const date: KeyRule = { name: 'game_date', type: 'date', pattern: undefined };

describe('parseKeys key length (#16.4: a key too long for the ids derived from it wedged every tick)', () => {
  it.each([
    { name: 'a key at the bound', key: 'k'.repeat(MAX_KEY_LENGTH), ok: true },
    { name: 'a key one character over the bound', key: 'k'.repeat(MAX_KEY_LENGTH + 1), ok: false },
    { name: 'a key of 200 characters (the old bound)', key: 'k'.repeat(200), ok: false },
    { name: 'a key of multi-byte characters at the bound', key: 'é'.repeat(MAX_KEY_LENGTH), ok: true },
  ])('$name: accepted = $ok', ({ key, ok }) => {
    const parsed = parseKeys({ key: [key] }, contextOf(text));
    expect(parsed.ok).toBe(ok);
    if (!parsed.ok) expect(parsed.error).toContain(`a key has at most ${MAX_KEY_LENGTH}`);
  });
});

describe('parseKeys checks every key against the key rule before anything runs (issue 10: --key 2026-11-29T25 ran and dead-lettered 61 messages)', () => {
  it.each([
    {
      name: 'a --key that breaks key.pattern',
      rule: hourly,
      options: { key: ['2026-11-29T25'] },
      error: `--key "2026-11-29T25" does not match key.pattern ${hourly.pattern ?? ''} (pipeline.yaml:7:12)`,
    },
    {
      name: 'one bad key of a --keys list',
      rule: hourly,
      options: { keys: '2026-11-29T10,2026-11-29T99' },
      error: `--keys "2026-11-29T99" does not match key.pattern ${hourly.pattern ?? ''} (pipeline.yaml:7:12)`,
    },
    {
      name: 'a date that does not exist',
      rule: date,
      options: { key: ['2025-02-30'] },
      error: '--key "2025-02-30" is not a date; key.type date expects YYYY-MM-DD (pipeline.yaml:6:9)',
    },
    {
      name: 'an hour key given as a date',
      rule: hour,
      options: { key: ['2026-11-29'] },
      error: '--key "2026-11-29" is not an hour; key.type hour expects YYYY-MM-DDTHH (UTC) (pipeline.yaml:6:9)',
    },
    {
      name: 'a range of string keys',
      rule: hourly,
      options: { keys: '2026-11-29T10..2026-11-29T13' },
      error:
        '--keys 2026-11-29T10..2026-11-29T13: run_hour is a string key, which has no order to step through; list the keys (a,b,c) or read them with --keys-from FILE',
    },
    { name: 'a list of nothing', rule: text, options: { keys: ' , ' }, error: '--keys " , " holds no key; give a range A..B or a list a,b,c' },
  ])('refuses $name', ({ rule, options, error }) => {
    expect(parseKeys(options, contextOf(rule))).toEqual({ ok: false, error });
  });

  it('expands an hour range and keeps the order of --key, --keys and --keys-from', () => {
    const parsed = parseKeys(
      { key: ['2026-11-30T00'], keys: '2026-11-29T22..2026-11-29T23', keysFrom: 'k.txt' },
      contextOf(hour, { 'k.txt': '2026-11-29T05\n' }),
    );
    expect(parsed).toEqual({ ok: true, keys: ['2026-11-30T00', '2026-11-29T22', '2026-11-29T23', '2026-11-29T05'], notices: [] });
  });
});

describe('parseKeys --keys-from', () => {
  const file = ['# hours to backfill', '2026-11-29T10', '', '  2026-11-29T11   # the late one', '2026-11-29T10', '2026-11-29T11'].join('\n');

  it('reads one key per line, ignores comments and blank lines, and drops repeats with a notice naming their lines', () => {
    expect(parseKeys({ keysFrom: 'hours.txt' }, contextOf(hourly, { 'hours.txt': file }))).toEqual({
      ok: true,
      keys: ['2026-11-29T10', '2026-11-29T11'],
      notices: [
        'note: 2 repeated keys dropped, each runs once: 2026-11-29T10 (--keys-from hours.txt:5, first at --keys-from hours.txt:2); 2026-11-29T11 (--keys-from hours.txt:6, first at --keys-from hours.txt:4)',
      ],
    });
  });

  it('names the file and line of a key that breaks the rule', () => {
    const parsed = parseKeys({ keysFrom: 'hours.txt' }, contextOf(hourly, { 'hours.txt': '2026-11-29T10\r\n2026-11-29T24\r\n' }));
    expect(parsed).toEqual({
      ok: false,
      error: `--keys-from hours.txt:2 "2026-11-29T24" does not match key.pattern ${hourly.pattern ?? ''} (pipeline.yaml:7:12)`,
    });
  });

  it('names stdin as the source of keys when the file is -', () => {
    const parsed = parseKeys({ keysFrom: '-' }, contextOf(hourly, { '-': 'nope\n' }));
    expect(parsed.ok || parsed.error).toMatch(/^--keys-from stdin:1 "nope"/);
  });

  it.each<{ name: string; files: Record<string, string>; error: string }>([
    {
      name: 'a file it cannot read',
      files: {},
      error: "--keys-from hours.txt: cannot read it (ENOENT: no such file or directory, open 'hours.txt')",
    },
    {
      name: 'a file of comments only',
      files: { 'hours.txt': '# nothing yet\n\n' },
      error: '--keys-from hours.txt holds no key (one key per line; # starts a comment)',
    },
  ])('refuses $name', ({ files, error }) => {
    expect(parseKeys({ keysFrom: 'hours.txt' }, contextOf(hourly, files))).toEqual({ ok: false, error });
  });
});
