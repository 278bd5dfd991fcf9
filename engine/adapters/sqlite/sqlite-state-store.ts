import {
  isNewerBatch,
  newestBatch,
  type BatchItem,
  type BatchRecord,
  type BatchState,
  type KeySnapshot,
  type KeyState,
  type MemberRecord,
  type OpenBatchResult,
  type StateStore,
  type TriggerDecision,
  type TriggerDraft,
  type TriggerRecord,
} from '../../ports/state-store.ts';
import { RETENTION_MS, SQLITE_SWEEP_LIMIT } from '../../config/conventions.ts';
import type { Clock } from '../../ports/clock.ts';
import { SystemClock } from '../../runtime/system-clock.ts';
import { prepared, type SqliteDatabase, type Statement } from './open-sqlite-database.ts';

// One row per fact, never a shared document rewritten per completion (#11, #12).
const SCHEMA = `
CREATE TABLE IF NOT EXISTS barrier_keys (barrier TEXT NOT NULL, key TEXT NOT NULL, snapshot TEXT NOT NULL, PRIMARY KEY (barrier, key));
CREATE TABLE IF NOT EXISTS barrier_members (
  barrier TEXT NOT NULL, key TEXT NOT NULL, member TEXT NOT NULL, execution_id TEXT NOT NULL, record TEXT NOT NULL,
  PRIMARY KEY (barrier, key, member, execution_id)
);
CREATE TABLE IF NOT EXISTS triggers (
  emitter TEXT NOT NULL, scope TEXT NOT NULL, topic TEXT NOT NULL, message TEXT NOT NULL, reason TEXT NOT NULL,
  decided_at INTEGER NOT NULL, published_at INTEGER,
  PRIMARY KEY (emitter, scope)
);
CREATE INDEX IF NOT EXISTS triggers_unpublished ON triggers (emitter) WHERE published_at IS NULL;
CREATE TABLE IF NOT EXISTS batches (
  id TEXT PRIMARY KEY, coordinator TEXT NOT NULL, key TEXT NOT NULL, state TEXT NOT NULL, record TEXT NOT NULL, last_progress_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS batches_one_active ON batches (coordinator, key) WHERE state = 'active';
CREATE INDEX IF NOT EXISTS batches_by_key ON batches (coordinator, key);
CREATE TABLE IF NOT EXISTS batch_reports (
  batch_id TEXT NOT NULL, entity_id TEXT NOT NULL, execution_id TEXT NOT NULL, item TEXT NOT NULL,
  PRIMARY KEY (batch_id, entity_id, execution_id)
);
`;

// Reports used to be keyed by entity only (a retry after a failure was lost as a duplicate): move any
// such rows over, each as its own execution, so a database written before keeps its batches' progress.
const MIGRATE_BATCH_ITEMS = `
INSERT OR IGNORE INTO batch_reports (batch_id, entity_id, execution_id, item)
  SELECT batch_id, entity_id, COALESCE(json_extract(item, '$.executionId'), json_extract(item, '$.messageId')), item FROM batch_items ORDER BY rowid;
DROP TABLE batch_items;
`;

interface TriggerRow {
  emitter: string;
  scope: string;
  topic: string;
  message: string;
  reason: string;
  decided_at: number;
  published_at: number | null;
}

interface BatchRow {
  record: string;
  state: BatchRecord['state'];
  last_progress_at: number;
}

/**
 * The embedded backend's state. Each method is one SQLite transaction; the fire-once decisions are a
 * primary-key insert in the same IMMEDIATE transaction that read the members, so two writers (even
 * two processes) can never both fire, and a kill at any point leaves a decision either made or not.
 */
export class SqliteStateStore implements StateStore {
  private sql(text: string): Statement {
    return prepared(this.db, text);
  }

