import { EXIT } from './exit-codes.ts';

/**
 * The embedded backend's state cannot be used, said for the user in one line: what is wrong, the
 * path, what to do. `exitCode` is `EXIT.busy` for a state folder another run holds (try again when
 * it ends), `EXIT.state` for everything else (a damaged, foreign, unwritable or full database).
 */
export class StateError extends Error {
  override readonly name = 'StateError';
  constructor(
    message: string,
    /** Stable code: `state/busy`, `state/not-a-database`, `state/corrupt`, `state/foreign`, `state/read-only`, `state/disk-full`, `state/io`. */
    readonly code: string,
    /** Whether the same command can succeed later without the user changing anything. */
    readonly retryable: boolean,
    readonly exitCode: number = EXIT.state,
  ) {
    super(message);
  }
}

/** The error code of a better-sqlite3 `SqliteError` or a Node `fs` error, if it has one. */
function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * What a SQLite or file-system failure on the state database `file` means for the user, or undefined
 * when it is not one (a bug: the caller rethrows it as it is). `moveAway` is the way out that keeps
 * the file for a look: another `--state-dir`.
 */
export function stateErrorFrom(error: unknown, file: string): StateError | undefined {
  if (error instanceof StateError) return error;
  const code = codeOf(error) ?? '';
  const elsewhere = 'move it away or pass --state-dir <another folder>';
  if (code === 'SQLITE_NOTADB')
    return new StateError(`${file} is not a SQLite database (truncated, garbled or another kind of file); ${elsewhere}`, 'state/not-a-database', false);
  if (code.startsWith('SQLITE_CORRUPT'))
    return new StateError(`${file} is damaged (truncated or overwritten); ${elsewhere}, then run again with --fresh`, 'state/corrupt', false);
  if (code.startsWith('SQLITE_READONLY') || code === 'EACCES' || code === 'EPERM' || code === 'EROFS' || code === 'SQLITE_CANTOPEN' || code === 'SQLITE_PERM')
    return new StateError(
      `${file} cannot be written (the state folder is read-only or not yours); make it writable, or pass --state-dir <a writable folder>`,
      'state/read-only',
      false,
    );
  if (code === 'SQLITE_FULL' || code === 'ENOSPC' || code === 'EDQUOT')
    return new StateError(
      `${file}: the disk is full; every step committed before is kept: free some space, then run again with --resume`,
      'state/disk-full',
      true,
    );
  if (code.startsWith('SQLITE_IOERR') || code === 'EIO')
    return new StateError(`${file}: the disk reported an I/O error (${code}); check the disk, then run again with --resume`, 'state/io', true);
  return undefined;
}
