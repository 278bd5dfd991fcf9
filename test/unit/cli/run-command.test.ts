import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../helpers/run-cli.ts';

const START = '2026-11-28T12:00:00Z';
const pipelineFile = new URL('../../../pipeline.yaml', import.meta.url).pathname;
const stateDir = (): string => mkdtempSync(join(tmpdir(), 'baton-run-'));

interface Summary {
  end: string;
  finishedKeys: number;
  triggers: { key: string; emitter: string; reason: string; detail: string }[];
  entities: { scope: string; processed: number; total: number }[];
  duplicatesAbsorbed: number;
  deadLetters: number;
  keys: { key: string; correlationId: string }[];
}

async function runJson(...args: string[]): Promise<{ code: number; summary: Summary; stderr: string }> {
  const { code, stdout, stderr } = await runCli('run', '--json', '--start', START, ...args);
  return { code, summary: JSON.parse(stdout) as Summary, stderr };
}

describe('baton run on the embedded backend', () => {
  it('runs an NBA day from phase 1 to phase 5 with exactly one trigger per barrier and key', async () => {
    const { code, summary } = await runJson('--key', '2025-11-29', '--state-dir', stateDir());
    expect(code).toBe(0);
    expect(summary.end).toBe('finished');
    expect(summary.finishedKeys).toBe(1);
    const emitters = summary.triggers.map((t) => t.emitter).sort();
    expect(emitters).toEqual([
      'ml_feature_store-dependencies',
      'phase2-to-phase3',
      'phase3-to-phase4',
      'phase4-complete',
      'player_composite_factors-dependencies',
      'prediction-coordinator',
    ]);
    expect(summary.triggers.find((t) => t.emitter === 'phase2-to-phase3')?.detail).toBe('21/21');
    expect(summary.deadLetters).toBe(0);
    expect(summary.keys[0]?.correlationId).toMatch(/^run-/);
  });

  it('skips at least 99% of downstream work when 1% of players changed, and does all of it with --full', async () => {
    const incremental = await runJson('--key', '2025-11-29', '--state-dir', stateDir());
    const predictions = incremental.summary.entities.find((e) => e.scope.startsWith('predictions'));
    expect(predictions?.total).toBe(450);
    expect(predictions?.processed).toBeGreaterThan(0);
    expect(1 - (predictions?.processed ?? 0) / 450).toBeGreaterThanOrEqual(0.99);
    const precompute = incremental.summary.entities.find((e) => e.scope.startsWith('precompute'));
    expect(1 - (precompute?.processed ?? 0) / (precompute?.total ?? 1)).toBeGreaterThanOrEqual(0.99);

    const full = await runJson('--key', '2025-11-29', '--full', '--state-dir', stateDir());
    for (const scope of full.summary.entities) expect(scope.processed).toBe(scope.total);
  });

  it('absorbs duplicate deliveries: with every completion sent twice each barrier still fires once', async () => {
    const { code, summary } = await runJson('--key', '2025-11-29', '--duplicate-rate', '1', '--state-dir', stateDir());
    expect(code).toBe(0);
    expect(summary.duplicatesAbsorbed).toBeGreaterThan(40);
    const pairs = summary.triggers.map((t) => `${t.key}/${t.emitter}`);
    expect(new Set(pairs).size).toBe(pairs.length);
  });

  it('fires the phase-4 deadline tier with the partial set, naming the missing members, when a processor always fails', async () => {
    const dir = stateDir();
    const file = join(dir, 'pipeline.yaml');
    // player_daily_cache always fails, so the processors that depend on it never start.
    writeFileSync(
      file,
      readFileSync(pipelineFile, 'utf8').replace('    prediction_worker:', '    player_daily_cache: { failure_rate: 1 }\n    prediction_worker:'),
    );
    const { code, summary } = await runJson('--file', file, '--key', '2025-11-29', '--state-dir', join(dir, 'state'));
    expect(code).toBe(0);
    const phase4 = summary.triggers.find((t) => t.emitter === 'phase4-complete');
    expect(phase4?.reason).toBe('deadline');
    expect(phase4?.detail).toBe('2/5 tier 3 (after 4h), failed player_daily_cache, missing player_composite_factors, ml_feature_store');
  });

  // A retail day closed without `payments` (issue 10): a deadline tier relaxes how many members, not which.
  it('holds every deadline tier for a required member that always fails, unless the tier says ignore_required', async () => {
    const dir = stateDir();
    const write = (name: string, lastTier: string): string => {
      const file = join(dir, name);
      const text = readFileSync(pipelineFile, 'utf8')
        .replace('    prediction_worker:', '    player_daily_cache: { failure_rate: 1 }\n    prediction_worker:')
        .replace(/(phase4-complete:[\s\S]*?)threshold: all/, '$1threshold: { count: 4, required: [player_daily_cache] }')
        .replace('      - { after: 4h, min_members: 1 }', lastTier);
      writeFileSync(file, text);
      return file;
    };
    const honours = await runJson(
      '--file',
      write('honours.yaml', '      - { after: 4h, min_members: 1 }'),
      '--key',
      '2025-11-29',
      '--state-dir',
      join(dir, 'a'),
    );
    expect(honours.code).toBe(1);
    expect(honours.summary.triggers.find((t) => t.emitter === 'phase4-complete')).toBeUndefined();
    const status = await runCli('status', '--file', join(dir, 'honours.yaml'), '--state-dir', join(dir, 'a'));
    expect(status.stdout).toMatch(/phase4-complete\s+open 2\/5, needs critical \(1\) \+ 4 of 5/);
    expect(status.stdout).toContain('every deadline tier elapsed; the tiers wait for the required player_daily_cache');

    const ignores = write('ignores.yaml', '      - { after: 4h, min_members: 1, ignore_required: true }');
    const fired = await runJson('--file', ignores, '--key', '2025-11-29', '--state-dir', join(dir, 'b'));
    expect(fired.code).toBe(0);
    const phase4 = fired.summary.triggers.find((t) => t.emitter === 'phase4-complete');
    expect(phase4).toMatchObject({
      reason: 'deadline',
      detail: '2/5 tier 3 (after 4h), failed player_daily_cache, missing player_composite_factors, ml_feature_store',
    });
    const validate = await runCli('validate', ignores);
    expect(validate.stdout).toContain('tiers critical (1) + 4 of 5→4@1h→3@2h→any@4h without required; tiers wait for player_daily_cache');
  });

  it('completes a batch whose every entity reported, some failed, as all_reported and counts only what succeeded (issue 10)', async () => {
    const dir = stateDir();
    const file = join(dir, 'pipeline.yaml');
    writeFileSync(file, readFileSync(pipelineFile, 'utf8').replace('    prediction_worker: {', '    prediction_worker: { failure_rate: 0.1,'));
    const { code, summary } = await runJson('--file', file, '--key', '2025-11-29', '--full', '--state-dir', join(dir, 'state'));
    expect(code).toBe(0);
    const batch = summary.triggers.find((t) => t.emitter === 'prediction-coordinator');
    expect(batch?.reason).toBe('all_reported');
    const [, counted, total, failed] = /^(\d+)\/(\d+), (\d+) failed$/.exec(batch?.detail ?? '') ?? [];
    expect(Number(total)).toBe(450);
    expect(Number(failed)).toBeGreaterThan(0);
    expect(Number(counted) + Number(failed)).toBe(450);
    const status = await runCli('status', '--file', file, '--state-dir', join(dir, 'state'));
    expect(status.stdout).toMatch(new RegExp(`prediction-coordinator\\s+partial all_reported ${counted}/450, ${failed} failed players`));
  });

  it('reports a key that can never finish as stuck, and status names what it waits for', async () => {
    const dir = stateDir();
    const { code, summary } = await runJson('--key', '2025-11-29', '--failure-rate', '1', '--state-dir', dir);
    expect(code).toBe(1);
    expect(summary.finishedKeys).toBe(0);
    const status = await runCli('status', '--state-dir', dir);
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/phase2-to-phase3\s+open 0\/21, needs all 21/);
    expect(status.stdout).toMatch(/missing: .*bdl_player_boxscores/);
    expect(status.stdout).toMatch(/failed: .*bdl_player_boxscores/);
    expect(status.stdout).toContain('no deadline: waits until the threshold holds');
    // Every phase of the key, not only the one that is stuck (#25: per-phase checks missed a 9-month gap).
    expect(status.stdout).toMatch(/phase4-complete\s+no completion yet/);
    expect(status.stdout).toMatch(/prediction-coordinator\s+no batch yet/);
  });

  it('refuses to overwrite an earlier run without --resume or --fresh, and rejects bad keys', async () => {
    const dir = stateDir();
    expect((await runJson('--key', '2025-11-29', '--state-dir', dir)).code).toBe(0);
    const again = await runCli('run', '--key', '2025-11-29', '--state-dir', dir);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('holds state from an earlier run; pass --resume to continue it or --fresh to start over');
    const bad = await runCli('run', '--key', '2025-02-30', '--state-dir', stateDir());
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--key "2025-02-30" is not a date; key.type date expects YYYY-MM-DD (pipeline.yaml:');
    const backwards = await runCli('run', '--keys', '2025-11-30..2025-11-01', '--state-dir', stateDir());
    expect(backwards.stderr).toContain('the range ends before it starts');
  });
});

