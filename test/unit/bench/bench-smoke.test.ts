import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MEASURES, type BenchResult } from '../../../bench/bench-result.ts';
import { fanInPipelineYaml, phasedPipelineYaml } from '../../../bench/synthetic-pipeline.ts';
import { loadPipeline } from '../../../engine/config/load-pipeline.ts';
import { packageRoot } from '../../../engine/config/package-root.ts';

const root = packageRoot();
const dir = mkdtempSync(join(tmpdir(), 'baton-bench-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs `npm run bench` the way npm does (node --import tsx bench/bench.ts), without blocking the test worker. */
function bench(args: readonly string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'bench/bench.ts', ...args], { cwd: root });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

describe('npm run bench', () => {
  it('runs its smoke version end to end and writes well-formed results: every measure a row or a skip with its reason', async () => {
    const out = join(dir, 'smoke');
    const run = await bench(['--smoke', '--out', out]);
    expect(run.stderr).not.toContain('FAILED');
    expect(run.status).toBe(0);
    const result = JSON.parse(readFileSync(join(out, 'latest.json'), 'utf8')) as BenchResult;
    expect(result.smoke).toBe(true);
    expect(result.measures).toEqual([...MEASURES]);
    expect(Number.isNaN(Date.parse(result.date))).toBe(false);
    expect(result.node).toBe(process.version);
    expect(result.machine.cpus).toBeGreaterThan(0);
    // The emulator bench never runs in the smoke version, and says why.
    expect(result.skipped).toEqual([{ measure: 'fan-in', reason: expect.stringContaining('--smoke') as string }]);
    for (const measure of MEASURES.filter((m) => m !== 'fan-in'))
      expect(
        result.rows.some((r) => r.measure === measure),
        measure,
      ).toBe(true);
    for (const row of result.rows) {
      expect(typeof row.name).toBe('string');
      for (const cell of [row.value, row.baseline, row.ratio, row.target]) expect(cell, row.name).toMatch(/\S/);
      expect(row.value, row.name).not.toMatch(/NaN|undefined|Infinity/);
      // Smoke sizes are too small for the targets: no row claims ✓ or ✗.
      expect(row.pass, row.name).toBeNull();
    }
    const doc = readFileSync(join(out, 'benchmarks.md'), 'utf8');
    expect(doc).toContain('| | measure | Baton | baseline | ratio | target |');
    for (const row of result.rows) expect(doc).toContain(row.name);
    expect(doc).toContain('**skipped** | fan-in');
    for (const row of result.rows) expect(run.stdout).toContain(row.name);
  }, 180_000);

  it('refuses an unknown --only measure with exit 2, naming it and the measures there are', async () => {
    const run = await bench(['--only', 'fan-out']);
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('unknown measure "fan-out"; the measures are fan-in, embedded, run, generate, validate');
  }, 60_000);

  it('prints its usage with --help and exits 0, saying a partial run publishes nothing', async () => {
    const run = await bench(['--help']);
    expect(run.status).toBe(0);
    expect(run.stdout).toContain('A partial run (--smoke or --only) without --out prints the table and publishes nothing.');
  }, 60_000);
});

describe('the bench synthetic pipelines', () => {
  it.each([5, 30, 3000])('a five-phase pipeline of %i processors loads with no diagnostic', (processors) => {
    const file = join(dir, `phased-${processors}.yaml`);
    writeFileSync(file, phasedPipelineYaml(processors));
    const result = loadPipeline(file);
    expect(result.diagnostics).toEqual([]);
    expect(result.pipeline?.processors).toHaveLength(processors);
    expect(result.pipeline?.barriers).toHaveLength(4);
  });

  it.each([21, 500])('a one-barrier fan-in of %i members loads with no diagnostic and one barrier over every member', (members) => {
    const file = join(dir, `fan-in-${members}.yaml`);
    writeFileSync(file, fanInPipelineYaml(members));
    const result = loadPipeline(file);
    expect(result.diagnostics).toEqual([]);
    expect(result.pipeline?.barriers.map((b) => b.members.length)).toEqual([members]);
  });
});
