// Data flow: completion → barrier → StateStore.recordCompletion (openKey, recordMember, decideTrigger: fire-once) → outbox → MessageBus.
import type { CompletionStatus } from '../config/pipeline-spec.ts';
import type { OutgoingMessage } from './message-bus.ts';

/** An entity id as it appears in `entities_changed`. */
export type EntityId = string | number;

/** A threshold with member names only: what a key snapshot keeps of `Threshold`. */
export interface ThresholdSnapshot {
  readonly kind: 'all' | 'count' | 'quorum' | 'required';
  readonly required: readonly string[];
  readonly count: number | undefined;
  readonly quorum: number | undefined;
}

/** One deadline tier as snapshotted. */
export interface DeadlineSnapshot {
  readonly after: string;
  readonly afterMs: number;
  readonly minMembers: number;
  /** True: the tier fires without the threshold's required members. Absent in snapshots stored before it existed: false. */
  readonly ignoreRequired?: boolean;
}

/**
 * What a barrier fixed for a key at the key's first completion. Editing pipeline.yaml afterwards
 * changes nothing for this key, so in-flight keys are never stranded or mis-fired.
 */
export interface KeySnapshot {
  /** The barrier, or for a barrier with modes its generation `<barrier>~<mode>` (one per key × mode). */
  readonly barrier: string;
  readonly key: string;
  readonly expected: readonly string[];
  /** Mode profile in force, when the barrier has modes. */
  readonly mode: string | undefined;
  readonly threshold: ThresholdSnapshot;
  readonly deadlines: readonly DeadlineSnapshot[];
  readonly countsAsComplete: readonly CompletionStatus[];
  readonly firstCompletionAt: number;
  /** Correlation id of the key's first message; every trigger for the key carries it. */
  readonly correlationId: string;
  readonly traceparent: string | undefined;
}

/** One completion a barrier recorded: one record per (member, execution id). */
export interface MemberRecord {
  readonly member: string;
  readonly executionId: string;
  readonly messageId: string;
  readonly status: CompletionStatus;
  readonly recordedAt: number;
  readonly entitiesChanged: Readonly<Record<string, readonly EntityId[]>> | undefined;
  readonly incremental: boolean | undefined;
}

/**
 * A decided outgoing message (a barrier trigger or a coordinator's phase completion). Deciding and
 * publishing are separate steps: a record with no `publishedAt` is re-published with the same id.
 */
export interface TriggerRecord {
  /** Barrier or coordinator name. */
  readonly emitter: string;
  /** The key for a barrier; the batch id for a coordinator. */
  readonly scope: string;
  readonly topic: string;
  readonly message: OutgoingMessage;
  readonly reason: string;
  readonly decidedAt: number;
  readonly publishedAt: number | undefined;
}

/**
 * What a key's threshold needs, kept by the store as completions are recorded, so that deciding a key
 * does not read every member record (issue 11): the decision's cost does not grow with the key's members.
 * Derived only from the snapshot and the records (`tallyOf`), never stored apart from them in a way a
 * crash could split (memory keeps it in the key's entry; SQLite per connection, counted from the records;
 * Firestore counts it from the members its decision round reads).
 */
export interface KeyTally {
  readonly snapshot: KeySnapshot;
  /** Expected members with at least one completion in a counting status (`countsAsComplete`). */
  readonly counted: number;
  /** Of those, the ones the snapshot's threshold requires. */
  readonly requiredCounted: number;
}

/**
 * How a barrier decides a key, in two steps: `fires` on the tally at every decision (cheap), `draft` on
 * the full state only when `fires` holds — the members' names, lineage and entity union are read once,
 * when the key fires, not on every completion.
 */
export interface TriggerRule {
  /** Whether the key fires now, judged on its tally alone. Pure and synchronous. */
  fires(tally: KeyTally): boolean;
  /** The trigger to store, from the key's full state; called only when `fires` held, inside the deciding transaction. Pure and synchronous. */
  draft(state: KeyState): TriggerDraft | undefined;
}

/**
 * What a newly recorded completion adds to its key's tally, if its member had not counted yet: nothing
 * (a status that does not count, or not an expected member), a counted member, or a counted required one.
 */
export function tallyWeight(snapshot: KeySnapshot, record: Pick<MemberRecord, 'member' | 'status'>): 'none' | 'counted' | 'required' {
  const index = snapshotIndex(snapshot);
  if (!index.countsAsComplete.has(record.status) || !index.expected.has(record.member)) return 'none';
  return index.required.has(record.member) ? 'required' : 'counted';
}

/** A snapshot's lists as sets, for lookups and distinct counts. */
export interface SnapshotIndex {
  readonly expected: ReadonlySet<string>;
  readonly required: ReadonlySet<string>;
  readonly countsAsComplete: ReadonlySet<string>;
}

const snapshotIndexes = new WeakMap<KeySnapshot, SnapshotIndex>();

/**
 * The snapshot's member lists as sets, built once per snapshot object (a snapshot never changes once
 * stored): every completion looks its member up, and a scan of thousands of expected members per
 * completion made a large barrier quadratic.
 */
