import {
  isNewerBatch,
  newestBatch,
  type BatchItem,
  type BatchRecord,
  type BatchState,
  type CompletionResult,
  type KeySnapshot,
  type KeyState,
  type KeyTally,
  type MemberRecord,
  type OpenBatchResult,
  type StateStore,
  type TriggerDecision,
  type TriggerDraft,
  type TriggerRecord,
  type TriggerRule,
  tallyOf,
  tallyWeight,
} from '../../ports/state-store.ts';
import { RETENTION_MS, SQLITE_SWEEP_LIMIT } from '../../config/conventions.ts';
import type { Clock } from '../../ports/clock.ts';
import { TransientError } from '../../runtime/errors.ts';
import { SystemClock } from '../../runtime/system-clock.ts';
import { prepared, type SqliteDatabase, type SqliteTransaction, type Statement } from './open-sqlite-database.ts';

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

// Issue 11: a key's tally (`KeyTally`) lives beside its snapshot, kept as each record is inserted, so a decision
// reads one row, not every member record. Keys stored before it existed get their tally counted from
// their records once, in the same write transaction that adds the columns.
const TALLY_COLUMNS = `
ALTER TABLE barrier_keys ADD COLUMN counted INTEGER NOT NULL DEFAULT 0;
ALTER TABLE barrier_keys ADD COLUMN required_counted INTEGER NOT NULL DEFAULT 0;
`;

/** Parsed snapshots kept per store: a snapshot never changes once stored, so its text identifies its parse. */
const SNAPSHOT_CACHE_LIMIT = 4096;

interface KeyRow {
  snapshot: string;
  counted: number;
  required_counted: number;
}

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
 * The embedded backend's state. Each write is one SQLite transaction; the fire-once decisions are a
 * primary-key insert in the same IMMEDIATE transaction that read the members, so two writers (even
 * two processes) can never both fire, and a kill at any point leaves a decision either made or not.
 *
 * Per completion (issue 11) the work does not grow with the key's members, and it is one transaction:
 * `recordCompletion` reads the key's row (snapshot, tally, trigger) once, inserts the key if it is new,
 * inserts the record and bumps the tally, and reads every member only when the key fires. Every
 * transaction is wrapped once per store, and every statement prepared once per connection.
 */
export class SqliteStateStore implements StateStore {
  /** Parsed snapshots by barrier × key, with the text each was parsed from (a swept and re-opened key has a new text). */
  private readonly snapshots = new Map<string, { text: string; snapshot: KeySnapshot }>();
  private readonly createKey: SqliteTransaction<(snapshot: KeySnapshot) => KeySnapshot>;
  private readonly insertMember: SqliteTransaction<(barrier: string, key: string, record: MemberRecord) => boolean>;
  private readonly decideKey: SqliteTransaction<(barrier: string, key: string, rule: TriggerRule) => TriggerDecision>;
  private readonly completeKey: SqliteTransaction<(snapshot: KeySnapshot, record: MemberRecord, rule: TriggerRule) => CompletionResult>;
  private readonly readKeyState: SqliteTransaction<(barrier: string, key: string) => KeyState | undefined>;
  private readonly openBatchTx: SqliteTransaction<(batch: BatchRecord, onActive: 'refuse' | 'supersede') => OpenBatchResult>;
  private readonly insertBatchItem: SqliteTransaction<(batchId: string, item: BatchItem) => boolean>;
  private readonly readBatchState: SqliteTransaction<(batchId: string) => BatchState | undefined>;
  private readonly completeBatchTx: SqliteTransaction<(batchId: string, evaluate: (state: BatchState) => TriggerDraft | undefined) => TriggerDecision>;

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
    this.createKey = db.transaction((snapshot: KeySnapshot) => {
      this.sql('INSERT OR IGNORE INTO barrier_keys (barrier, key, snapshot) VALUES (?, ?, ?)').run(snapshot.barrier, snapshot.key, JSON.stringify(snapshot));
      return this.storedSnapshot(snapshot.barrier, snapshot.key) as KeySnapshot;
    });
    this.insertMember = db.transaction((barrier: string, key: string, record: MemberRecord) => {
      const snapshot = this.storedSnapshot(barrier, key);
      // Only if the key was swept (retention) since its openKey: redelivered, the completion opens it again.
      if (snapshot === undefined) throw new TransientError(`key ${barrier} × ${key} is not open (recordMember before openKey)`);
      return this.insertMemberNow(barrier, key, record, snapshot) !== 'duplicate';
    });
    this.decideKey = db.transaction((barrier: string, key: string, rule: TriggerRule) => this.draftOnce(barrier, key, rule));
    this.completeKey = db.transaction((snapshot: KeySnapshot, record: MemberRecord, rule: TriggerRule) => this.completeKeyNow(snapshot, record, rule));
    this.readKeyState = db.transaction((barrier: string, key: string) => this.keyState(barrier, key));
    this.openBatchTx = db.transaction((batch: BatchRecord, onActive: 'refuse' | 'supersede') => this.openBatchNow(batch, onActive));
    this.insertBatchItem = db.transaction((batchId: string, item: BatchItem) => this.insertBatchItemNow(batchId, item));
    this.readBatchState = db.transaction((batchId: string) => this.batchState(batchId));
    this.completeBatchTx = db.transaction((batchId: string, evaluate: (state: BatchState) => TriggerDraft | undefined) =>
      this.completeBatchNow(batchId, evaluate),
    );
    // A read-only connection (a reader of a copy) only reads: no schema, no migration, no sweep.
    if (db.readonly) return;
    db.exec(SCHEMA);
    // Checked inside the write lock: two processes opening the same file migrate once.
    const upgrade = db.transaction(() => {
      if (db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'batch_items'").get() !== undefined) db.exec(MIGRATE_BATCH_ITEMS);
      if (!this.hasTallies()) this.addTallies();
    });
    upgrade.immediate();
    this.sweepExpired();
  }

