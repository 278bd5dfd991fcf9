import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseSince } from '../../../engine/cli/stuck-report.ts';
import { runCli } from '../../helpers/run-cli.ts';

const pipelineFile = new URL('../../../pipeline.yaml', import.meta.url).pathname;

/** A copy of pipeline.yaml where `processor` always fails, and the state folder beside it. */
function failing(processor: string): { file: string; state: string } {
  const dir = mkdtempSync(join(tmpdir(), 'baton-stuck-'));
  const file = join(dir, 'pipeline.yaml');
  writeFileSync(file, readFileSync(pipelineFile, 'utf8').replace('    prediction_worker:', `    ${processor}: { failure_rate: 1 }\n    prediction_worker:`));
  return { file, state: join(dir, 'state') };
}

describe('baton status --stuck', () => {
  it('reports a key whose deadline tier elapsed unfired with exit 3 and the tick to run, and is clear once baton tick fired it', async () => {
    // player_daily_cache always fails, so phase 4 can only end by a deadline tier; the run stops at 40
    // simulated minutes, before the first tier, and the real clock is weeks later.
    const { file, state } = failing('player_daily_cache');
    const run = await runCli('run', '-f', file, '--key', '2025-11-29', '--start', '2026-11-01T12:00:00Z', '--limit', '40m', '--state-dir', state);
    expect(run.stdout).toContain('stopped at the 40m limit');

    const stuck = await runCli('status', '-f', file, '--state-dir', state, '--stuck');
    expect(stuck.code).toBe(3);
    expect(stuck.stdout).toContain('2025-11-29 phase4-complete (tier-due');
    expect(stuck.stdout).toContain('deadline tier 3 (after 4h) elapsed with 2/5 counted, enough for it, but it has not fired');
    expect(stuck.stdout).toContain(`run: npx baton tick -f ${file} --state-dir ${state}`);

    expect((await runCli('tick', '-f', file, '--state-dir', state)).code).toBe(0);
    const clear = await runCli('status', '-f', file, '--state-dir', state, '--stuck');
    expect(clear.stdout).toBe('nothing stuck: 1 key checked\n');
    expect(clear.code).toBe(0);
  });

  it('says a threshold no member left can reach needs a person, and what they should do, as text and as JSON', async () => {
    // bdl_injuries always fails: all 21 raw members report, 20 count, and phase2-to-phase3 has no deadline.
    const { file, state } = failing('bdl_injuries');
    await runCli('run', '-f', file, '--key', '2025-11-29', '--start', '2026-11-01T12:00:00Z', '--state-dir', state);

    const text = await runCli('status', '-f', file, '--state-dir', state, '--stuck');
    expect(text.code).toBe(3);
    expect(text.stdout).toContain('phase2-to-phase3 (unreachable');
    expect(text.stdout).toContain('every expected member reported but only 20/21 counted, and no deadline tier; failed: bdl_injuries');
    expect(text.stdout).toContain('needs a person:');
    expect(text.stdout).toContain('rerun bdl_injuries for 2025-11-29');
    expect(text.stdout).not.toContain('baton tick');

    const json = await runCli('status', '-f', file, '--state-dir', state, '--stuck', '--json');
    expect(json.code).toBe(3);
    const report = JSON.parse(json.stdout) as { now: number; since: null; checked: number; stuck: Record<string, unknown>[] };
    expect(report).toMatchObject({ since: null, checked: 1 });
    expect(report.stuck).toEqual([
      {
        key: '2025-11-29',
        component: 'phase2-to-phase3',
        kind: 'unreachable',
        why: 'every expected member reported but only 20/21 counted, and no deadline tier; failed: bdl_injuries',
        fix: { by: 'operator', rerun: ['bdl_injuries'] },
        since: expect.any(Number) as number,
        actions: [
          'rerun bdl_injuries for 2025-11-29 (or fix what makes it fail)',
          `look for dead letters: npx baton dlq list -f ${file} --state-dir ${state}`,
          `or run it again in a state folder of its own (--fresh here would delete every key's state and the dead letters): npx baton run -f ${file} --state-dir ${state}-2025-11-29 --key 2025-11-29`,
        ],
      },
    ]);
  });

  it('with --since checks only keys first seen since then, and refuses --since it cannot read or without --stuck', async () => {
    const { file, state } = failing('bdl_injuries');
    await runCli('run', '-f', file, '--key', '2025-11-29', '--start', '2026-11-01T12:00:00Z', '--state-dir', state);

    const before = await runCli('status', '-f', file, '--state-dir', state, '--stuck', '--since', '2026-11-01');
    expect(before.code).toBe(3);
    const after = await runCli('status', '-f', file, '--state-dir', state, '--stuck', '--since', '2026-11-02');
    expect(after).toMatchObject({ code: 0, stdout: 'nothing stuck: 0 keys checked\n' });

    const bad = await runCli('status', '-f', file, '--state-dir', state, '--stuck', '--since', 'yesterday');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--since yesterday: write a duration back from now (90m, 24h, 7d) or a date or time');
    const alone = await runCli('status', '-f', file, '--state-dir', state, '--since', '24h');
    expect(alone).toMatchObject({ code: 2, stderr: 'baton status: --since goes with --stuck\n' });
  });
});

describe('baton status --help', () => {
  it('documents --stuck, --since, exit code 3 and which clock --stuck judges at', async () => {
    const { code, stdout } = await runCli('status', '--help');
    expect(code).toBe(0);
    expect(stdout).toContain('--since <when>');
    expect(stdout).toContain('3 with --stuck: something is stuck');
    expect(stdout).toContain("--stuck judges at the time the tick would: on gcp the store's");
  });
});

describe('parseSince', () => {
  const now = Date.parse('2026-11-29T12:00:00Z');
  it.each([
    ['24h', '2026-11-28T12:00:00.000Z'],
    ['90m', '2026-11-29T10:30:00.000Z'],
    ['7d', '2026-11-22T12:00:00.000Z'],
    ['2025-11-29', '2025-11-29T00:00:00.000Z'],
    ['2025-11-29T06:00:00+02:00', '2025-11-29T04:00:00.000Z'],
  ])('reads %s as %s', (text, iso) => {
    expect(parseSince(text, now)).toEqual({ ok: true, at: Date.parse(iso) });
  });

  it.each(['0h', '24', 'yesterday', '2025-13-45'])('refuses %s', (text) => {
    expect(parseSince(text, now).ok).toBe(false);
  });
});
