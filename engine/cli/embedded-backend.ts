import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { openSqliteDatabase, type SqliteDatabase } from '../adapters/sqlite/open-sqlite-database.ts';
import { SqliteMessageBus } from '../adapters/sqlite/sqlite-message-bus.ts';
import { SqliteRunJournal } from '../adapters/sqlite/sqlite-run-journal.ts';
import { SqliteStateStore } from '../adapters/sqlite/sqlite-state-store.ts';
import type { Clock } from '../ports/clock.ts';

/** The embedded backend: one SQLite file holding the queue, the state and the run journal. */
export interface EmbeddedBackend {
  readonly file: string;
  readonly db: SqliteDatabase;
  readonly bus: SqliteMessageBus;
  readonly store: SqliteStateStore;
  readonly journal: SqliteRunJournal;
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
  for (const suffix of ['', '-wal', '-shm']) rmSync(`${databaseFile(stateDir)}${suffix}`, { force: true });
}

/** Opens (creating) the embedded backend in `stateDir`. */
export function openEmbeddedBackend(stateDir: string, clock: Clock): EmbeddedBackend {
  mkdirSync(stateDir, { recursive: true });
  const file = databaseFile(stateDir);
  const db = openSqliteDatabase(file);
  return { file, db, bus: new SqliteMessageBus(db, clock), store: new SqliteStateStore(db, clock), journal: new SqliteRunJournal(db), close: () => db.close() };
}