  /**
   * Retention (issue 16 #7), run when the database opens: deletes up to `limit` barrier keys whose first
   * completion is older than `RETENTION_DAYS` — each with all its rows (snapshot, tally, members, trigger)
   * in one transaction, so a key goes as a unit — and up to `limit` finished (not active) batches created
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
    // Every completion after a key's first finds its snapshot: a read, no write lock.
    const stored = this.storedSnapshot(snapshot.barrier, snapshot.key);
    return Promise.resolve(stored ?? this.createKey.immediate(snapshot));
  }

  recordMember(barrier: string, key: string, record: MemberRecord): Promise<boolean> {
    return Promise.resolve(this.insertMember.immediate(barrier, key, record));
  }

  readKey(barrier: string, key: string): Promise<KeyState | undefined> {
    return Promise.resolve(this.readKeyState(barrier, key));
  }

  listKeys(barrier: string, openOnly: boolean): Promise<string[]> {
    const sql = openOnly
      ? `SELECT k.key FROM barrier_keys k WHERE k.barrier = ?
         AND NOT EXISTS (SELECT 1 FROM triggers t WHERE t.emitter = k.barrier AND t.scope = k.key) ORDER BY k.rowid`
      : 'SELECT key FROM barrier_keys WHERE barrier = ? ORDER BY rowid';
    return Promise.resolve((this.sql(sql).all(barrier) as { key: string }[]).map((r) => r.key));
  }

  decideTrigger(barrier: string, key: string, rule: TriggerRule): Promise<TriggerDecision> {
    // Without the write lock: the tally and any trigger, in one statement. A key that does not fire yet
    // (every completion but the deciding one) stops here. A writer that commits after this read decides
    // on its own state, which holds this caller's record: nothing is missed, as on Firestore.
    const row = this.decisionRow(barrier, key);
    if (row === undefined) return Promise.resolve({ trigger: undefined, created: false });
    if (row.trigger !== undefined) return Promise.resolve({ trigger: row.trigger, created: false });
    if (!rule.fires(row.tally)) return Promise.resolve({ trigger: undefined, created: false });
    // It fires: read the members and insert the trigger under the write lock, where exactly one caller creates it.
    return Promise.resolve(this.decideKey.immediate(barrier, key, rule));
  }

  recordCompletion(snapshot: KeySnapshot, record: MemberRecord, rule: TriggerRule): Promise<CompletionResult> {
    return Promise.resolve(this.completeKey.immediate(snapshot, record, rule));
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
    return Promise.resolve(this.openBatchTx.immediate(batch, onActive));
  }

  recordBatchItem(batchId: string, item: BatchItem): Promise<boolean> {
    return Promise.resolve(this.insertBatchItem.immediate(batchId, item));
  }

  readBatch(batchId: string): Promise<BatchState | undefined> {
    return Promise.resolve(this.readBatchState(batchId));
  }

  listActiveBatches(coordinator: string): Promise<BatchRecord[]> {
    const rows = this.sql("SELECT record, state, last_progress_at FROM batches WHERE coordinator = ? AND state = 'active'").all(coordinator) as BatchRow[];
    return Promise.resolve(rows.map(toBatch));
  }

  completeBatch(batchId: string, evaluate: (state: BatchState) => TriggerDraft | undefined): Promise<TriggerDecision> {
    return Promise.resolve(this.completeBatchTx.immediate(batchId, evaluate));
  }

  /**
   * Inside one write transaction: opens the key if it has no snapshot, records the completion, and
   * decides — one commit for the whole completion. The key's row (snapshot, tally, any trigger) is read
   * once, before the insert; the insert's own effect on the tally is added to it, not read back.
   */
  private completeKeyNow(snapshot: KeySnapshot, record: MemberRecord, rule: TriggerRule): CompletionResult {
    const { barrier, key } = snapshot;
    let row = this.decisionRow(barrier, key);
    if (row === undefined) {
      const text = JSON.stringify(snapshot);
      this.sql('INSERT INTO barrier_keys (barrier, key, snapshot) VALUES (?, ?, ?)').run(barrier, key, text);
      row = { tally: { snapshot: this.parsedSnapshot(barrier, key, text), counted: 0, requiredCounted: 0 }, trigger: undefined };
    }
    const { tally, trigger } = row;
    const added = this.insertMemberNow(barrier, key, record, tally.snapshot);
    if (trigger !== undefined) return { recorded: added !== 'duplicate', decision: { trigger, created: false } };
    const after: KeyTally =
      added === 'counted' || added === 'required'
        ? { ...tally, counted: tally.counted + 1, requiredCounted: tally.requiredCounted + (added === 'required' ? 1 : 0) }
        : tally;
    const decision = rule.fires(after) ? this.draftOnce(barrier, key, rule) : { trigger: undefined, created: false };
    return { recorded: added !== 'duplicate', decision };
  }