export function snapshotIndex(snapshot: KeySnapshot): SnapshotIndex {
  let index = snapshotIndexes.get(snapshot);
  if (index === undefined) {
    index = { expected: new Set(snapshot.expected), required: new Set(snapshot.threshold.required), countsAsComplete: new Set(snapshot.countsAsComplete) };
    snapshotIndexes.set(snapshot, index);
  }
  return index;
}

/** A key's tally from all its records: for a store that reads them anyway, and to build tallies for keys stored before tallies existed. */
export function tallyOf(snapshot: KeySnapshot, members: readonly Pick<MemberRecord, 'member' | 'status'>[]): KeyTally {
  const counted = new Map<string, 'counted' | 'required'>();
  for (const record of members) {
    const weight = tallyWeight(snapshot, record);
    if (weight !== 'none') counted.set(record.member, weight);
  }
  const requiredCounted = [...counted.values()].filter((w) => w === 'required').length;
  return { snapshot, counted: counted.size, requiredCounted };
}

/** What an evaluation returns when it decides to fire. */
export type TriggerDraft = Omit<TriggerRecord, 'emitter' | 'scope' | 'publishedAt'>;

/** The outcome of a fire-once decision. */
export interface TriggerDecision {
  /** The trigger for this scope, whether decided now or earlier; undefined when none holds yet. */
  readonly trigger: TriggerRecord | undefined;
  /** True only for the one call that created it. */
  readonly created: boolean;
}

/** What recording one completion did. */
export interface CompletionResult {
  /** False when this (member, executionId) was already recorded: a redelivery. */
  readonly recorded: boolean;
  /** The key's fire-once decision after the record (a duplicate is decided too: its decision may be the one still pending). */
  readonly decision: TriggerDecision;
}

/** `StateStore.recordCompletion` as its three steps, for a store that has no single step for it. */
export async function recordCompletionInSteps(store: StateStore, snapshot: KeySnapshot, record: MemberRecord, rule: TriggerRule): Promise<CompletionResult> {
  const { barrier, key } = await store.openKey(snapshot);
  const recorded = await store.recordMember(barrier, key, record);
  return { recorded, decision: await store.decideTrigger(barrier, key, rule) };
}

/** Everything known about one barrier × key. */
export interface KeyState {
  readonly snapshot: KeySnapshot;
  readonly members: readonly MemberRecord[];
  readonly trigger: TriggerRecord | undefined;
}

/** One coordinator batch: the entity list is fixed when the batch opens. */
export interface BatchRecord {
  readonly id: string;
  readonly coordinator: string;
  readonly key: string;
  readonly correlationId: string;
  readonly traceparent: string | undefined;
  readonly triggerMessageId: string;
  readonly entityType: string;
  readonly entities: readonly EntityId[];
  readonly incremental: boolean;
  /**
   * Report statuses that count an entity done, fixed when the batch opens (as a key's snapshot fixes a
   * barrier's). Absent on a batch stored before it existed: the coordinator's current setting applies.
   */
  readonly countsAsComplete?: readonly CompletionStatus[];
  readonly createdAt: number;
  /**
   * The trigger's own time (its envelope `time`, epoch ms): batches of a coordinator × key are ordered
   * by it, then by `triggerMessageId`, never by arrival (see `isNewerBatch`).
   */
  readonly triggeredAt: number;
  readonly state: 'active' | 'completed' | 'superseded';
}

/**
 * Whether batch `a` comes from a newer trigger than batch `b`: later `triggeredAt`, ties broken by the
 * trigger message id so every adapter and every arrival order agree. (Adapters read a batch stored
 * before `triggeredAt` existed with its `createdAt` in its place.)
 */
export function isNewerBatch(a: BatchRecord, b: BatchRecord): boolean {
  return a.triggeredAt !== b.triggeredAt ? a.triggeredAt > b.triggeredAt : a.triggerMessageId > b.triggerMessageId;
}

/** The batch from the newest trigger (`isNewerBatch`); undefined for none. */
export function newestBatch(batches: readonly BatchRecord[]): BatchRecord | undefined {
  return batches.reduce<BatchRecord | undefined>((newest, b) => (newest === undefined || isNewerBatch(b, newest) ? b : newest), undefined);
}

/** One report a worker made for an entity: one record per (entity, execution id), as barriers keep members. */
export interface BatchItem {
  readonly entityId: EntityId;
  /** The report's `execution_id`: a redelivery repeats it; a retry of the entity is a new execution. */
  readonly executionId: string;
  readonly status: CompletionStatus;
  readonly messageId: string;
  readonly recordedAt: number;
}

/** A batch with its progress. */
export interface BatchState {
  readonly batch: BatchRecord;
  /** Every recorded report, in recording order; an entity may have several (one per execution). */
  readonly items: readonly BatchItem[];
  /** Time of the last newly recorded item, or the batch's creation. */
  readonly lastProgressAt: number;
  readonly completion: TriggerRecord | undefined;
}

