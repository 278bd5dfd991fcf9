import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openSqliteDatabase } from '../../../engine/adapters/sqlite/open-sqlite-database.ts';
import { SqliteMessageBus } from '../../../engine/adapters/sqlite/sqlite-message-bus.ts';
import { SqliteStateStore } from '../../../engine/adapters/sqlite/sqlite-state-store.ts';
import { CompletionBarrier } from '../../../engine/runtime/completion-barrier.ts';
import { FakeClock } from '../../../engine/runtime/fake-clock.ts';
import { Subscriber } from '../../../engine/runtime/subscriber.ts';
import { barrierOf, completion, DONE_TOPIC, memberNames, pipelineOf, subscriptionOf, TRIGGER_TOPIC, Watcher } from '../../contract/fixtures.ts';

const KEYS = Array.from({ length: 150 }, (_, i) => new Date(Date.UTC(2025, 0, 1) + i * 86_400_000).toISOString().slice(0, 10));

/**
 * Runs the worker until it pauses mid-message at its `pauseAt`-th recorded completion, then SIGKILLs it.
 * The worker blocks where it paused, so the kill lands there whatever the machine's load (it used to
 * kill after a count of acks, and failed when the worker finished first). Resolves with how many
 * deliveries it had acked and the signal it died of.
 */
function runAndKill(file: string, pauseAt: number): Promise<{ acked: number; signal: NodeJS.Signals | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'kill-worker.ts'), file, String(pauseAt)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let output = '';
    let acked = -1;
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const paused = /paused (\d+)/.exec(output);
      if (paused && acked < 0) {
        acked = Number(paused[1]);
        child.kill('SIGKILL');
      }
    });
    child.on('error', reject);
    child.on('exit', (_code, signal) => resolve({ acked, signal, output }));
  });
}

describe('SQLite backend under SIGKILL', () => {
  // Completions come three to a key, so the 200th is a key's second (recorded, nothing decided) and the
  // 201st a key's third (its trigger decided in the same commit, not yet published) when the kill lands.
  it.each([
    [200, 'after a commit that decided nothing'],
    [201, 'after the commit that decided a trigger, before it is published'],
  ])('fires every key exactly once with nothing lost after the barrier process is killed mid-run (completion %i, %s) and resumed', async (pauseAt) => {
    const dir = mkdtempSync(join(tmpdir(), 'baton-kill-'));
    const file = join(dir, 'baton.db');
    try {
      const members = memberNames(3);
      const setupClock = new FakeClock(Date.now());
      const db = openSqliteDatabase(file);
      const bus = new SqliteMessageBus(db, setupClock);
      await bus.subscribe(subscriptionOf('gate--work-done', DONE_TOPIC, { ackDeadlineMs: 60_000, maxDeliveryAttempts: 10 }));
      await bus.subscribe(subscriptionOf('watch', TRIGGER_TOPIC));
      for (const key of KEYS) for (const member of members) await bus.publish(DONE_TOPIC, completion({ member, key }));
      db.close();

      const killed = await runAndKill(file, pauseAt);
      expect(killed.output).toMatch(/^paused \d+\n$/);
      expect(killed.signal).toBe('SIGKILL');
      expect(killed.acked).toBeGreaterThan(0);
      expect(killed.acked).toBeLessThan(pauseAt);

      // Resume in this process, an ack deadline later, so leases the dead process held expire.
      const clock = new FakeClock(Date.now() + 61_000);
      const db2 = openSqliteDatabase(file);
      const bus2 = new SqliteMessageBus(db2, clock);
      const store = new SqliteStateStore(db2);
      const barrier = new CompletionBarrier({ barrier: barrierOf(members), pipeline: pipelineOf(members), store, bus: bus2, clock });
      // Landing after a deciding commit, the kill left that key's trigger decided and unpublished (the
      // worker handles a pull's messages concurrently, so a trigger of the same pull may be pending too).
      const pending = (await store.listUnpublished()).map((t) => t.scope);
      if (pauseAt % members.length === 0) expect(pending).toContain(KEYS[pauseAt / members.length - 1]);
      await barrier.tick();
      await new Subscriber(bus2, 'gate--work-done', (m) => barrier.handle(m)).drain();
      const watcher = new Watcher(bus2, 'watch');
      await watcher.drain();
      expect(watcher.deliveries).toHaveLength(KEYS.length);
      expect(new Set(watcher.deliveries.map((m) => m.id)).size).toBe(KEYS.length);
      expect(await store.listKeys('gate', true)).toEqual([]);
      expect(await store.listUnpublished()).toEqual([]);
      expect(await bus2.backlog('gate--work-done')).toBe(0);
      expect(await bus2.deadLetters()).toEqual([]);
      db2.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
