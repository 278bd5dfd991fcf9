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

// The previous release kept each key's tally in these columns, rewritten by every completion. Tallies are
// now counted from the records (`KnownKeys`); the columns go, so a release that still reads them — should
// one open this file again — finds none and counts them afresh from the records instead of trusting stale ones.
const DROP_TALLY_COLUMNS = `
ALTER TABLE barrier_keys DROP COLUMN counted;
ALTER TABLE barrier_keys DROP COLUMN required_counted;
`;

/** Parsed snapshots kept per store: a snapshot never changes once stored, so its text identifies its parse. */
const SNAPSHOT_CACHE_LIMIT = 4096;

/** Keys a connection keeps in `KnownKeys` at most; the least recently used goes first. */
const KNOWN_KEYS_LIMIT = 4096;

/**
 * A barrier key as this connection last read or wrote it: its snapshot, the members counted so far
 * (expected, with a record in a counting status; each once) and its trigger, if decided. Derived only
 * from the key's rows, never stored apart from them, so there is nothing a crash could split.
 */
interface KnownKey {
  readonly snapshot: KeySnapshot;
  /** The snapshot's stored text: a key swept and opened again has another. */
  readonly text: string;
  readonly counted: Set<string>;
  requiredCounted: number;
  trigger: TriggerRecord | undefined;
  /** The highest member rowid read into `counted`: after another connection's commit, only later records are read. */
  memberRowid: number;
  /** The `data_version` it was read or brought up to date at. */
  version: number;
}

/**
 * Issue 11: the keys a connection knows, each valid while no other connection has committed to the file.
 * SQLite says when one may have: `PRAGMA data_version` changes for this connection whenever another
 * connection (another process, or another handle here) commits, and never for this connection's own
 * commits. So a completion of a known key, inside its write transaction, reads only that one value and
 * inserts its record — no read of the key's row, no tally row rewritten. A key's first completion in this
 * process reads the key's records once; after another connection's commit a key is brought up to date
 * with the records made since (by rowid) and its trigger row. Shared by every store on the connection,
 * since their commits do not change `data_version` for one another — which is also why every write to
 * the barrier tables must go through this store (none is made anywhere else; a new one must keep
 * `KnownKeys` in step, or clear it).
 */
interface KnownKeys {
  readonly keys: Map<string, KnownKey>;
  /** The `data_version` this connection read last (a key opened in this transaction is known as of it). */
  version: number | undefined;
}

const knownKeysOf = new WeakMap<SqliteDatabase, KnownKeys>();

interface KeyRow {
  snapshot: string;
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
 * `recordCompletion` inserts the key if it is new and the record, counts the record into the tally this
 * connection keeps for the key (`KnownKeys`), and reads every member only when the key fires. Every
 * transaction is wrapped once per store, and every statement prepared once per connection.
 */
export class SqliteStateStore implements StateStore {
  /** Parsed snapshots by barrier × key, with the text each was parsed from (a swept and re-opened key has a new text). */
  private readonly snapshots = new Map<string, { text: string; snapshot: KeySnapshot }>();
  private readonly known: KnownKeys;
  private readonly loadKey: SqliteTransaction<(barrier: string, key: string, known: KnownKey | undefined, version: number) => KnownKey | undefined>;
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
    let known = knownKeysOf.get(db);
    if (known === undefined) knownKeysOf.set(db, (known = { keys: new Map(), version: undefined }));
    this.known = known;
    this.loadKey = db.transaction((barrier: string, key: string, known: KnownKey | undefined, version: number) =>
      this.loadKeyNow(barrier, key, known, version),
    );
    this.createKey = db.transaction((snapshot: KeySnapshot) => {
      this.sql('INSERT OR IGNORE INTO barrier_keys (barrier, key, snapshot) VALUES (?, ?, ?)').run(snapshot.barrier, snapshot.key, JSON.stringify(snapshot));
      return this.storedSnapshot(snapshot.barrier, snapshot.key) as KeySnapshot;
    });
    this.insertMember = db.transaction((barrier: string, key: string, record: MemberRecord) => {
      const known = this.knownKey(barrier, key);
      // Only if the key was swept (retention) since its openKey: redelivered, the completion opens it again.
      if (known === undefined) throw new TransientError(`key ${barrier} × ${key} is not open (recordMember before openKey)`);
      return this.insertMemberNow(barrier, key, record, known);
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
      if ((db.prepare('PRAGMA table_info(barrier_keys)').all() as { name: string }[]).some((c) => c.name === 'counted')) db.exec(DROP_TALLY_COLUMNS);
    });
    upgrade.immediate();
    this.sweepExpired();
  }