/** The outcome of opening a batch. */
export interface OpenBatchResult {
  /**
   * `existing`: this batch id was opened before (a redelivered trigger); `refused`: another batch is
   * active; `outdated`: a batch from a newer trigger was already opened for the key, so this one is not.
   */
  readonly outcome: 'opened' | 'existing' | 'refused' | 'outdated';
  /** The stored batch with this id, for `refused` the active one, for `outdated` the newest one. */
  readonly batch: BatchRecord;
  /** Ids of batches this one superseded. */
  readonly superseded: readonly string[];
}

/**
 * Durable orchestration state. One component owns this layout (#11); no shared document is ever
 * read-modified-written (#12).
 *
 * Invariants every adapter keeps (checked by `test/contract/state-store.contract.ts`):
 * - `openKey` is create-if-absent: the first snapshot for a barrier × key wins and is returned to all.
 * - `recordMember` is idempotent per (barrier, key, member, executionId); it returns whether it was new.
 * - `recordMember` keeps the key's `KeyTally` in step with its records (atomically with the insert).
 * - `decideTrigger` returns an existing trigger as is; otherwise asks `rule.fires` on the key's current
 *   tally and, only if it holds, runs `rule.draft` on the key's full state and stores the draft — only
 *   if no trigger exists for the barrier × key, atomically with reading that state (a unique insert in
 *   the same transaction). Under any concurrency exactly one call sees `created: true`, and only that
 *   caller publishes it (`TriggerOutbox.deliver`); the others leave it to the tick's `flush`.
 * - `recordCompletion` has the outcome of `openKey`, `recordMember` and `decideTrigger` called in that order.
 * - A decided trigger stays until `markPublished`; `listUnpublished` returns it so it is re-published.
 * - At most one batch per coordinator × key is active, and it is the newest opened (`isNewerBatch`).
 *   `openBatch` is create-if-absent on the batch id; a batch no newer than the newest one already
 *   opened for the key (in any state) is `outdated` and not stored; otherwise, with an active batch,
 *   it is refused or supersedes the active one — each atomically.
 * - `recordBatchItem` is idempotent per (batch, entity, executionId): a redelivery is absorbed, a new
 *   execution of an entity is a new record. `completeBatch` is fire-once like `decideTrigger` and only
 *   for an active batch, which it marks completed in the same transaction.
 * - `evaluate` callbacks and `TriggerRule` methods are synchronous and pure; adapters may call them inside a transaction.
 * - `now()` is the store's time, the one time base of every time a deadline or stall is measured from
 *   (`firstCompletionAt`, `recordedAt`, `createdAt`, `lastProgressAt`) and of the `now` they are
 *   evaluated at (#16.6): an instance whose own clock is off neither records nor evaluates with it.
 */
export interface StateStore {
  /**
   * The store's current time in epoch ms. Firestore: the server's time (a read's `readTime`); memory and
   * SQLite: the clock the store was constructed with (one process, so that clock is the store's clock).
   */
  now(): Promise<number>;
  /** Stores the key's snapshot if it has none; returns the stored one. */
  openKey(snapshot: KeySnapshot): Promise<KeySnapshot>;
  /** Records a completion; false when this (member, executionId) was already recorded. */
  recordMember(barrier: string, key: string, record: MemberRecord): Promise<boolean>;
  /** The key's snapshot, members and trigger; undefined before its first completion. */
  readKey(barrier: string, key: string): Promise<KeyState | undefined>;
  /** Keys of a barrier; with `openOnly`, those that have not fired. */
  listKeys(barrier: string, openOnly: boolean): Promise<string[]>;
  /** Fire-once decision for a barrier × key (see the interface invariants). */
  decideTrigger(barrier: string, key: string, rule: TriggerRule): Promise<TriggerDecision>;
  /**
   * One completion from start to decision: `openKey(snapshot)`, `recordMember` into that key, then
   * `decideTrigger` with `rule` — the same outcome as those three calls in order, which is how the
   * memory and Firestore stores do it (`recordCompletionInSteps`). SQLite does all three in one write
   * transaction: a completion is one commit, not three round trips (issue 11).
   */
  recordCompletion(snapshot: KeySnapshot, record: MemberRecord, rule: TriggerRule): Promise<CompletionResult>;
  /** Records that a decided trigger reached the bus. Idempotent. */
  markPublished(emitter: string, scope: string, at: number): Promise<void>;
  /** Decided triggers not yet marked published, optionally for one emitter. */
  listUnpublished(emitter?: string): Promise<TriggerRecord[]>;

  /** Opens a batch (see the interface invariants). */
  openBatch(batch: BatchRecord, onActive: 'refuse' | 'supersede'): Promise<OpenBatchResult>;
  /** Records a worker's report for an entity; false when this (entity, executionId) was already recorded. */
  recordBatchItem(batchId: string, item: BatchItem): Promise<boolean>;
  /** A batch with its items; undefined if unknown. */
  readBatch(batchId: string): Promise<BatchState | undefined>;
  /** Active batches of a coordinator (for the stall tick). */
  listActiveBatches(coordinator: string): Promise<BatchRecord[]>;
  /** Fire-once completion of an active batch. */
  completeBatch(batchId: string, evaluate: (state: BatchState) => TriggerDraft | undefined): Promise<TriggerDecision>;
}
