import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../helpers/run-cli.ts';

const pipelineFile = new URL('../../../pipeline.yaml', import.meta.url).pathname;

describe('baton tick', () => {
  it('fires a deadline tier that came due while nothing ran, once, on the real clock', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'baton-tick-'));
    const file = join(dir, 'pipeline.yaml');
    // player_daily_cache always fails, so phase 4 can only finish by its deadline tiers.
    writeFileSync(
      file,
      readFileSync(pipelineFile, 'utf8').replace('    prediction_worker:', '    player_daily_cache: { failure_rate: 1 }\n    prediction_worker:'),
    );
    const state = join(dir, 'state');
    // Simulated time stops after 40 minutes, long before the 1 h tier; the real clock is weeks later.
    const run = await runCli('run', '--file', file, '--key', '2025-11-29', '--start', '2026-11-01T12:00:00Z', '--limit', '40m', '--state-dir', state);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('stopped at the 40m limit');

    const tick = await runCli('tick', '--file', file, '--state-dir', state);
    expect(tick.code).toBe(0);
    expect(tick.stdout).toContain('fired phase4-complete for 2025-11-29: deadline');
    expect(tick.stdout).toContain('1 fired');

    const again = await runCli('tick', '--file', file, '--state-dir', state);
    expect(again.stdout).toContain('0 fired');
  });

  it('says so when there is no state to tick', async () => {
    const { code, stderr } = await runCli('tick', '--state-dir', mkdtempSync(join(tmpdir(), 'baton-tick-')));
    expect(code).toBe(1);
    expect(stderr).toContain('no state to tick');
  });
});
