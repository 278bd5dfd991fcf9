import type { SqliteDatabase } from './open-sqlite-database.ts';

/**
 * A few named JSON values that `baton run` keeps beside the state: the run's id, keys, settings and
 * simulated time, so `--resume` continues the same run after a kill.
 */
export class SqliteRunJournal {
  constructor(private readonly db: SqliteDatabase) {
    db.exec('CREATE TABLE IF NOT EXISTS run_journal (name TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID');
  }

  /** The value saved under `name`, if any. */
  get<T>(name: string): T | undefined {
    const row = this.db.prepare('SELECT value FROM run_journal WHERE name = ?').get(name) as { value: string } | undefined;
    return row === undefined ? undefined : (JSON.parse(row.value) as T);
  }

  /** Saves `value` under `name` (one transaction). */
  set(name: string, value: unknown): void {
    this.db
      .prepare('INSERT INTO run_journal (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value')
      .run(name, JSON.stringify(value));
  }
}
