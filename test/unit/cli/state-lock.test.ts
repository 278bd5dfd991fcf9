import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { StateError } from '../../../engine/cli/state-error.ts';
import { acquireStateLock, lockFile } from '../../../engine/cli/state-lock.ts';

const folder = (): string => mkdtempSync(join(tmpdir(), 'baton-lock-unit-'));

/** The pid of a process that has ended. */
const deadPid = (): number => spawnSync(process.execPath, ['-e', '']).pid ?? 0;

function refusal(run: () => unknown): StateError {
  try {
    run();
  } catch (error) {
    if (error instanceof StateError) return error;
    throw error;
  }
  throw new Error('the lock was granted');
}

describe('acquireStateLock', () => {
  it('refuses a second holder while the first lives, and grants it once the first lets go', () => {
    const dir = folder();
    const first = acquireStateLock(dir, 'npx baton run');
    const busy = refusal(() => acquireStateLock(dir, 'npx baton run --fresh'));
    expect(busy).toMatchObject({ code: 'state/busy', retryable: true, exitCode: 75 });
    expect(busy.message).toContain(`(pid ${process.pid}, started `);
    expect(busy.message).toContain(': npx baton run); wait for it to end');
    first.release();
    expect(existsSync(lockFile(dir))).toBe(false);
    const second = acquireStateLock(dir, 'npx baton run');
    expect(second.tookOverFrom).toBeUndefined();
    second.release();
  });

  it('takes over the lock of a process that has ended, and says whose it was', () => {
    const dir = folder();
    const pid = deadPid();
    writeFileSync(lockFile(dir), JSON.stringify({ pid, host: hostname(), startedAt: '2026-11-29T00:00:00.000Z', command: 'npx baton run' }));
    const lock = acquireStateLock(dir, 'npx baton run --resume');
    expect(lock.tookOverFrom).toEqual({ pid, host: hostname(), startedAt: '2026-11-29T00:00:00.000Z', command: 'npx baton run' });
    lock.release();
  });

  it('never takes over a lock held on another machine: it cannot tell whether that run lives', () => {
    const dir = folder();
    writeFileSync(lockFile(dir), JSON.stringify({ pid: deadPid(), host: 'elsewhere', startedAt: '?', command: 'npx baton run' }));
    const busy = refusal(() => acquireStateLock(dir, 'npx baton run --resume'));
    expect(busy.message).toContain(' on elsewhere, ');
    expect(busy.message).toContain(`delete ${lockFile(dir)}`);
  });

  it('replaces a lock file that is not a lock (garbage)', () => {
    const dir = folder();
    writeFileSync(lockFile(dir), 'not json');
    const lock = acquireStateLock(dir, 'npx baton run');
    expect(lock.tookOverFrom).toBeUndefined();
    lock.release();
    expect(existsSync(lockFile(dir))).toBe(false);
  });
});