  /**
   * Retention (issue 16 #7), run when the database opens: deletes up to `limit` barrier keys whose first
   * completion is older than `RETENTION_DAYS` — each with all its rows (snapshot, members, trigger)
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
    const swept = sweep.immediate();
    if (swept.keys > 0) this.known.keys.clear();
    return swept;
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
    return Promise.resolve(this.forgettingOnFailure(barrier, key, () => this.insertMember.immediate(barrier, key, record)));
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
    return Promise.resolve(
      this.forgettingOnFailure(barrier, key, () => {
        // Without the write lock: the key as known (its tally and any trigger). A key that does not fire yet
        // stops here. A writer that commits after this read decides on its own state, which holds this
        // caller's record: nothing is missed, as on Firestore.
        const known = this.knownKey(barrier, key);
        if (known === undefined) return { trigger: undefined, created: false };
        if (known.trigger !== undefined) return { trigger: known.trigger, created: false };
        if (!rule.fires(tallyOfKnown(known))) return { trigger: undefined, created: false };
        // It fires: read the members and insert the trigger under the write lock, where exactly one caller creates it.
        return this.decideKey.immediate(barrier, key, rule);
      }),
    );
  }

  recordCompletion(snapshot: KeySnapshot, record: MemberRecord, rule: TriggerRule): Promise<CompletionResult> {
    return Promise.resolve(this.forgettingOnFailure(snapshot.barrier, snapshot.key, () => this.completeKey.immediate(snapshot, record, rule)));
  }

  markPublished(emitter: string, scope: string, at: number): Promise<void> {
    this.forgettingOnFailure(emitter, scope, () => {
      const { changes } = this.sql('UPDATE triggers SET published_at = ? WHERE emitter = ? AND scope = ? AND published_at IS NULL').run(at, emitter, scope);
      const known = this.known.keys.get(keyId(emitter, scope));
      if (changes > 0 && known?.trigger !== undefined) known.trigger = { ...known.trigger, publishedAt: at };
    });
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
   * decides — one commit for the whole completion. A key this connection knows (see `KnownKeys`) costs
   * one read of `data_version` and the record's insert; its tally is counted here, not read back.
   */
  private completeKeyNow(snapshot: KeySnapshot, record: MemberRecord, rule: TriggerRule): CompletionResult {
    const { barrier, key } = snapshot;
    let known = this.knownKey(barrier, key);
    if (known === undefined) {
      const text = JSON.stringify(snapshot);
      this.sql('INSERT INTO barrier_keys (barrier, key, snapshot) VALUES (?, ?, ?)').run(barrier, key, text);
      known = this.remember(barrier, key, this.newKnownKey(barrier, key, text, this.known.version ?? 0));
    }
    const recorded = this.insertMemberNow(barrier, key, record, known);
    if (known.trigger !== undefined) return { recorded, decision: { trigger: known.trigger, created: false } };
    if (!rule.fires(tallyOfKnown(known))) return { recorded, decision: { trigger: undefined, created: false } };
    const decision = this.draftOnce(barrier, key, rule);
    known.trigger = decision.trigger;
    return { recorded, decision };
  }

  /**
   * Inside the write transaction: inserts the record; if it is new and its member counts for the first
   * time, the known key counts it. False for a record already there (a redelivery).
   */
  private insertMemberNow(barrier: string, key: string, record: MemberRecord, known: KnownKey): boolean {
    const inserted = this.sql('INSERT OR IGNORE INTO barrier_members (barrier, key, member, execution_id, record) VALUES (?, ?, ?, ?, ?)').run(
      barrier,
      key,
      record.member,
      record.executionId,
      JSON.stringify(record),
    );
    if (inserted.changes === 0) return false;
    countInto(known, record);
    return true;
  }

  /**
   * The key as this connection knows it, read from its rows when it does not, or brought up to date when
   * another connection has committed since; undefined before its first completion.
   */
  private knownKey(barrier: string, key: string): KnownKey | undefined {
    const version = (this.sql('PRAGMA data_version').get() as { data_version: number }).data_version;
    this.known.version = version;
    const id = keyId(barrier, key);
    const known = this.known.keys.get(id);
    if (known !== undefined && known.version === version) {
      // Least recently used goes first: re-inserting moves the key to the end.
      this.known.keys.delete(id);
      this.known.keys.set(id, known);
      return known;
    }
    // Unknown, or another connection has committed since: read the key, or bring it up to date.
    const loaded = this.loadKey(barrier, key, known, version);
    if (loaded === undefined) this.known.keys.delete(id);
    return loaded && this.remember(barrier, key, loaded);
  }

