import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../helpers/run-cli.ts';

const HOURLY = fileURLToPath(new URL('../../fixtures/valid/hourly-telemetry.yaml', import.meta.url));
const PATTERN = '^\\d{4}-\\d{2}-\\d{2}T([01]\\d|2[0-3])$';
const temp = (): string => mkdtempSync(join(tmpdir(), 'baton-keys-'));

/** The hourly fixture with a string key and a pattern instead of an hour key: the shape of issue 10's pipeline. */
function patternPipeline(): string {
  const file = join(temp(), 'pipeline.yaml');
  writeFileSync(
    file,
    readFileSync(HOURLY, 'utf8').replace('  type: hour\n', () => `  type: string\n  pattern: '${PATTERN}'\n`),
  );
  return file;
}

describe('keys on the command line are checked before anything runs (issue 10: --key 2026-11-29T25 dead-lettered 61 messages)', () => {
  it('refuses a --key that breaks key.pattern with exit 2, naming the key, the rule and its line, and writes no state', async () => {
    const file = patternPipeline();
    const stateDir = join(temp(), 'state');
    const { code, stderr, stdout } = await runCli('run', '-f', file, '--state-dir', stateDir, '--key', '2026-11-29T25');
    expect(code).toBe(2);
    expect(stderr).toBe(`baton run: --key "2026-11-29T25" does not match key.pattern ${PATTERN} (${file}:9:12)\n`);
    expect(stdout).toBe('');
    expect(existsSync(stateDir)).toBe(false);
  });

  it('refuses a range of string keys and says to list them or use --keys-from', async () => {
    const { code, stderr } = await runCli('run', '-f', patternPipeline(), '--state-dir', join(temp(), 's'), '--keys', '2026-11-29T10..2026-11-29T13');
    expect(code).toBe(2);
    expect(stderr).toContain('window_hour is a string key, which has no order to step through; list the keys (a,b,c) or read them with --keys-from FILE');
  });

  it('refuses a check-processor --key that breaks the rule, and asks for --key when a pattern leaves no key to make up', async () => {
    const file = patternPipeline();
    const bad = await runCli('check-processor', 'load_a', '--url', 'http://127.0.0.1:1/', '-f', file, '--key', 'x');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe(`baton check-processor: --key "x" does not match key.pattern ${PATTERN} (${file}:9:12)\n`);
    const none = await runCli('check-processor', 'load_a', '--url', 'http://127.0.0.1:1/', '-f', file);
    expect(none.code).toBe(2);
    expect(none.stderr).toBe(`baton check-processor: pass --key: window_hour must match key.pattern ${PATTERN}, so no key can be made up\n`);
  });

  it('refuses a bad rehearse key before any emulator starts', async () => {
    const { code, stderr } = await runCli('rehearse', HOURLY, '--keys', '2026-11-29T10,2026-11-29T7');
    expect(code).toBe(2);
    expect(stderr).toBe(`baton rehearse: --keys "2026-11-29T7" is not an hour; key.type hour expects YYYY-MM-DDTHH (UTC) (${HOURLY}:8:9)\n`);
  });

  it('refuses a status --key that is not an hour before reading any state', async () => {
    const { code, stderr } = await runCli('status', '-f', HOURLY, '--state-dir', join(temp(), 'none'), '--key', '2026-11-29');
    expect(code).toBe(2);
    expect(stderr).toBe(`baton status: --key "2026-11-29" is not an hour; key.type hour expects YYYY-MM-DDTHH (UTC) (${HOURLY}:8:9)\n`);
  });
});

describe('an hour key end to end', () => {
  const stateDir = join(temp(), 'state');
  let run: { code: number; stdout: string; stderr: string };
  beforeAll(async () => {
    run = await runCli('run', '--json', '--start', '2026-11-29T15:00:00Z', '-f', HOURLY, '--state-dir', stateDir, '--keys', '2026-11-29T10..2026-11-29T13');
  });

  it('runs --keys 2026-11-29T10..2026-11-29T13 as four hourly keys, every one finished', () => {
    expect(run.code).toBe(0);
    const summary = JSON.parse(run.stdout) as { finishedKeys: number; keys: { key: string }[] };
    expect(summary.keys.map((k) => k.key)).toEqual(['2026-11-29T10', '2026-11-29T11', '2026-11-29T12', '2026-11-29T13']);
    expect(summary.finishedKeys).toBe(4);
  });

  it('traces an hour key, and says an id that is neither a key nor a correlation id is not a key', async () => {
    expect((await runCli('trace', '-f', HOURLY, '--state-dir', stateDir, '2026-11-29T11')).code).toBe(0);
    const { code, stderr } = await runCli('trace', '-f', HOURLY, '--state-dir', stateDir, '2026-11-29T1');
    expect(code).toBe(2);
    expect(stderr).toContain('and it is not a key: <id> "2026-11-29T1" is not an hour');
  });
});

describe('run --keys-from', () => {
  it('runs the keys of a file once each, notes the repeats, and names the line of a bad key', async () => {
    const dir = temp();
    const list = join(dir, 'hours.txt');
    writeFileSync(list, '# backfill\n2026-11-29T10\n\n2026-11-29T11 # late\n2026-11-29T10\n');
    const ok = await runCli('run', '--json', '--start', '2026-11-29T15:00:00Z', '-f', HOURLY, '--state-dir', join(dir, 'a'), '--keys-from', list);
    expect(ok.code).toBe(0);
    expect((JSON.parse(ok.stdout) as { keys: { key: string }[] }).keys.map((k) => k.key)).toEqual(['2026-11-29T10', '2026-11-29T11']);
    expect(ok.stderr).toBe(`note: 1 repeated key dropped, each runs once: 2026-11-29T10 (--keys-from ${list}:5, first at --keys-from ${list}:2)\n`);

    writeFileSync(list, '2026-11-29T10\n2026-11-29T24\n');
    const bad = await runCli('run', '-f', HOURLY, '--state-dir', join(dir, 'b'), '--keys-from', list);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe(`baton run: --keys-from ${list}:2 "2026-11-29T24" is not an hour; key.type hour expects YYYY-MM-DDTHH (UTC) (${HOURLY}:8:9)\n`);
  });
});
