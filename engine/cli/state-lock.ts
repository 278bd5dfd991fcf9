import { linkSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { EXIT } from './exit-codes.ts';
import { StateError, stateErrorFrom } from './state-error.ts';

/** Who holds a state folder: written into its lock file. */
export interface LockHolder {
  readonly pid: number;
  readonly host: string;
  readonly startedAt: string;
  readonly command: string;
}

/** A held lock: who took over a stale one (said to the user), and how to let go. */
export interface StateLock {
  readonly file: string;
  /** The holder whose lock this one replaced because its process is gone. */
  readonly tookOverFrom?: LockHolder;
  release(): void;
}

/** Where a state folder's lock lives. */
export function lockFile(stateDir: string): string {
  return join(stateDir, 'baton.lock');
}

/**
 * Whether process `pid` on this machine still runs (EPERM: it runs, as another user). A zombie (killed,
 * not yet reaped by its parent) answers signal 0 but runs no more: on Linux its /proc state says so.
 */
function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as { code?: string }).code === 'EPERM';
  }
  try {
    return !/^\d+ \(.*\) Z/s.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true;
  }
}

function readHolder(file: string): LockHolder | undefined {
  try {
    const holder = JSON.parse(readFileSync(file, 'utf8')) as Partial<LockHolder>;
    if (typeof holder.pid !== 'number' || typeof holder.host !== 'string') return undefined;
    return { pid: holder.pid, host: holder.host, startedAt: String(holder.startedAt ?? '?'), command: String(holder.command ?? '?') };
  } catch {
    return undefined;
  }
}

/** The live process (on this host) holding `stateDir`, or undefined when none does (no lock, or a stale one). */
export function liveStateHolder(stateDir: string): LockHolder | undefined {
  const holder = readHolder(lockFile(stateDir));
  return holder !== undefined && holder.host === hostname() && isRunning(holder.pid) ? holder : undefined;
}

/**
 * Takes the lock of a state folder for the lifetime of one `baton run`, so a second run (or a
 * `--fresh` that deletes the database) cannot use the folder under a live run.
 *
 * Why a lock file and not SQLite's own locking: SQLite locks a transaction, not a run — a run is
 * thousands of short transactions, and between them another process may open, write or delete the
 * file. A lock linked into place (link() fails when it exists, like O_EXCL) is atomic on every local file system, says who holds it
 * (pid, host, start time, command) so the refusal can name the holder, and readers (status, trace)
 * ignore it. What it is not: proof against a second machine sharing the folder over a network file
 * system (a holder on another host is never taken over: the user deletes the file), nor against two
 * `--resume`s taking over the same stale lock at the same instant after a crash (the window is one
 * unlink and one create).
 *
 * A holder whose process is gone (the run was killed) left a stale lock: it is taken over, and the
 * caller says so.
 */
export function acquireStateLock(stateDir: string, command: string): StateLock {
  const file = lockFile(stateDir);
  const me: LockHolder = { pid: process.pid, host: hostname(), startedAt: new Date().toISOString(), command };
  let tookOverFrom: LockHolder | undefined;
  for (let attempt = 0; ; attempt++) {
    // Written whole beside the lock, then linked into place: link() fails if the lock exists, and a
    // reader never sees a half-written lock, so an unreadable one is garbage, not a run starting.
    const draft = `${file}.${process.pid}`;
    try {
      mkdirSync(stateDir, { recursive: true });
      writeFileSync(draft, `${JSON.stringify(me)}\n`);
      linkSync(draft, file);
      break;
    } catch (error) {
      if ((error as { code?: string }).code !== 'EEXIST') throw stateErrorFrom(error, file) ?? error;
    } finally {
      rmSync(draft, { force: true });
    }
    const holder = readHolder(file);
    if (holder !== undefined && (holder.host !== me.host || isRunning(holder.pid))) {
      const where = holder.host === me.host ? `pid ${holder.pid}` : `pid ${holder.pid} on ${holder.host}`;
      throw new StateError(
        `${stateDir} is in use by another baton run (${where}, started ${holder.startedAt}: ${holder.command}); wait for it to end, or pass --state-dir <another folder>; if that process is not a baton run, delete ${file}`,
        'state/busy',
        true,
        EXIT.busy,
      );
    }
    if (attempt >= 2)
      throw new StateError(`${file} keeps changing under this run; is another baton run starting in ${stateDir}?`, 'state/busy', true, EXIT.busy);
    tookOverFrom = holder;
    rmSync(file, { force: true });
  }
  return {
    file,
    ...(tookOverFrom === undefined ? {} : { tookOverFrom }),
    release: () => {
      // Only our own lock: a run that lost it (the file deleted by hand) must not delete another's.
      if (readHolder(file)?.pid === me.pid) rmSync(file, { force: true });
    },
  };
}