  /**
   * In one read transaction: the key's snapshot and trigger, and its members counted from its records —
   * from every record for a key not known yet (or swept and opened again since), else from the records
   * made since it was last read (counting a member is idempotent, so a record read twice counts once).
   */
  private loadKeyNow(barrier: string, key: string, known: KnownKey | undefined, version: number): KnownKey | undefined {
    const row = this.sql(
      `SELECT k.snapshot, t.emitter, t.scope, t.topic, t.message, t.reason, t.decided_at, t.published_at
       FROM barrier_keys k LEFT JOIN triggers t ON t.emitter = k.barrier AND t.scope = k.key WHERE k.barrier = ? AND k.key = ?`,
    ).get(barrier, key) as (KeyRow & Partial<Omit<TriggerRow, 'published_at'>> & { published_at: number | null }) | undefined;
    if (row === undefined) return undefined;
    const trigger = row.emitter === undefined || row.emitter === null ? undefined : toTrigger(row as TriggerRow);
    const current = known !== undefined && known.text === row.snapshot ? known : this.newKnownKey(barrier, key, row.snapshot, version);
    current.trigger = trigger;
    current.version = version;
    const records = this.sql('SELECT rowid, record FROM barrier_members WHERE barrier = ? AND key = ? AND rowid > ? ORDER BY rowid').all(
      barrier,
      key,
      current.memberRowid,
    ) as { rowid: number; record: string }[];
    for (const { rowid, record } of records) {
      countInto(current, JSON.parse(record) as MemberRecord);
      current.memberRowid = rowid;
    }
    return current;
  }

  /** A key known from its snapshot's text alone: nothing counted yet, no trigger, no record read. */
  private newKnownKey(barrier: string, key: string, text: string, version: number): KnownKey {
    return { snapshot: this.parsedSnapshot(barrier, key, text), text, counted: new Set(), requiredCounted: 0, trigger: undefined, memberRowid: 0, version };
  }

  private remember(barrier: string, key: string, known: KnownKey): KnownKey {
    if (this.known.keys.size >= KNOWN_KEYS_LIMIT) this.known.keys.delete(this.known.keys.keys().next().value as string);
    this.known.keys.set(keyId(barrier, key), known);
    return known;
  }

  /**
   * Runs a write on a key; if it throws (its transaction rolled back, or its commit failed), the key is
   * forgotten: what this connection knew of it may include the write that did not happen.
   */
  private forgettingOnFailure<T>(barrier: string, key: string, write: () => T): T {
    // Inside a caller's own transaction the write commits (or not) with it, later: nothing known of it is kept.
    const nested = this.db.inTransaction;
    try {
      const result = write();
      if (nested) this.known.keys.delete(keyId(barrier, key));
      return result;
    } catch (error) {
      this.known.keys.delete(keyId(barrier, key));
      throw error;
    }
  }

  /** Inside the write transaction, once the tally fires: reads the members and inserts the drafted trigger unless one exists. */
  private draftOnce(barrier: string, key: string, rule: TriggerRule): TriggerDecision {
    const state = this.keyState(barrier, key);
    if (state === undefined) return { trigger: undefined, created: false };
    const decision = this.insertOnce(barrier, key, state.trigger, () => rule.draft(state));
    const known = this.known.keys.get(keyId(barrier, key));
    if (known !== undefined) known.trigger = decision.trigger;
    return decision;
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
    const id = keyId(barrier, key);
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

function keyId(barrier: string, key: string): string {
  return `${barrier}\u0000${key}`;
}

/** Counts a record into a known key: its member, once, if expected and in a counting status. */
function countInto(known: KnownKey, record: Pick<MemberRecord, 'member' | 'status'>): void {
  const weight = tallyWeight(known.snapshot, record);
  if (weight === 'none' || known.counted.has(record.member)) return;
  known.counted.add(record.member);
  if (weight === 'required') known.requiredCounted++;
}

function tallyOfKnown(known: KnownKey): KeyTally {
  return { snapshot: known.snapshot, counted: known.counted.size, requiredCounted: known.requiredCounted };
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
