// Data flow: bus_dead_letters (written by SqliteMessageBus) → list / get → redrive: bus_deliveries row for the same subscription and id + bus_dead_letter_redrives mark, in one transaction | purge.
import type { Clock } from '../../ports/clock.ts';
import type { DeadLetterFilter, DeadLetterQueue, DeadLetterRecord, RedriveOutcome } from '../../ports/dead-letter-queue.ts';
import { prepared, type SqliteDatabase, type Statement } from './open-sqlite-database.ts';
import type { DeadRow } from './sqlite-message-bus.ts';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS bus_dead_letter_redrives (seq INTEGER PRIMARY KEY, at INTEGER NOT NULL, result TEXT NOT NULL);
`;

/** A `bus_dead_letters` row as the bus writes it, with its sequence number, publish time and redrive mark. */
interface Row extends DeadRow {
  seq: number;
  published_at: number | null;
  redriven_at: number | null;
  redrive_result: string | null;
}

/**
 * The embedded backend's dead letters: the rows `SqliteMessageBus` writes to `bus_dead_letters`
 * (every dead letter of the embedded backend takes the pull path). A dead letter's id is its row
 * number.
 *
 * Redrive enqueues a delivery of the same message id for the subscription that gave up, exactly as a
 * publish does for one subscription, and marks the dead letter redriven in the same transaction. It
 * does not publish to the topic again: the bus absorbs a second publish of an id (its dedupe), and a
 * publish would reach every other subscription of the topic too. A redrive whose message was swept
 * by retention stores it again from the dead letter's copy.
 */
export class SqliteDeadLetterQueue implements DeadLetterQueue {
  private readonly hasRedrives: boolean;

  constructor(
    private readonly db: SqliteDatabase,
    private readonly clock: Clock,
  ) {
    if (!db.readonly) {
      db.exec(SCHEMA);
      // Retention sweeps old dead letters (SqliteMessageBus.sweepExpired); their marks go with them.
      db.exec('DELETE FROM bus_dead_letter_redrives WHERE seq NOT IN (SELECT seq FROM bus_dead_letters)');
    }
    // A read-only open of a database from before redrives existed has no such table: nothing was redriven.
    this.hasRedrives = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'bus_dead_letter_redrives'").get() !== undefined;
  }

  private sql(text: string): Statement {
    return prepared(this.db, text);
  }

  private select(where: string): string {
    const redrive = this.hasRedrives
      ? 'r.at AS redriven_at, r.result AS redrive_result FROM bus_dead_letters d LEFT JOIN bus_dead_letter_redrives r ON r.seq = d.seq'
      : 'NULL AS redriven_at, NULL AS redrive_result FROM bus_dead_letters d';
    return `SELECT d.*, m.published_at, ${redrive}
      LEFT JOIN bus_messages m ON m.topic = d.topic AND m.id = d.message_id
      ${where} ORDER BY d.seq`;
  }

  list(filter: DeadLetterFilter = {}): Promise<DeadLetterRecord[]> {
    const rows = this.sql(this.select('WHERE (@topic IS NULL OR d.topic = @topic) AND d.at >= @since')).all({
      topic: filter.topic ?? null,
      since: filter.since ?? 0,
    }) as Row[];
    return Promise.resolve(rows.map(recordOf));
  }

  get(id: string): Promise<DeadLetterRecord | undefined> {
    const row = this.row(id);
    return Promise.resolve(row === undefined ? undefined : recordOf(row));
  }

  redrive(ids: readonly string[], { dryRun = false }: { readonly dryRun?: boolean } = {}): Promise<RedriveOutcome[]> {
    return Promise.resolve(ids.map((id) => (dryRun ? this.dryRun(id) : this.db.transaction(() => this.redriveOne(id)).immediate())));
  }

  purge(ids: readonly string[]): Promise<number> {
    const purge = this.db.transaction(() => {
      let purged = 0;
      for (const id of ids) {
        const seq = seqOf(id);
        if (seq === undefined) continue;
        purged += this.sql('DELETE FROM bus_dead_letters WHERE seq = ?').run(seq).changes;
        this.sql('DELETE FROM bus_dead_letter_redrives WHERE seq = ?').run(seq);
      }
      return purged;
    });
    return Promise.resolve(purge.immediate());
  }

  private row(id: string): Row | undefined {
    const seq = seqOf(id);
    return seq === undefined ? undefined : (this.sql(this.select('WHERE d.seq = @seq')).get({ seq }) as Row | undefined);
  }

  private dryRun(id: string): RedriveOutcome {
    const row = this.row(id);
    if (row === undefined) return { id, outcome: 'not-found', note: 'no such dead letter' };
    if (row.redriven_at !== null) return alreadyRedriven(id, row);
    return { id, outcome: 'would-redrive', note: `would deliver ${row.message_id} to ${row.subscription} again` };
  }

  /** Runs inside a transaction: the delivery and the mark are written together or not at all. */
  private redriveOne(id: string): RedriveOutcome {
    const row = this.row(id);
    if (row === undefined) return { id, outcome: 'not-found', note: 'no such dead letter' };
    if (row.redriven_at !== null) return alreadyRedriven(id, row);
    const subscribed = this.sql('SELECT 1 FROM bus_subscriptions WHERE name = ?').get(row.subscription);
    if (subscribed === undefined) return { id, outcome: 'failed', note: `subscription ${row.subscription} no longer exists` };
    const now = this.clock.now();
    // Retention may have swept the message since; the dead letter kept a copy.
    this.sql('INSERT OR IGNORE INTO bus_messages (topic, id, attributes, data, published_at) VALUES (?, ?, ?, ?, ?)').run(
      row.topic,
      row.message_id,
      row.attributes,
      row.data,
      now,
    );
    const queued = this.sql('INSERT OR IGNORE INTO bus_deliveries (subscription, topic, message_id, visible_at) VALUES (?, ?, ?, ?)').run(
      row.subscription,
      row.topic,
      row.message_id,
      now,
    ).changes;
    // A delivery of the id already waiting (another dead letter of the same message was redriven first) covers this one.
    const result = queued === 1 ? `delivered to ${row.subscription} again` : `a delivery to ${row.subscription} was already waiting`;
    this.sql('INSERT INTO bus_dead_letter_redrives (seq, at, result) VALUES (?, ?, ?)').run(row.seq, now, result);
    return { id, outcome: 'redriven', note: result };
  }
}

function alreadyRedriven(id: string, row: Row): RedriveOutcome {
  return { id, outcome: 'already-redriven', note: `already redriven at ${new Date(row.redriven_at ?? 0).toISOString()} (${row.redrive_result ?? '?'})` };
}

function seqOf(id: string): number | undefined {
  return /^[1-9]\d{0,15}$/.test(id) ? Number(id) : undefined;
}

function recordOf(row: Row): DeadLetterRecord {
  return {
    id: String(row.seq),
    messageId: row.message_id,
    topic: row.topic,
    subscription: row.subscription,
    reason: row.reason,
    deliveryAttempts: row.attempts,
    firstAttemptAt: row.published_at ?? undefined,
    lastAttemptAt: row.at,
    message: { id: row.message_id, attributes: JSON.parse(row.attributes) as Record<string, string>, data: row.data },
    path: 'pull',
    redrive: row.redriven_at === null ? undefined : { at: row.redriven_at, result: row.redrive_result ?? '' },
  };
}
