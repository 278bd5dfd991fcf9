import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteDatabase, type SqliteDatabase } from '../adapters/sqlite/open-sqlite-database.ts';
import { SqliteDeadLetterQueue } from '../adapters/sqlite/sqlite-dead-letter-queue.ts';
import { SqliteMessageBus } from '../adapters/sqlite/sqlite-message-bus.ts';
import { SqliteRunJournal } from '../adapters/sqlite/sqlite-run-journal.ts';
import { SqliteStateStore } from '../adapters/sqlite/sqlite-state-store.ts';
import type { Clock } from '../ports/clock.ts';
import { StateError, stateErrorFrom } from './state-error.ts';

/** The embedded backend: one SQLite file holding the queue, the state and the run journal. */
export interface EmbeddedBackend {
  readonly file: string;
  readonly db: SqliteDatabase;
  readonly bus: SqliteMessageBus;
  readonly store: SqliteStateStore;
  readonly journal: SqliteRunJournal;
  readonly deadLetters: SqliteDeadLetterQueue;
  close(): void;
}

/** Where the embedded backend keeps its database inside a state folder. */
export function databaseFile(stateDir: string): string {
  return join(stateDir, 'baton.db');
}

/** Whether a state folder holds a database from an earlier run. */
export function hasEmbeddedState(stateDir: string): boolean {
  return existsSync(databaseFile(stateDir));
}

/** Deletes a state folder's database (and its WAL files). */
export function clearEmbeddedState(stateDir: string): void {
  const file = databaseFile(stateDir);
  try {
    for (const suffix of ['', '-wal', '-shm']) rmSync(`${file}${suffix}`, { force: true });
  } catch (error) {
    throw stateErrorFrom(error, file) ?? error;
  }
}

/** The tables every Baton database has (one per adapter); a file with other tables and none of these is someone else's. */
const BATON_TABLES = ['bus_messages', 'barrier_keys', 'run_journal'];

/** Which of Baton's tables the database has, and whether it has any table at all. */
function batonTables(db: SqliteDatabase): { ours: string[]; any: boolean } {
  const names = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[]).map((r) => r.name);
  return { ours: BATON_TABLES.filter((t) => names.includes(t)), any: names.length > 0 };
}

/**
 * Opens the database of a state folder read-only. A WAL database needs its `-shm` index beside it,
 * which SQLite cannot create in a read-only folder; there the file (and its `-wal`, which may hold
 * committed transactions of a killed run) is read from a private copy instead.
 */
function openReadOnly(file: string): { db: SqliteDatabase; cleanup: () => void } {
  let direct: SqliteDatabase | undefined;
  try {
    direct = openSqliteDatabase(file, { readOnly: true });
    // SQLite opens lazily: the first read is where a missing `-shm` shows.
    direct.prepare('SELECT 1 FROM sqlite_master LIMIT 1').get();
    return { db: direct, cleanup: () => undefined };
  } catch (error) {
    direct?.close();
    if ((error as { code?: string }).code !== 'SQLITE_CANTOPEN') throw error;
  }
  const copy = mkdtempSync(join(tmpdir(), 'baton-read-'));
  const cleanup = (): void => rmSync(copy, { recursive: true, force: true });
  try {
    copyFileSync(file, join(copy, 'baton.db'));
    if (statSync(`${file}-wal`, { throwIfNoEntry: false })?.isFile()) copyFileSync(`${file}-wal`, join(copy, 'baton.db-wal'));
    return { db: openSqliteDatabase(join(copy, 'baton.db'), { readOnly: true }), cleanup };
  } catch (error) {
    cleanup();
    throw error;
  }
}

/**
 * Opens (creating) the embedded backend in `stateDir`. `readOnly` (status, trace) opens an existing
 * database without changing it — undefined when it holds no Baton state yet. Any failure the user can
 * act on (not a database, damaged, someone else's, read-only, disk full) is a `StateError`.
 */
export function openEmbeddedBackend(stateDir: string, clock: Clock, { readOnly = false }: { readOnly?: boolean } = {}): EmbeddedBackend | undefined {
  const file = databaseFile(stateDir);
  let db: SqliteDatabase | undefined;
  let cleanup = (): void => undefined;
  try {
    if (readOnly) ({ db, cleanup } = openReadOnly(file));
    else {
      mkdirSync(stateDir, { recursive: true });
      db = openSqliteDatabase(file);
    }
    const tables = batonTables(db);
    if (tables.any && tables.ours.length === 0) {
      throw new StateError(
        `${file} is not a Baton state database (it has no ${BATON_TABLES[0]} table); move it away or pass --state-dir <another folder>`,
        'state/foreign',
        false,
      );
    }
    // A run killed while it created its tables left nothing worth reading.
    if (readOnly && tables.ours.length < BATON_TABLES.length) {
      db.close();
      cleanup();
      return undefined;
    }
    const opened = db;
    const backend = {
      file,
      db: opened,
      bus: new SqliteMessageBus(opened, clock),
      // After the bus: it reads the bus's tables.
      deadLetters: new SqliteDeadLetterQueue(opened, clock),
      store: new SqliteStateStore(opened, clock),
      journal: new SqliteRunJournal(opened),
    };
    return {
      ...backend,
      close: () => {
        opened.close();
        cleanup();
      },
    };
  } catch (error) {
    db?.close();
    cleanup();
    throw stateErrorFrom(error, file) ?? error;
  }
}

/**
 * A failure of a command on the embedded backend as the user should see it: a `StateError` naming the
 * database when it is one they can act on (disk full mid-run, a damaged file), else the error as it is.
 */
export function asStateError(error: unknown, choice: { readonly backend: string; readonly stateDir: string }): unknown {
  return choice.backend === 'embedded' ? (stateErrorFrom(error, databaseFile(choice.stateDir)) ?? error) : error;
}
