import { RETENTION_MS, SQLITE_SWEEP_LIMIT } from '../../config/conventions.ts';
import type { Clock } from '../../ports/clock.ts';
import {
  DEAD_LETTER_ATTRIBUTES,
  matchesFilter,
  retryBackoffMs,
  type DeadLetter,
  type MessageBus,
  type OutgoingMessage,
  type PublishResult,
  type PullRequest,
  type ReceivedMessage,
  type SubscriptionConfig,
} from '../../ports/message-bus.ts';
import type { MessageHistory, PublishedMessage } from '../../ports/message-history.ts';
import { prepared, type SqliteDatabase, type SqliteTransaction, type Statement } from './open-sqlite-database.ts';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS bus_messages (
  topic TEXT NOT NULL, id TEXT NOT NULL, attributes TEXT NOT NULL, data TEXT NOT NULL, published_at INTEGER NOT NULL,
  PRIMARY KEY (topic, id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS bus_subscriptions (name TEXT PRIMARY KEY, topic TEXT NOT NULL, config TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS bus_deliveries (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, subscription TEXT NOT NULL, topic TEXT NOT NULL, message_id TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0, visible_at INTEGER NOT NULL, last_error TEXT,
  UNIQUE (subscription, message_id)
);
CREATE INDEX IF NOT EXISTS bus_deliveries_due ON bus_deliveries (subscription, visible_at, seq);
CREATE TABLE IF NOT EXISTS bus_dead_letters (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, subscription TEXT NOT NULL, topic TEXT NOT NULL, message_id TEXT NOT NULL,
  attributes TEXT NOT NULL, data TEXT NOT NULL, reason TEXT NOT NULL, attempts INTEGER NOT NULL, at INTEGER NOT NULL
);
`;

interface DeliveryRow {
  seq: number;
  message_id: string;
  topic: string;
  attempts: number;
  last_error: string | null;
  attributes: string;
  data: string;
  published_at: number;
}

/** A row of `bus_dead_letters` as the bus writes it. */
export interface DeadRow {
  subscription: string;
  topic: string;
  message_id: string;
  attributes: string;
  data: string;
  reason: string;
  attempts: number;
  at: number;
}

/**
 * The embedded backend's durable local queue. Every call is one SQLite transaction, so a process kill
 * at any point leaves each message either published or not, leased or not, acked or not — never half;
 * unacked leases simply expire and redeliver after a restart.
 */
export class SqliteMessageBus implements MessageBus, MessageHistory {
  private sql(text: string): Statement {
    return prepared(this.db, text);
  }

  private readonly configs = new Map<string, SubscriptionConfig>();
  /** A stored subscription config's text → the config it parses to: a publish reads the table every time, and parses each text once. */
  private readonly parsedConfigs = new Map<string, SubscriptionConfig>();
  // Each call's transaction, wrapped once: `db.transaction(fn)` builds a new wrapper every time it is called.
  private readonly publishTransaction: SqliteTransaction<(topic: string, message: OutgoingMessage) => PublishResult>;
  private readonly pullTransaction: SqliteTransaction<(config: SubscriptionConfig, max: number) => ReceivedMessage[]>;
  private readonly pullEachTransaction: SqliteTransaction<(pulls: readonly { config: SubscriptionConfig; max: number }[]) => ReceivedMessage[][]>;
  private readonly nackTransaction: SqliteTransaction<(ackId: string, reason: string) => void>;
  private readonly deadLetterTransaction: SqliteTransaction<(ackId: string, reason: string) => void>;

  constructor(
    private readonly db: SqliteDatabase,
    private readonly clock: Clock,
  ) {
    this.publishTransaction = db.transaction((topic: string, message: OutgoingMessage) => this.publishNow(topic, message));
    this.pullTransaction = db.transaction((config: SubscriptionConfig, max: number) => this.pullNow(config, max));
    this.pullEachTransaction = db.transaction((pulls: readonly { config: SubscriptionConfig; max: number }[]) =>
      pulls.map(({ config, max }) => this.pullNow(config, max)),
    );
    this.nackTransaction = db.transaction((ackId: string, reason: string) => this.nackNow(ackId, reason));
    this.deadLetterTransaction = db.transaction((ackId: string, reason: string) => {
      const found = this.lease(ackId);
      if (found) this.bury(found.config, found.row, reason);
    });
    // A read-only connection (a reader of a copy) only reads: no schema, no sweep.
    if (db.readonly) return;
    db.exec(SCHEMA);
    this.sweepExpired();
  }

  /**
   * Retention (issue 16 #7), run when the database opens: deletes up to `limit` published messages
   * older than `RETENTION_DAYS` that no subscription still has to deliver (their dedupe record and
   * history), and up to `limit` dead letters recorded before then. A message still pending on a
   * subscription is kept whatever its age. Returns how many rows of each it deleted.
   */
  sweepExpired(limit: number = SQLITE_SWEEP_LIMIT): { messages: number; deadLetters: number } {
    const cutoff = this.clock.now() - RETENTION_MS;
    const sweep = this.db.transaction(() => {
      const messages = this.sql(
        `DELETE FROM bus_messages WHERE (topic, id) IN (
           SELECT m.topic, m.id FROM bus_messages m
           WHERE m.published_at < ? AND NOT EXISTS (SELECT 1 FROM bus_deliveries d WHERE d.topic = m.topic AND d.message_id = m.id)
           LIMIT ?)`,
      ).run(cutoff, limit).changes;
      const deadLetters = this.sql('DELETE FROM bus_dead_letters WHERE seq IN (SELECT seq FROM bus_dead_letters WHERE at < ? LIMIT ?)').run(
        cutoff,
        limit,
      ).changes;
      return { messages, deadLetters };
    });
    return sweep.immediate();
  }

  subscribe(config: SubscriptionConfig): Promise<void> {
    this.sql('INSERT OR IGNORE INTO bus_subscriptions (name, topic, config) VALUES (?, ?, ?)').run(config.name, config.topic, JSON.stringify(config));
    const stored = this.sql('SELECT config FROM bus_subscriptions WHERE name = ?').get(config.name) as { config: string };
    this.configs.set(config.name, JSON.parse(stored.config) as SubscriptionConfig);
    return Promise.resolve();
  }

  publish(topic: string, message: OutgoingMessage): Promise<PublishResult> {
    return Promise.resolve(this.publishTransaction.immediate(topic, message));
  }

  pull(subscription: string, max: number): Promise<ReceivedMessage[]> {
    const config = this.config(subscription);
    // Most pulls find nothing due: answer those from one indexed read, without taking the write lock.
    const due = this.sql('SELECT 1 FROM bus_deliveries WHERE subscription = ? AND visible_at <= ? LIMIT 1').get(subscription, this.clock.now());
    if (due === undefined) return Promise.resolve([]);
    return Promise.resolve(this.pullTransaction.immediate(config, max));
  }

  /** Each pull in turn, in one transaction: one commit for what would be one per subscription. */
  pullEach(requests: readonly PullRequest[]): Promise<ReceivedMessage[][]> {
    const pulls = requests.map(({ subscription, max }) => ({ config: this.config(subscription), max }));
    // As `pull`: when nothing is due on any of them, one indexed read each and no write lock.
    const now = this.clock.now();
    const due = this.sql('SELECT 1 FROM bus_deliveries WHERE subscription = ? AND visible_at <= ? LIMIT 1');
    if (pulls.every(({ config }) => due.get(config.name, now) === undefined)) return Promise.resolve(pulls.map(() => []));
    return Promise.resolve(this.pullEachTransaction.immediate(pulls));
  }

  ack(ackId: string): Promise<void> {
    const [subscription, id, attempt] = parseAckId(ackId);
    this.sql('DELETE FROM bus_deliveries WHERE subscription = ? AND message_id = ? AND attempts = ?').run(subscription, id, attempt);
    return Promise.resolve();
  }

  nack(ackId: string, reason: string): Promise<void> {
    this.nackTransaction.immediate(ackId, reason);
    return Promise.resolve();
  }

  deadLetter(ackId: string, reason: string): Promise<void> {
    this.deadLetterTransaction.immediate(ackId, reason);
    return Promise.resolve();
  }

  deadLetters(subscription?: string): Promise<DeadLetter[]> {
    const rows = (
      subscription === undefined
        ? this.sql('SELECT * FROM bus_dead_letters ORDER BY seq').all()
        : this.sql('SELECT * FROM bus_dead_letters WHERE subscription = ? ORDER BY seq').all(subscription)
    ) as DeadRow[];
    return Promise.resolve(
      rows.map((r) => ({
        subscription: r.subscription,
        topic: r.topic,
        message: { id: r.message_id, attributes: JSON.parse(r.attributes) as Record<string, string>, data: r.data },
        reason: r.reason,
        deliveryAttempts: r.attempts,
        at: r.at,
      })),
    );
  }

  messagesOf(keyOrCorrelationId: string): Promise<PublishedMessage[]> {
    const rows = this.sql(
      `SELECT topic, id, attributes, data, published_at FROM bus_messages
         WHERE json_extract(attributes, '$."ce-subject"') = @id OR json_extract(attributes, '$."ce-correlationid"') = @id
         ORDER BY published_at, id`,
    ).all({ id: keyOrCorrelationId }) as { topic: string; id: string; attributes: string; data: string; published_at: number }[];
    return Promise.resolve(
      rows.map((r) => ({
        topic: r.topic,
        id: r.id,
        attributes: JSON.parse(r.attributes) as Record<string, string>,
        data: r.data,
        publishedAt: r.published_at,
      })),
    );
  }

  backlog(subscription: string): Promise<number> {
    const row = this.sql('SELECT COUNT(*) AS n FROM bus_deliveries WHERE subscription = ?').get(subscription) as { n: number };
    return Promise.resolve(row.n);
  }

  /** Must run inside a transaction: leases up to `max` due deliveries, burying those out of attempts. */
  private pullNow(config: SubscriptionConfig, max: number): ReceivedMessage[] {
    const subscription = config.name;
    const now = this.clock.now();
    const rows = this.sql(
      `SELECT d.seq, d.message_id, d.topic, d.attempts, d.last_error, m.attributes, m.data, m.published_at
         FROM bus_deliveries d JOIN bus_messages m ON m.topic = d.topic AND m.id = d.message_id
         WHERE d.subscription = ? AND d.visible_at <= ? ORDER BY d.visible_at, d.seq LIMIT ?`,
    ).all(subscription, now, max) as DeliveryRow[];
    const received: ReceivedMessage[] = [];
    const lease = this.sql('UPDATE bus_deliveries SET attempts = attempts + 1, visible_at = ? WHERE seq = ?');
    for (const row of rows) {
      if (row.attempts >= config.maxDeliveryAttempts) {
        const last = row.last_error === null ? 'ack deadline expired' : `last error: ${row.last_error}`;
        this.bury(config, row, `gave up after ${row.attempts} delivery attempts (${last})`);
        continue;
      }
      lease.run(now + config.ackDeadlineMs, row.seq);
      const attempt = row.attempts + 1;
      received.push({
        id: row.message_id,
        attributes: JSON.parse(row.attributes) as Record<string, string>,
        data: row.data,
        topic: row.topic,
        subscription,
        ackId: JSON.stringify([subscription, row.message_id, attempt]),
        deliveryAttempt: attempt,
        publishedAt: row.published_at,
      });
    }
    return received;
  }

  /** Must run inside a transaction: backs the delivery off for a retry, or buries it when out of attempts. */
  private nackNow(ackId: string, reason: string): void {
    const found = this.lease(ackId);
    if (found === undefined) return;
    const { config, row } = found;
    if (row.attempts >= config.maxDeliveryAttempts) {
      this.bury(config, row, `gave up after ${row.attempts} delivery attempts: ${reason}`);
      return;
    }
    const visibleAt = this.clock.now() + retryBackoffMs(config, row.attempts);
    this.sql('UPDATE bus_deliveries SET visible_at = ?, last_error = ? WHERE seq = ?').run(visibleAt, reason, row.seq);
  }

  /** Must run inside a transaction: stores the message once and enqueues it for each matching subscription. */
  private publishNow(topic: string, message: OutgoingMessage): PublishResult {
    const now = this.clock.now();
    const inserted = this.sql('INSERT OR IGNORE INTO bus_messages (topic, id, attributes, data, published_at) VALUES (?, ?, ?, ?, ?)').run(
      topic,
      message.id,
      JSON.stringify(message.attributes),
      message.data,
      now,
    );
    if (inserted.changes === 0) return { id: message.id, duplicate: true };
    const enqueue = this.sql('INSERT OR IGNORE INTO bus_deliveries (subscription, topic, message_id, visible_at) VALUES (?, ?, ?, ?)');
    // Read from the table, not the cache, so subscriptions another process created are honoured.
    for (const row of this.sql('SELECT config FROM bus_subscriptions WHERE topic = ?').all(topic) as { config: string }[]) {
      const config = this.parsedConfig(row.config);
      if (matchesFilter(config.filter, message.attributes)) enqueue.run(config.name, topic, message.id, now);
    }
    return { id: message.id, duplicate: false };
  }

  /** Must run inside a transaction: records the dead letter, republishes it on the DLQ topic, drops the delivery. */
  private bury(config: SubscriptionConfig, row: Pick<DeliveryRow, 'seq' | 'message_id' | 'topic' | 'attempts' | 'attributes' | 'data'>, reason: string): void {
    this.sql('DELETE FROM bus_deliveries WHERE seq = ?').run(row.seq);
    this.sql('INSERT INTO bus_dead_letters (subscription, topic, message_id, attributes, data, reason, attempts, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)').run(
      config.name,
      row.topic,
      row.message_id,
      row.attributes,
      row.data,
      reason,
      row.attempts,
      this.clock.now(),
    );
    if (config.deadLetterTopic === undefined) return;
    this.publishNow(config.deadLetterTopic, {
      id: `dlq:${config.name}:${row.message_id}`,
      attributes: {
        ...(JSON.parse(row.attributes) as Record<string, string>),
        [DEAD_LETTER_ATTRIBUTES.reason]: reason,
        [DEAD_LETTER_ATTRIBUTES.subscription]: config.name,
        [DEAD_LETTER_ATTRIBUTES.attempts]: String(row.attempts),
      },
      data: row.data,
    });
  }

  /** The delivery an ack id names, if that exact attempt is still current. Call inside a transaction. */
  private lease(ackId: string): { config: SubscriptionConfig; row: DeliveryRow } | undefined {
    const [subscription, id, attempt] = parseAckId(ackId);
    const row = this.sql(
      `SELECT d.seq, d.message_id, d.topic, d.attempts, d.last_error, m.attributes, m.data, m.published_at
         FROM bus_deliveries d JOIN bus_messages m ON m.topic = d.topic AND m.id = d.message_id
         WHERE d.subscription = ? AND d.message_id = ? AND d.attempts = ?`,
    ).get(subscription, id, attempt) as DeliveryRow | undefined;
    return row && { config: this.config(subscription), row };
  }

  private parsedConfig(text: string): SubscriptionConfig {
    let config = this.parsedConfigs.get(text);
    if (config === undefined) {
      config = JSON.parse(text) as SubscriptionConfig;
      this.parsedConfigs.set(text, config);
    }
    return config;
  }

  private config(subscription: string): SubscriptionConfig {
    if (!this.configs.has(subscription)) {
      const row = this.sql('SELECT config FROM bus_subscriptions WHERE name = ?').get(subscription) as { config: string } | undefined;
      if (row) this.configs.set(subscription, JSON.parse(row.config) as SubscriptionConfig);
    }
    const config = this.configs.get(subscription);
    if (config === undefined) throw new Error(`no subscription named ${subscription}`);
    return config;
  }
}

function parseAckId(ackId: string): [string, string, number] {
  return JSON.parse(ackId) as [string, string, number];
}