  /**
   * `clock` is the store's time base (`now()`): the embedded backend is one process (one machine) per
   * database file, so that process's clock is the store's clock.
   */
  constructor(
    private readonly db: SqliteDatabase,
    private readonly clock: Clock = new SystemClock(),
  ) {
    // A read-only connection (a reader of a copy) only reads: no schema, no migration, no sweep.
    if (db.readonly) return;
    db.exec(SCHEMA);
    // Checked inside the write lock: two processes opening the same file move the rows once.
    const upgrade = db.transaction(() => {
      if (db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'batch_items'").get() !== undefined) db.exec(MIGRATE_BATCH_ITEMS);
    });
    upgrade.immediate();
    this.sweepExpired();
  }

  /**
   * Retention (issue 16 #7), run when the database opens: deletes up to `limit` barrier keys whose first
   * completion is older than `RETENTION_DAYS` — each with all its rows (snapshot, members, trigger) in
   * one transaction, so a key goes as a unit — and up to `limit` finished (not active) batches created
   * before then, with their reports and completion. A key younger than the retention is never touched.
   */
  sweepExpired(limit: number = SQLITE_SWEEP_LIMIT): { keys: number; batches: number } {
    const cutoff = this.clock.now() - RETENTION_MS;
    const sweep = this.db.transaction(() => {
      const keys = this.sql("SELECT barrier, key FROM barrier_keys WHERE json_extract(snapshot, '$.firstCompletionAt') < ? LIMIT ?").all(cutoff, limit) as {
        barrier: string;
        key: string;
      }[];
      for (const { barrier, key } of keys) {
        this.sql('DELETE FROM barrier_members WHERE barrier = ? AND key = ?').run(barrier, key);
        this.sql('DELETE FROM triggers WHERE emitter = ? AND scope = ?').run(barrier, key);
        this.sql('DELETE FROM barrier_keys WHERE barrier = ? AND key = ?').run(barrier, key);
      }
      const batches = this.sql("SELECT id, coordinator FROM batches WHERE state <> 'active' AND json_extract(record, '$.createdAt') < ? LIMIT ?").all(
        cutoff,
        limit,
      ) as { id: string; coordinator: string }[];
      for (const { id, coordinator } of batches) {
        this.sql('DELETE FROM batch_reports WHERE batch_id = ?').run(id);
        this.sql('DELETE FROM triggers WHERE emitter = ? AND scope = ?').run(coordinator, id);
        this.sql('DELETE FROM batches WHERE id = ?').run(id);
      }
      return { keys: keys.length, batches: batches.length };
    });
    return sweep.immediate();
  }

  now(): Promise<number> {
    return Promise.resolve(this.clock.now());
  }

  openKey(snapshot: KeySnapshot): Promise<KeySnapshot> {
    const open = this.db.transaction((): KeySnapshot => {
      this.sql('INSERT OR IGNORE INTO barrier_keys (barrier, key, snapshot) VALUES (?, ?, ?)').run(snapshot.barrier, snapshot.key, JSON.stringify(snapshot));
      const row = this.sql('SELECT snapshot FROM barrier_keys WHERE barrier = ? AND key = ?').get(snapshot.barrier, snapshot.key) as { snapshot: string };
      return JSON.parse(row.snapshot) as KeySnapshot;
    });
    return Promise.resolve(open.immediate());
  }

  recordMember(barrier: string, key: string, record: MemberRecord): Promise<boolean> {
    const result = this.sql('INSERT OR IGNORE INTO barrier_members (barrier, key, member, execution_id, record) VALUES (?, ?, ?, ?, ?)').run(
      barrier,
      key,
      record.member,
      record.executionId,
      JSON.stringify(record),
    );
    return Promise.resolve(result.changes === 1);
  }

  readKey(barrier: string, key: string): Promise<KeyState | undefined> {
    return Promise.resolve(this.db.transaction(() => this.keyState(barrier, key))());
  }

  listKeys(barrier: string, openOnly: boolean): Promise<string[]> {
    const sql = openOnly
      ? `SELECT k.key FROM barrier_keys k WHERE k.barrier = ?
         AND NOT EXISTS (SELECT 1 FROM triggers t WHERE t.emitter = k.barrier AND t.scope = k.key) ORDER BY k.rowid`
      : 'SELECT key FROM barrier_keys WHERE barrier = ? ORDER BY rowid';
    return Promise.resolve((this.sql(sql).all(barrier) as { key: string }[]).map((r) => r.key));
  }

  decideTrigger(barrier: string, key: string, evaluate: (state: KeyState) => TriggerDraft | undefined): Promise<TriggerDecision> {
    const decide = this.db.transaction((): TriggerDecision => {
      const state = this.keyState(barrier, key);
      if (state === undefined) return { trigger: undefined, created: false };
      return this.insertOnce(barrier, key, state.trigger, () => evaluate(state));
    });
    return Promise.resolve(decide.immediate());
  }

  markPublished(emitter: string, scope: string, at: number): Promise<void> {
    this.sql('UPDATE triggers SET published_at = ? WHERE emitter = ? AND scope = ? AND published_at IS NULL').run(at, emitter, scope);
    return Promise.resolve();
  }

  listUnpublished(emitter?: string): Promise<TriggerRecord[]> {
    const rows = (
      emitter === undefined
        ? this.sql('SELECT * FROM triggers WHERE published_at IS NULL ORDER BY decided_at').all()
        : this.sql('SELECT * FROM triggers WHERE published_at IS NULL AND emitter = ? ORDER BY decided_at').all(emitter)
    ) as TriggerRow[];
    return Promise.resolve(rows.map(toTrigger));
  }

  openBatch(batch: BatchRecord, onActive: 'refuse' | 'supersede'): Promise<OpenBatchResult> {
    const open = this.db.transaction((): OpenBatchResult => {
      const existing = this.batchRow(batch.id);
      if (existing) return { outcome: 'existing', batch: toBatch(existing), superseded: [] };
      const ofKey = (
        this.sql('SELECT record, state, last_progress_at FROM batches WHERE coordinator = ? AND key = ?').all(batch.coordinator, batch.key) as BatchRow[]
      ).map(toBatch);
      const newest = newestBatch(ofKey);
      if (newest && !isNewerBatch(batch, newest)) return { outcome: 'outdated', batch: newest, superseded: [] };
      const active = ofKey.filter((b) => b.state === 'active');
      const first = active[0];
      if (first && onActive === 'refuse') return { outcome: 'refused', batch: first, superseded: [] };
      this.sql("UPDATE batches SET state = 'superseded' WHERE coordinator = ? AND key = ? AND state = 'active'").run(batch.coordinator, batch.key);
      const stored: BatchRecord = { ...batch, state: 'active' };
      this.sql('INSERT INTO batches (id, coordinator, key, state, record, last_progress_at) VALUES (?, ?, ?, ?, ?, ?)').run(
        batch.id,
        batch.coordinator,
        batch.key,
        'active',
        JSON.stringify(stored),
        batch.createdAt,
      );
      return { outcome: 'opened', batch: stored, superseded: active.map((b) => b.id) };
    });
    return Promise.resolve(open.immediate());
  }

  recordBatchItem(batchId: string, item: BatchItem): Promise<boolean> {
    const record = this.db.transaction((): boolean => {
      const inserted = this.sql('INSERT OR IGNORE INTO batch_reports (batch_id, entity_id, execution_id, item) VALUES (?, ?, ?, ?)').run(
        batchId,
        String(item.entityId),
        item.executionId,
        JSON.stringify(item),
      );
      if (inserted.changes === 0) return false;
      this.sql('UPDATE batches SET last_progress_at = MAX(last_progress_at, ?) WHERE id = ?').run(item.recordedAt, batchId);
      return true;
    });
    return Promise.resolve(record.immediate());
  }

  readBatch(batchId: string): Promise<BatchState | undefined> {
    return Promise.resolve(this.db.transaction(() => this.batchState(batchId))());
  }

  listActiveBatches(coordinator: string): Promise<BatchRecord[]> {
    const rows = this.sql("SELECT record, state, last_progress_at FROM batches WHERE coordinator = ? AND state = 'active'").all(coordinator) as BatchRow[];
    return Promise.resolve(rows.map(toBatch));
  }

  completeBatch(batchId: string, evaluate: (state: BatchState) => TriggerDraft | undefined): Promise<TriggerDecision> {
    const complete = this.db.transaction((): TriggerDecision => {
      const state = this.batchState(batchId);
      if (state === undefined) return { trigger: undefined, created: false };
      if (state.completion === undefined && state.batch.state !== 'active') return { trigger: undefined, created: false };
      const decision = this.insertOnce(state.batch.coordinator, batchId, state.completion, () => evaluate(state));
      if (decision.created) this.sql("UPDATE batches SET state = 'completed' WHERE id = ?").run(batchId);
      return decision;
    });
    return Promise.resolve(complete.immediate());
  }

  /** Inside a transaction: the existing trigger, or the evaluated draft inserted under the primary key. */
  private insertOnce(emitter: string, scope: string, existing: TriggerRecord | undefined, evaluate: () => TriggerDraft | undefined): TriggerDecision {
    if (existing) return { trigger: existing, created: false };
    const draft = evaluate();
    if (draft === undefined) return { trigger: undefined, created: false };
    // A plain INSERT: if anything ever got past the read above, the primary key fails loudly instead of firing twice.
    this.sql('INSERT INTO triggers (emitter, scope, topic, message, reason, decided_at) VALUES (?, ?, ?, ?, ?, ?)').run(
      emitter,
      scope,
      draft.topic,
      JSON.stringify(draft.message),
      draft.reason,
      draft.decidedAt,
    );
    return { trigger: { ...draft, emitter, scope, publishedAt: undefined }, created: true };
  }

  private trigger(emitter: string, scope: string): TriggerRecord | undefined {
    const row = this.sql('SELECT * FROM triggers WHERE emitter = ? AND scope = ?').get(emitter, scope) as TriggerRow | undefined;
    return row && toTrigger(row);
  }

  private keyState(barrier: string, key: string): KeyState | undefined {
    const row = this.sql('SELECT snapshot FROM barrier_keys WHERE barrier = ? AND key = ?').get(barrier, key) as { snapshot: string } | undefined;
    if (row === undefined) return undefined;
    const members = this.sql('SELECT record FROM barrier_members WHERE barrier = ? AND key = ? ORDER BY rowid').all(barrier, key) as { record: string }[];
    return {
      snapshot: JSON.parse(row.snapshot) as KeySnapshot,
      members: members.map((m) => JSON.parse(m.record) as MemberRecord),
      trigger: this.trigger(barrier, key),
    };
  }

  private batchRow(batchId: string): BatchRow | undefined {
    return this.sql('SELECT record, state, last_progress_at FROM batches WHERE id = ?').get(batchId) as BatchRow | undefined;
  }

  private batchState(batchId: string): BatchState | undefined {
    const row = this.batchRow(batchId);
    if (row === undefined) return undefined;
    const batch = toBatch(row);
    const items = this.sql('SELECT execution_id, item FROM batch_reports WHERE batch_id = ? ORDER BY rowid').all(batchId) as {
      execution_id: string;
      item: string;
    }[];
    return {
      batch,
      items: items.map((i) => ({ ...(JSON.parse(i.item) as BatchItem), executionId: i.execution_id })),
      lastProgressAt: row.last_progress_at,
      completion: this.trigger(batch.coordinator, batchId),
    };
  }
}

function toTrigger(row: TriggerRow): TriggerRecord {
  return {
    emitter: row.emitter,
    scope: row.scope,
    topic: row.topic,
    message: JSON.parse(row.message) as TriggerRecord['message'],
    reason: row.reason,
    decidedAt: row.decided_at,
    publishedAt: row.published_at ?? undefined,
  };
}

function toBatch(row: BatchRow): BatchRecord {
  // The state column is authoritative: superseding and completing update it, not the JSON.
  const record = JSON.parse(row.record) as Omit<BatchRecord, 'triggeredAt'> & { triggeredAt?: number };
  // A batch stored before batches were ordered by their trigger's time orders by its creation.
  return { ...record, triggeredAt: record.triggeredAt ?? record.createdAt, state: row.state };
}
