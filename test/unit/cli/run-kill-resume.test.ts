import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../helpers/run-cli.ts';

const bin = new URL('../../../bin/baton.js', import.meta.url).pathname;
const START = '2026-11-28T12:00:00Z';

/** Starts `baton run` for 30 days and SIGKILLs it once `after` triggers have fired; resolves to its output. */
function runAndKill(stateDir: string, after: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, 'run', '--keys', '2025-11-01..2025-11-30', '--state-dir', stateDir, '--start', START], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if ((out.match(/ fired: /g) ?? []).length >= after) child.kill('SIGKILL');
    });
    child.on('error', reject);
    child.on('exit', (_code, signal) => (signal === 'SIGKILL' ? resolve(out) : reject(new Error(`run ended before it was killed:\n${out}`))));
  });
}

describe('baton run killed with SIGKILL part-way through 30 keys', () => {
  it('resumes with --resume and fires each barrier exactly once per key, losing nothing', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'baton-kill-'));
    const before = await runAndKill(stateDir, 60);
    expect(before).not.toContain('finished in');

    const { code, stdout } = await runCli('run', '--resume', '--json', '--state-dir', stateDir);
    expect(code).toBe(0);
    const summary = JSON.parse(stdout) as { finishedKeys: number; deadLetters: number; triggers: { key: string; emitter: string }[] };
    expect(summary.finishedKeys).toBe(30);
    expect(summary.deadLetters).toBe(0);
    const pairs = summary.triggers.map((t) => `${t.key}/${t.emitter}`);
    expect(pairs).toHaveLength(30 * 6);
    expect(new Set(pairs).size).toBe(pairs.length);

    // What reached the bus: one trigger message per barrier and key, one phase completion per key.
    const db = new Database(join(stateDir, 'baton.db'), { readonly: true });
    const count = (sql: string): number => (db.prepare(sql).get() as { n: number }).n;
    expect(
      count(
        "SELECT COUNT(*) AS n FROM bus_messages WHERE json_extract(attributes, '$.\"ce-type\"') = 'dev.baton.trigger.v1' AND topic <> 'nba-phase5-predictions-complete'",
      ),
    ).toBe(30 * 5);
    expect(count("SELECT COUNT(*) AS n FROM bus_messages WHERE topic = 'nba-phase5-predictions-complete'")).toBe(30);
    expect(count('SELECT COUNT(*) AS n FROM bus_deliveries')).toBe(0);
    db.close();
  });
});
