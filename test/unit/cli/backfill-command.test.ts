import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../helpers/run-cli.ts';

const pipelineFile = new URL('../../../pipeline.yaml', import.meta.url).pathname;
const stateDir = (): string => join(mkdtempSync(join(tmpdir(), 'baton-backfill-')), 'state');

describe('baton backfill on the embedded backend', () => {
  it('says it is baton run --keys A..B and runs it; run again, it continues that run instead of starting over', async () => {
    const state = stateDir();
    const first = await runCli('backfill', '-f', pipelineFile, '--from', '2025-11-01', '--to', '2025-11-02', '--state-dir', state);
    expect(first.stdout).toContain(
      `on the embedded backend a backfill is a run: npx baton run -f ${pipelineFile} --state-dir ${state} --keys 2025-11-01..2025-11-02\n`,
    );
    expect(first.stdout).toContain('2 of 2 keys finished every phase');
    expect(first.code).toBe(0);

    const again = await runCli('backfill', '-f', pipelineFile, '--from', '2025-11-01', '--to', '2025-11-02', '--state-dir', state);
    expect(again.stdout).toContain(`a backfill is a run: npx baton run -f ${pipelineFile} --state-dir ${state} --resume\n`);
    expect(again.code).toBe(0);

    const other = await runCli('backfill', '-f', pipelineFile, '--from', '2025-11-05', '--to', '2025-11-06', '--state-dir', state);
    expect(other.code).toBe(2);
    expect(other.stderr).toContain(
      `${state}/ holds another run (keys 2025-11-01, 2025-11-02); on the embedded backend a backfill of other keys would start over and delete every key's state and the dead letters there. Give another --state-dir, or start over deliberately: npx baton run -f ${pipelineFile} --state-dir ${state} --keys 2025-11-05..2025-11-06 --fresh`,
    );

    // --force never deletes the stored run by itself, even with the same keys.
    const force = await runCli('backfill', '-f', pipelineFile, '--from', '2025-11-01', '--to', '2025-11-02', '--state-dir', state, '--force');
    expect(force.code).toBe(2);
    expect(force.stderr).toContain(`${state}/ holds this run; on the embedded backend --force would start over and delete every key's state`);
    expect(existsSync(join(state, 'baton.db'))).toBe(true);
  });

  it('with --dry-run prints the run it would start and touches nothing', async () => {
    const state = stateDir();
    const dry = await runCli(
      'backfill',
      '-f',
      pipelineFile,
      '--from',
      '2025-11-01',
      '--to',
      '2025-11-03',
      '--max-in-flight',
      '2',
      '--state-dir',
      state,
      '--dry-run',
    );
    expect(dry).toMatchObject({
      code: 0,
      stdout: `on the embedded backend a backfill is a run: npx baton run -f ${pipelineFile} --state-dir ${state} --keys 2025-11-01..2025-11-03 --max-in-flight 2\n`,
    });
    expect(existsSync(state)).toBe(false);
  });
});

describe('baton backfill usage errors', () => {
  const at = ['-f', pipelineFile, '--from', '2025-11-01', '--to', '2025-11-02'];
  it.each([
    [['--phase', 'raw'], '--phase goes with --backend gcp (on the embedded backend a backfill is a run from the entry phase)'],
    [
      ['--backend', 'gcp', '--project', 'p'],
      'phase scrapers is an entry phase, started outside Baton (its scheduler calls nba_scrapers): give --entry-url <url>',
    ],
    [
      ['--backend', 'gcp', '--project', 'p', '--phase', 'anlytics'],
      '--phase anlytics: no phase "anlytics"; phases: scrapers, raw, analytics, precompute, predictions',
    ],
    [
      ['--backend', 'gcp', '--project', 'p', '--phase', 'raw', '--entry-url', 'http://x'],
      '--entry-url goes with an entry phase; phase raw is started by nba-phase1-scrapers-complete',
    ],
    [['--rate', 'fast'], '--rate fast: write a positive number per second or minute, like 5/s or 30/m'],
    [['--wait-timeout', 'soon'], '--wait-timeout soon: write a duration like 90s, 30m or 2h'],
  ])('%j is refused with exit 2: %s', async (extra, message) => {
    const { code, stderr } = await runCli('backfill', ...at, ...extra, '--state-dir', stateDir());
    expect(stderr).toContain(message);
    expect(code).toBe(2);
  });

  it('refuses a range that runs backwards, naming both ends', async () => {
    const { code, stderr } = await runCli('backfill', '-f', pipelineFile, '--from', '2025-11-05', '--to', '2025-11-01', '--state-dir', stateDir());
    expect(code).toBe(2);
    expect(stderr).toMatch(/^baton backfill: --from 2025-11-05 --to 2025-11-01: /);
  });

  it('documents its options, the resume and the exit codes in --help', async () => {
    const { code, stdout } = await runCli('backfill', '--help');
    expect(code).toBe(0);
    for (const option of [
      '--from',
      '--to',
      '--phase',
      '--rate',
      '--max-in-flight',
      '--dry-run',
      '--force',
      '--entry-url',
      '--journal',
      '--json',
      '--project',
    ]) {
      expect(stdout).toContain(option);
    }
    expect(stdout).toContain('Killed? Run the same command again');
    expect(stdout).toContain('Exit codes: 0 every key finished (or skipped), 1 a key did not finish');
  });
});
