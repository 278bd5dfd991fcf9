import type { RunJournal } from '../../ports/run-journal.ts';
import { prepared, type SqliteDatabase } from './open-sqlite-database.ts';

/** The run journal of the embedded backend: a table beside the state, in the same database file. */
export class SqliteRunJournal implements RunJournal {
  constructor(private readonly db: SqliteDatabase) {
    if (!db.readonly) db.exec('CREATE TABLE IF NOT EXISTS run_journal (name TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID');
  }

  get<T>(name: string): Promise<T | undefined> {
    const row = prepared(this.db, 'SELECT value FROM run_journal WHERE name = ?').get(name) as { value: string } | undefined;
    return Promise.resolve(row === undefined ? undefined : (JSON.parse(row.value) as T));
  }

  set(name: string, value: unknown): Promise<void> {
    // Prepared once: `baton run` saves its clock at every jump of simulated time.
    prepared(this.db, 'INSERT INTO run_journal (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value').run(
      name,
      JSON.stringify(value),
    );
    return Promise.resolve();
  }
}