  /**
   * Inside the write transaction: the record, and — if it is new and its member counts for the first
   * time — the key's tally. Returns what the record added: nothing new (`duplicate`), a record that
   * leaves the tally as it was (`recorded`), or a newly counted (`counted`) or required (`required`) member.
   */
  private insertMemberNow(barrier: string, key: string, record: MemberRecord, snapshot: KeySnapshot): 'duplicate' | 'recorded' | 'counted' | 'required' {
    const inserted = this.sql('INSERT OR IGNORE INTO barrier_members (barrier, key, member, execution_id, record) VALUES (?, ?, ?, ?, ?)').run(
      barrier,
      key,
      record.member,
      record.executionId,
      JSON.stringify(record),
    );
    if (inserted.changes === 0) return 'duplicate';
    const weight = tallyWeight(snapshot, record);
    if (weight === 'none') return 'recorded';
    // The member counts for the first time unless another of its records (usually none; a retry) counts already.
    const others = this.sql('SELECT record FROM barrier_members WHERE barrier = ? AND key = ? AND member = ? AND execution_id <> ?').all(
      barrier,
      key,
      record.member,
      record.executionId,
    ) as { record: string }[];
    if (others.some((other) => tallyWeight(snapshot, JSON.parse(other.record) as MemberRecord) !== 'none')) return 'recorded';
    this.sql('UPDATE barrier_keys SET counted = counted + 1, required_counted = required_counted + ? WHERE barrier = ? AND key = ?').run(
      weight === 'required' ? 1 : 0,
      barrier,
      key,
    );
    return weight;
  }

  /** A key's tally and any trigger, in one statement; undefined before its first completion. */
  private decisionRow(barrier: string, key: string): { tally: KeyTally; trigger: TriggerRecord | undefined } | undefined {
    const row = this.sql(
      `SELECT k.snapshot, k.counted, k.required_counted, t.emitter, t.scope, t.topic, t.message, t.reason, t.decided_at, t.published_at
       FROM barrier_keys k LEFT JOIN triggers t ON t.emitter = k.barrier AND t.scope = k.key WHERE k.barrier = ? AND k.key = ?`,
    ).get(barrier, key) as (KeyRow & Partial<Omit<TriggerRow, 'published_at'>> & { published_at: number | null }) | undefined;
    if (row === undefined) return undefined;
    const tally: KeyTally = { snapshot: this.parsedSnapshot(barrier, key, row.snapshot), counted: row.counted, requiredCounted: row.required_counted };
    return { tally, trigger: row.emitter === undefined || row.emitter === null ? undefined : toTrigger(row as TriggerRow) };
  }

