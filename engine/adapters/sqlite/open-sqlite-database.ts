import Database from 'better-sqlite3';

/** A better-sqlite3 connection, as the SQLite adapters take it. */
export type SqliteDatabase = Database.Database;

/** A prepared statement of that connection. */
export type Statement = Database.Statement;

/** A function wrapped as a transaction of that connection (`db.transaction(fn)`), built once and called many times. */
export type SqliteTransaction<F extends (...args: never[]) => unknown> = Database.Transaction<F>;

/**
 * Opens (creating if needed) the embedded backend's database. WAL lets a reader run beside the one
 * writer; `synchronous = NORMAL` in WAL mode keeps every committed transaction across a process kill
 * (only an OS crash or power loss can drop the last ones); `busy_timeout` makes a second process wait
 * for the write lock instead of failing.
 *
 * `readOnly` opens an existing file without writing to it (`db.readonly`): the adapters then create no
 * tables, run no migration and no retention sweep, so a reader works on a copy it cannot write.
 */
export function openSqliteDatabase(file: string, { readOnly = false }: { readOnly?: boolean } = {}): SqliteDatabase {
  const db = new Database(file, readOnly ? { readonly: true, fileMustExist: true } : {});
  try {
    if (!readOnly) db.pragma('journal_mode = WAL');
    if (!readOnly) db.pragma('synchronous = NORMAL');
    db.pragma('busy_timeout = 5000');
  } catch (error) {
    db.close();
    throw error;
  }
  return db;
}

const caches = new WeakMap<SqliteDatabase, Map<string, Statement>>();

/**
 * Prepared statements of a connection, each compiled once and shared by every adapter on it:
 * preparing per call dominated the cost of the embedded backend.
 */
export function prepared(db: SqliteDatabase, text: string): Statement {
  let cache = caches.get(db);
  if (cache === undefined) {
    cache = new Map();
    caches.set(db, cache);
  }
  let statement = cache.get(text);
  if (statement === undefined) {
    statement = db.prepare(text);
    cache.set(text, statement);
  }
  return statement;
}
