import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../helpers/run-cli.ts';

const bin = new URL('../../../bin/baton.js', import.meta.url).pathname;
const START = '2026-11-28T12:00:00Z';

/**
 * Starts `baton run` for 10 days and stops it (SIGSTOP) the moment it prints its header — by then it
 * holds the lock and has recorded its run — so it stays alive, holding the folder, for as long as the
 * test needs; nothing here waits on time.
 */
function startAndPause(stateDir: string): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, 'run', '--keys', '2025-11-01..2025-11-10', '--state-dir', stateDir, '--start', START], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('running run-') && child.kill('SIGSTOP')) resolve(child);
    });
    child.on('error', reject);
    child.on('exit', (code) => reject(new Error(`run ended (exit ${code}) before it was paused:\n${out}`)));
  });
}

function killAndWait(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    child.removeAllListeners('exit');
    child.on('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

describe('the lock a run holds on its state folder (issue 10: --fresh deleted a live run)', () => {
  it('refuses --fresh, a second run and a tick while the first is alive, naming its pid, and lets readers in; --resume takes over once it is killed', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'baton-lock-'));
    const first = await startAndPause(stateDir);
    try {
      const holder = JSON.parse(readFileSync(join(stateDir, 'baton.lock'), 'utf8')) as { pid: number };
      expect(holder.pid).toBe(first.pid);

      const fresh = await runCli('run', '--fresh', '--key', '2025-11-01', '--state-dir', stateDir);
      expect(fresh.code).toBe(75);
      expect(fresh.stderr).toContain(`${stateDir} is in use by another baton run (pid ${first.pid}, started `);
      expect(existsSync(join(stateDir, 'baton.db'))).toBe(true);

      const second = await runCli('run', '--resume', '--state-dir', stateDir);
      expect(second.code).toBe(75);

      // A tick writes too: it must not decide inside a live run.
      const tick = await runCli('tick', '--state-dir', stateDir);
      expect(tick.code).toBe(75);
      expect(tick.stderr).toContain(`(pid ${first.pid}, started `);

      const status = await runCli('status', '--state-dir', stateDir, '--json');
      expect(status.code).toBe(0);
      expect((JSON.parse(status.stdout) as { run: { keys: string[] } }).run.keys).toHaveLength(10);
    } finally {
      await killAndWait(first);
    }

    const resumed = await runCli('run', '--resume', '--json', '--state-dir', stateDir);
    expect(resumed.stderr).toContain(`note: took over the lock of ${stateDir}/ from run pid ${first.pid}`);
    expect(resumed.code).toBe(0);
    expect((JSON.parse(resumed.stdout) as { finishedKeys: number }).finishedKeys).toBe(10);
    expect(existsSync(join(stateDir, 'baton.lock'))).toBe(false);
  });
});
