// Data flow: `baton run --json` in a child (the CLI users run) → its run-loop wall time → ÷ messages the run published (MessageHistory of its database).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { openSqliteDatabase } from '../engine/adapters/sqlite/open-sqlite-database.ts';
import { SqliteMessageBus } from '../engine/adapters/sqlite/sqlite-message-bus.ts';
import { SystemClock } from '../engine/runtime/system-clock.ts';

/** One `baton run` of the NBA pipeline.yaml on the embedded backend. */
export interface RunLoopFigures {
  readonly keys: number;
  /** The run loop's own wall time, as `baton run --json` reports it (`wallMs`: the loop and the final report, not start-up). */
  readonly loopMs: number;
  /** The whole process, Node start-up included. */
  readonly processMs: number;
  /** Messages the run published, over all its keys. */
  readonly messages: number;
  readonly msPerMessage: number;
}

/**
 * Runs `keys` NBA days (from 2025-11-01) with every key open at once (`--max-in-flight` = keys), a fixed
 * seed and start, in a child process, and counts the messages it published through the database's
 * message history (the port `baton trace` reads).
 */
export async function measureRunLoop(root: string, keys: number): Promise<RunLoopFigures> {
  const dir = mkdtempSync(join(tmpdir(), 'baton-bench-run-'));
  try {
    const keyList = Array.from({ length: keys }, (_, i) => new Date(Date.UTC(2025, 10, 1) + i * 86_400_000).toISOString().slice(0, 10));
    const args = ['run', '--keys', keyList.join(','), '--state-dir', dir, '--start', '2026-11-28T12:00:00Z', '--seed', '20251129'];
    const started = performance.now();
    const result = spawnSync(process.execPath, [join(root, 'bin/baton.js'), ...args, '--max-in-flight', String(keys), '--json'], {
      encoding: 'utf8',
      maxBuffer: 256 * 1024 * 1024,
    });
    const processMs = performance.now() - started;
    if (result.status !== 0) throw new Error(`bench: baton ${args.join(' ')} exited ${String(result.status)}: ${result.stderr.slice(-800)}`);
    const summary = JSON.parse(result.stdout) as { wallMs?: unknown; finishedKeys?: unknown };
    if (typeof summary.wallMs !== 'number') throw new Error('bench: baton run --json printed no wallMs');
    if (summary.finishedKeys !== keys) throw new Error(`bench: baton run finished ${String(summary.finishedKeys)} of ${keys} keys`);
    const db = openSqliteDatabase(join(dir, 'baton.db'), { readOnly: true });
    let messages = 0;
    try {
      const history = new SqliteMessageBus(db, new SystemClock());
      for (const key of keyList) messages += (await history.messagesOf(key)).length;
    } finally {
      db.close();
    }
    return { keys, loopMs: summary.wallMs, processMs, messages, msPerMessage: summary.wallMs / messages };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
