/**
 * Speed targets for loading and validating, measured here rather than in timed unit tests:
 * - loading the NBA pipeline.yaml (all five stages) takes under 50 ms on average;
 * - `baton validate` on every hostile fixture (binary, alias bomb, deep nesting, …) exits 1 within 1 s,
 *   wall clock, including Node start-up.
 * - `baton run` of one NBA day on the embedded backend (whole process) finishes within 5 s, and 30 days
 *   within 60 s.
 * Prints a table; exits 1 when a target is missed.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { loadPipeline } from '../engine/config/load-pipeline.ts';

const root = new URL('..', import.meta.url).pathname;
let missed = 0;
const report = (name: string, value: number, target: number, unit: string): void => {
  const ok = value <= target;
  if (!ok) missed++;
  console.log(`${ok ? 'ok  ' : 'MISS'} ${name.padEnd(52)} ${value.toFixed(1).padStart(8)} ${unit}  (target ≤ ${target} ${unit})`);
};

loadPipeline(`${root}pipeline.yaml`); // warm up: the schema compiles once per process
const runs = 200;
const start = performance.now();
for (let i = 0; i < runs; i++) loadPipeline(`${root}pipeline.yaml`);
report('load + validate pipeline.yaml (mean of 200)', (performance.now() - start) / runs, 50, 'ms');

const folder = `${root}test/fixtures/invalid/`;
let slowest = { name: '', ms: 0 };
for (const name of readdirSync(folder).filter((f) => f.endsWith('.yaml'))) {
  const t0 = performance.now();
  const result = spawnSync(process.execPath, [`${root}bin/baton.js`, 'validate', `${folder}${name}`], { encoding: 'utf8', timeout: 10_000 });
  const ms = performance.now() - t0;
  if (result.status !== 1 && result.status !== 0) {
    console.log(`MISS ${name}: exit ${String(result.status)}`);
    missed++;
  }
  if (ms > slowest.ms) slowest = { name, ms };
}
report(`slowest invalid fixture, whole process (${slowest.name})`, slowest.ms, 1000, 'ms');
const runFor = (name: string, keys: string[], targetMs: number): void => {
  const dir = mkdtempSync(join(tmpdir(), 'baton-bench-'));
  const t0 = performance.now();
  const result = spawnSync(process.execPath, [`${root}bin/baton.js`, 'run', ...keys, '--state-dir', dir, '--start', '2026-11-28T12:00:00Z'], {
    encoding: 'utf8',
  });
  const ms = performance.now() - t0;
  if (result.status !== 0) {
    console.log(`MISS ${name}: exit ${String(result.status)}\n${result.stdout.slice(-500)}${result.stderr}`);
    missed++;
  }
  report(name, ms, targetMs, 'ms');
  rmSync(dir, { recursive: true, force: true });
};
runFor('baton run: one NBA day, whole process', ['--key', '2025-11-29'], 5000);
runFor('baton run: 30 NBA days, whole process', ['--keys', '2025-11-01..2025-11-30'], 60_000);

process.exitCode = missed > 0 ? 1 : 0;