describe('baton trace and status after a run', () => {
  it('trace shows the whole chain of a key, from the scrapers to the predictions, with fan-in lineage', async () => {
    const dir = stateDir();
    const { summary } = await runJson('--key', '2025-11-29', '--state-dir', dir);
    const trace = await runCli('trace', summary.keys[0]?.correlationId ?? '', '--state-dir', dir);
    expect(trace.code).toBe(0);
    const out = trace.stdout;
    const order = [
      'done     nba_scrapers',
      'trigger  phase2-to-phase3',
      'trigger  phase3-to-phase4 [overnight]',
      'trigger  phase4-complete',
      'trigger  prediction-coordinator',
    ].map((s) => out.indexOf(s));
    expect(order.every((i) => i >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    expect(out).toMatch(/joined \d+ completions/);
    expect(out).toContain('1 trace id');
    const byKey = await runCli('trace', '2025-11-29', '--state-dir', dir);
    expect(byKey.stdout).toBe(out);
  });

  it('status --barrier shows one barrier for the keys it has seen, and suggests a name for a typo', async () => {
    const dir = stateDir();
    await runJson('--key', '2025-11-29', '--state-dir', dir);
    const one = await runCli('status', '--barrier', 'phase4-complete', '--state-dir', dir);
    expect(one.code).toBe(0);
    expect(one.stdout).toMatch(/phase4-complete\s+fired all_complete 5\/5/);
    expect(one.stdout).not.toContain('phase2-to-phase3');
    const typo = await runCli('status', '--barrier', 'phase4-complet', '--state-dir', dir);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain('did you mean "phase4-complete"?');
  });

  it('status --json lists every barrier of the key as fired', async () => {
    const dir = stateDir();
    await runJson('--key', '2025-11-29', '--state-dir', dir);
    const { code, stdout } = await runCli('status', '--key', '2025-11-29', '--json', '--state-dir', dir);
    expect(code).toBe(0);
    const status = JSON.parse(stdout) as { keys: { barriers: { barrier: string; status: { trigger?: unknown } }[] }[] };
    expect(status.keys[0]?.barriers.every((b) => b.status.trigger !== undefined)).toBe(true);
  });
});

describe('baton run backfills', () => {
  it('keeps at most --max-in-flight keys between their first completion and their last phase', async () => {
    const { code, stdout } = await runCli(
      'run',
      '--json',
      '--start',
      START,
      '--keys',
      '2025-11-01..2025-11-06',
      '--max-in-flight',
      '2',
      '--state-dir',
      stateDir(),
    );
    expect(code).toBe(0);
    interface View {
      barriers: { barrier: string; status?: { snapshot: { firstCompletionAt: number } } }[];
      batches: { progress?: { state: { completion?: { decidedAt: number } } } }[];
    }
    const views = (JSON.parse(stdout) as { keys: View[] }).keys;
    const spans = views.map((v) => ({
      from: v.barriers.find((b) => b.barrier === 'phase2-to-phase3')?.status?.snapshot.firstCompletionAt ?? NaN,
      to: v.batches[0]?.progress?.state.completion?.decidedAt ?? NaN,
    }));
    expect(spans.every((s) => s.from < s.to)).toBe(true);
    const overlap = Math.max(...spans.map((s) => spans.filter((o) => o.from <= s.from && s.from < o.to).length));
    expect(overlap).toBe(2);
  });

  it('rejects a --max-in-flight below 1 as a usage error', async () => {
    const { code, stderr } = await runCli('run', '--max-in-flight', '0', '--state-dir', stateDir());
    expect(code).toBe(2);
    expect(stderr).toContain('--max-in-flight must be a whole number of at least 1');
  });
});