  /** Inside the write transaction, once the tally fires: reads the members and inserts the drafted trigger unless one exists. */
  private draftOnce(barrier: string, key: string, rule: TriggerRule): TriggerDecision {
    const state = this.keyState(barrier, key);
    if (state === undefined) return { trigger: undefined, created: false };
    return this.insertOnce(barrier, key, state.trigger, () => rule.draft(state));
  }

  private openBatchNow(batch: BatchRecord, onActive: 'refuse' | 'supersede'): OpenBatchResult {
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
  }

  private insertBatchItemNow(batchId: string, item: BatchItem): boolean {
    const inserted = this.sql('INSERT OR IGNORE INTO batch_reports (batch_id, entity_id, execution_id, item) VALUES (?, ?, ?, ?)').run(
      batchId,
      String(item.entityId),
      item.executionId,
      JSON.stringify(item),
    );
    if (inserted.changes === 0) return false;
    this.sql('UPDATE batches SET last_progress_at = MAX(last_progress_at, ?) WHERE id = ?').run(item.recordedAt, batchId);
    return true;
  }

  private completeBatchNow(batchId: string, evaluate: (state: BatchState) => TriggerDraft | undefined): TriggerDecision {
    const state = this.batchState(batchId);
    if (state === undefined) return { trigger: undefined, created: false };
    if (state.completion === undefined && state.batch.state !== 'active') return { trigger: undefined, created: false };
    const decision = this.insertOnce(state.batch.coordinator, batchId, state.completion, () => evaluate(state));
    if (decision.created) this.sql("UPDATE batches SET state = 'completed' WHERE id = ?").run(batchId);
    return decision;
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

  /** The key's stored snapshot, parsed once per store. */
  private storedSnapshot(barrier: string, key: string): KeySnapshot | undefined {
    const row = this.sql('SELECT snapshot FROM barrier_keys WHERE barrier = ? AND key = ?').get(barrier, key) as { snapshot: string } | undefined;
    return row && this.parsedSnapshot(barrier, key, row.snapshot);
  }

  private parsedSnapshot(barrier: string, key: string, text: string): KeySnapshot {
    const id = `${barrier}\u0000${key}`;
    const known = this.snapshots.get(id);
    if (known?.text === text) return known.snapshot;
    const snapshot = JSON.parse(text) as KeySnapshot;
    // Bounded: the oldest parse goes first (a Map iterates in insertion order).
    if (this.snapshots.size >= SNAPSHOT_CACHE_LIMIT) this.snapshots.delete(this.snapshots.keys().next().value as string);
    this.snapshots.set(id, { text, snapshot });
    return snapshot;
  }

  private keyState(barrier: string, key: string): KeyState | undefined {
    const snapshot = this.storedSnapshot(barrier, key);
    if (snapshot === undefined) return undefined;
    const members = this.sql('SELECT record FROM barrier_members WHERE barrier = ? AND key = ? ORDER BY rowid').all(barrier, key) as { record: string }[];
    return { snapshot, members: members.map((m) => JSON.parse(m.record) as MemberRecord), trigger: this.trigger(barrier, key) };
  }

  private hasTallies(): boolean {
    return (this.db.prepare('PRAGMA table_info(barrier_keys)').all() as { name: string }[]).some((c) => c.name === 'counted');
  }

  /** Inside the upgrade transaction: adds the tally columns and counts every stored key's tally from its records. */
  private addTallies(): void {
    this.db.exec(TALLY_COLUMNS);
    const keys = this.sql('SELECT barrier, key, snapshot FROM barrier_keys').all() as { barrier: string; key: string; snapshot: string }[];
    for (const { barrier, key, snapshot: text } of keys) {
      const snapshot = JSON.parse(text) as KeySnapshot;
      const members = this.sql('SELECT record FROM barrier_members WHERE barrier = ? AND key = ?').all(barrier, key) as { record: string }[];
      const tally = tallyOf(
        snapshot,
        members.map((m) => JSON.parse(m.record) as MemberRecord),
      );
      this.sql('UPDATE barrier_keys SET counted = ?, required_counted = ? WHERE barrier = ? AND key = ?').run(
        tally.counted,
        tally.requiredCounted,
        barrier,
        key,
      );
    }
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
