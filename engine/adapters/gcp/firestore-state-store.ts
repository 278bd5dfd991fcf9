// Data flow: completion → barrier → FirestoreStateStore: keys/ (create) · members/ (create per member) · triggers/ (create = fire-once).
import type { DocumentReference, DocumentSnapshot, Firestore, QueryDocumentSnapshot } from '@google-cloud/firestore';
import {
  isNewerBatch,
  type BatchItem,
  type BatchRecord,
  type BatchState,
  type CompletionResult,
  recordCompletionInSteps,
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
} from '../../ports/state-store.ts';
import type { Clock } from '../../ports/clock.ts';
import { TransientError } from '../../runtime/errors.ts';
import { SystemClock } from '../../runtime/system-clock.ts';
import { DecisionRounds } from './decision-rounds.ts';
import { FIRESTORE_SUBCOLLECTIONS, TTL_FIELD } from '../../config/conventions.ts';
import { collections, createOnce, docId, expiryFrom, NOT_FOUND, recordOf, statusOf, type Collections } from './firestore-docs.ts';

/** Options of the Firestore store. */
export interface FirestoreStateStoreOptions {
  /** Collection name prefix (default `baton_`). */
  readonly prefix?: string;
  /** Measures time elapsed since the store read the server's time (default: the system clock). */
  readonly clock?: Clock;
}

/** What a trigger document holds besides its record: the slot may also be a supersede marker. */
interface TriggerDoc {
  readonly kind: 'trigger' | 'superseded';
  readonly emitter: string;
  readonly scope: string;
  readonly published: boolean;
  readonly publishedAt?: number;
  readonly json: string;
}

/**
 * StateStore on Firestore with **no hot document** (DESIGN.md): nothing shared by all completions of a
 * key is ever read-modify-written. Layout, one document per fact:
 *
 * - `keys/{barrier~key}` — the snapshot, `create()`d: the first opener wins, later ones read it.
 * - `keys/{barrier~key}/members/{member~execution}` — one per completion, `create()`d: an existing document
 *   is a duplicate. 500 or 2,000 concurrent completions write 500 or 2,000 different documents.
 * - `triggers/{emitter~scope}` — the fire-once decision, `create()`d with the server's must-not-exist
 *   precondition: exactly one caller succeeds, whatever the concurrency, across processes.
 * - `batches/{id}`, `batches/{id}/items/{entity~execution}` (one per report, `create()`d like members) and
 *   `active_batches/{coordinator~key}` for coordinators. The last names the newest batch opened for the
 *   key (the active one, if any is); it is written only by `openBatch`, once per coordinator trigger.
 *
 * How the port's invariants hold here:
 * - `decideTrigger` reads the key (snapshot, members, trigger) and then creates the trigger document;
 *   the read and the create are not one transaction. Exactly-once still holds because only the create
 *   decides. No trigger is lost because every completion records its member *before* it decides and
 *   Firestore queries are strongly consistent, so the last completion's decision sees every member.
 *   The stored trigger is the one evaluated by the winner, on a state in which the threshold held.
 *   The trigger document is written twice in its life: created by the winner, marked published by the
 *   winner (or, if the winner died in between, by a tick's flush). A loser, or a later caller that finds
 *   the trigger decided, neither publishes nor marks it (`TriggerOutbox.deliver`), so hundreds of
 *   concurrent completions of one key never turn it into a hot document.
 * - `completeBatch` is the same create on the batch's slot in `triggers/`; superseding a batch fills
 *   that slot with a marker in the same transaction that opens the new batch, so a superseded batch
 *   can never complete. Only `openBatch` (once per coordinator trigger) uses a transaction: it reads the
 *   newest batch through `active_batches/`, so a late trigger older than it is `outdated` (#8 of issue 16).
 */
export class FirestoreStateStore implements StateStore {
  private readonly c: Collections;
  /**
   * Snapshots never change once stored, so each process creates or reads one at most once; concurrent
   * callers share the one request in flight (a burst of a key's first completions used to send one
   * `create()` each to the key's document: a hot document at the key's first moment, issue 11).
   */
  private readonly snapshots = new Map<string, Promise<KeySnapshot | undefined>>();
  private readonly rounds: DecisionRounds<RoundState, TriggerDecision>;
  private readonly clock: Clock;
  private readonly clockProbe: DocumentReference;
  /** Server time minus this process's clock, read once (see `now`). */
  private serverOffset: Promise<number> | undefined;

  constructor(
    private readonly db: Firestore,
    options: FirestoreStateStoreOptions = {},
  ) {
    this.c = collections(db, options.prefix ?? 'baton_');
    this.clock = options.clock ?? new SystemClock();
    // Only ever read, never written: a read of a missing document still carries the server's readTime.
    this.clockProbe = db.collection(`${options.prefix ?? 'baton_'}clock`).doc('probe');
    this.rounds = new DecisionRounds<RoundState, TriggerDecision>(async (scope) => {
      const [barrier = '', key = ''] = JSON.parse(scope) as string[];
      return { key: await this.readKey(barrier, key), decided: undefined };
    });
  }

  /**
   * The server's time: its `readTime` for one read, taken once per store, plus the time this process's
   * clock has counted since (from the read's midpoint). So an instance whose clock is minutes off still
   * gives the server's time, to within a round trip; what it keeps from its own clock is only the
   * length of intervals (clock drift, parts per million, is not corrected within a process's life).
   */
  async now(): Promise<number> {
    this.serverOffset ??= this.readServerOffset();
    return this.clock.now() + (await this.serverOffset);
  }

  private async readServerOffset(): Promise<number> {
    try {
      const before = this.clock.now();
      const probe = await this.clockProbe.get();
      return probe.readTime.toMillis() - (before + this.clock.now()) / 2;
    } catch (error) {
      this.serverOffset = undefined;
      throw error;
    }
  }

  async openKey(snapshot: KeySnapshot): Promise<KeySnapshot> {
    const create = async (ref: DocumentReference): Promise<KeySnapshot> =>
      (await createOnce(ref, { barrier: snapshot.barrier, key: snapshot.key, json: JSON.stringify(snapshot) }, expiryFrom(snapshot.firstCompletionAt)))
        ? snapshot
        : recordOf<KeySnapshot>((await ref.get()).data());
    // A read of the key in flight when this call joined it may find no key yet (it is then forgotten): create it then.
    const stored = (await this.snapshotOnce(snapshot.barrier, snapshot.key, create)) ?? (await this.snapshotOnce(snapshot.barrier, snapshot.key, create));
    if (stored === undefined) throw new TransientError(`key ${snapshot.barrier} × ${snapshot.key} could not be opened`);
    return stored;
  }

  async recordMember(barrier: string, key: string, record: MemberRecord): Promise<boolean> {
    const ref = this.membersOf(barrier, key).doc(docId(record.member, record.executionId));
    // A member expires with its key (the key's first completion + retention), so the key goes as a unit.
    const firstCompletionAt = (await this.snapshotOf(barrier, key))?.firstCompletionAt ?? record.recordedAt;
    return createOnce(ref, { barrier, key, recordedAt: record.recordedAt, json: JSON.stringify(record) }, expiryFrom(firstCompletionAt));
  }

  /** A key's snapshot: cached once read (it never changes), else read from its document. */
  private snapshotOf(barrier: string, key: string): Promise<KeySnapshot | undefined> {
    return this.snapshotOnce(barrier, key, async (ref) => {
      const doc = await ref.get();
      return doc.exists ? recordOf<KeySnapshot>(doc.data()) : undefined;
    });
  }

  /**
   * The key's snapshot from this process's cache, or from `load` — one `load` in flight per key, shared by
   * every caller. A failed load, or a key not stored yet, is not cached: the next caller tries again.
   */
  private snapshotOnce(barrier: string, key: string, load: (ref: DocumentReference) => Promise<KeySnapshot | undefined>): Promise<KeySnapshot | undefined> {
    const id = docId(barrier, key);
    const known = this.snapshots.get(id);
    if (known !== undefined) return known;
    const loading = load(this.c.keys.doc(id));
    this.snapshots.set(id, loading);
    const forget = () => {
      if (this.snapshots.get(id) === loading) this.snapshots.delete(id);
    };
    loading.then((stored) => stored === undefined && forget(), forget);
    return loading;
  }

  async readKey(barrier: string, key: string): Promise<KeyState | undefined> {
    // The snapshot comes from this process's cache once known: a decision round reads members and trigger only.
    const [snapshot, members, trigger] = await Promise.all([
      this.snapshotOf(barrier, key),
      this.membersOf(barrier, key).get(),
      this.c.triggers.doc(docId(barrier, key)).get(),
    ]);
    if (snapshot === undefined) return undefined;
    return {
      snapshot,
      members: inCreationOrder(members.docs).map((d) => recordOf<MemberRecord>(d.data())),
      trigger: triggerOf(trigger),
    };
  }

  async listKeys(barrier: string, openOnly: boolean): Promise<string[]> {
    const keys = (await this.c.keys.where('barrier', '==', barrier).select('key').get()).docs.map((d) => String(d.get('key')));
    if (!openOnly) return keys.sort();
    const fired = new Set((await this.c.triggers.where('emitter', '==', barrier).select('scope').get()).docs.map((d) => String(d.get('scope'))));
    return keys.filter((key) => !fired.has(key)).sort();
  }

  recordCompletion(snapshot: KeySnapshot, record: MemberRecord, rule: TriggerRule): Promise<CompletionResult> {
    return recordCompletionInSteps(this, snapshot, record, rule);
  }

  decideTrigger(barrier: string, key: string, rule: TriggerRule): Promise<TriggerDecision> {
    return this.rounds.run(JSON.stringify([barrier, key]), async (round) => {
      const state = round.key;
      if (state === undefined) return { trigger: undefined, created: false };
      const existing = round.decided ?? state.trigger;
      if (existing !== undefined) return { trigger: existing, created: false };
      // The round read every member already; the tally is counted from them, once per round.
      round.tally ??= tallyOf(state.snapshot, state.members);
      if (!rule.fires(round.tally)) return { trigger: undefined, created: false };
      const draft = rule.draft(state);
      if (draft === undefined) return { trigger: undefined, created: false };
      const decision = await this.createTrigger({ ...draft, emitter: barrier, scope: key, publishedAt: undefined }, state.snapshot.firstCompletionAt);
      round.decided = decision.trigger;
      return decision;
    });
  }

  async markPublished(emitter: string, scope: string, at: number): Promise<void> {
    try {
      // Only the one decided trigger's own document is touched, and only by whoever published it.
      await this.c.triggers.doc(docId(emitter, scope)).update({ published: true, publishedAt: at });
    } catch (error) {
      if (statusOf(error) !== NOT_FOUND) throw error;
    }
  }

  async listUnpublished(emitter?: string): Promise<TriggerRecord[]> {
    let query = this.c.triggers.where('published', '==', false);
    if (emitter !== undefined) query = query.where('emitter', '==', emitter);
    const triggers = (await query.get()).docs.map((d) => triggerOf(d)).filter((t): t is TriggerRecord => t !== undefined);
    return triggers.sort((a, b) => a.decidedAt - b.decidedAt || a.scope.localeCompare(b.scope));
  }

  async openBatch(batch: BatchRecord, onActive: 'refuse' | 'supersede'): Promise<OpenBatchResult> {
    // Rare (once per coordinator trigger) and touching only this coordinator × key: a transaction is fine here.
    return this.db.runTransaction(async (t) => {
      const batchRef = this.c.batches.doc(docId(batch.id));
      const newestRef = this.c.activeBatches.doc(docId(batch.coordinator, batch.key));
      const [stored, newestLink] = await Promise.all([t.get(batchRef), t.get(newestRef)]);
      if (stored.exists) {
        const slot = await t.get(this.slotRef(batch.coordinator, batch.id));
        return { outcome: 'existing', batch: withSlotState(batchOf(stored.data()), stored, slot), superseded: [] } satisfies OpenBatchResult;
      }
      const superseded: string[] = [];
      const newestId = newestLink.exists ? String(newestLink.get('batchId')) : undefined;
      if (newestId !== undefined) {
        const newestRefDoc = this.c.batches.doc(docId(newestId));
        const [newest, newestSlot] = await Promise.all([t.get(newestRefDoc), t.get(this.slotRef(batch.coordinator, newestId))]);
        if (newest.exists) {
          const newestRecord = withSlotState(batchOf(newest.data()), newest, newestSlot);
          if (!isNewerBatch(batch, newestRecord)) return { outcome: 'outdated', batch: newestRecord, superseded: [] } satisfies OpenBatchResult;
          if (newestRecord.state === 'active') {
            if (onActive === 'refuse') return { outcome: 'refused', batch: newestRecord, superseded: [] } satisfies OpenBatchResult;
            // The marker takes the batch's completion slot, so a late completeBatch for it can never create one.
            const marker: TriggerDoc = { kind: 'superseded', emitter: batch.coordinator, scope: newestId, published: true, json: '{}' };
            t.create(newestSlot.ref, { ...marker, [TTL_FIELD]: expiryFrom(batch.createdAt) });
            t.update(newestRefDoc, { state: 'superseded' });
            superseded.push(newestId);
          }
        }
      }
      t.set(newestRef, { batchId: batch.id, [TTL_FIELD]: expiryFrom(batch.createdAt) });
      t.create(batchRef, {
        coordinator: batch.coordinator,
        key: batch.key,
        state: 'active',
        json: JSON.stringify({ ...batch, state: 'active' }),
        [TTL_FIELD]: expiryFrom(batch.createdAt),
      });
      return { outcome: 'opened', batch: { ...batch, state: 'active' }, superseded } satisfies OpenBatchResult;
    });
  }

  recordBatchItem(batchId: string, item: BatchItem): Promise<boolean> {
    // One document per report, never a shared per-batch or per-entity document updated (no hot document).
    const ref = this.itemsOf(batchId).doc(docId(String(item.entityId), item.executionId));
    return createOnce(ref, { batchId, recordedAt: item.recordedAt, json: JSON.stringify(item) }, expiryFrom(item.recordedAt));
  }

  async readBatch(batchId: string): Promise<BatchState | undefined> {
    const batchDoc = await this.c.batches.doc(docId(batchId)).get();
    if (!batchDoc.exists) return undefined;
    const stored = batchOf(batchDoc.data());
    const [items, slot] = await Promise.all([this.itemsOf(batchId).get(), this.slotRef(stored.coordinator, batchId).get()]);
    const batch = withSlotState(stored, batchDoc, slot);
    const records = inCreationOrder(items.docs).map((d) => itemOf(d.data()));
    const lastProgressAt = records.reduce((latest, item) => Math.max(latest, item.recordedAt), batch.createdAt);
    return { batch, items: records, lastProgressAt, completion: triggerOf(slot) };
  }

  async listActiveBatches(coordinator: string): Promise<BatchRecord[]> {
    const docs = (await this.c.batches.where('coordinator', '==', coordinator).where('state', '==', 'active').get()).docs;
    if (docs.length === 0) return [];
    // A completion whose winner died before updating the batch's state still counts: the slot decides.
    const slots = await this.db.getAll(...docs.map((d) => this.slotRef(coordinator, batchOf(d.data()).id)));
    return docs.filter((_, i) => !slots[i]?.exists).map((d) => batchOf(d.data()));
  }

  async completeBatch(batchId: string, evaluate: (state: BatchState) => TriggerDraft | undefined): Promise<TriggerDecision> {
    const state = await this.readBatch(batchId);
    if (state === undefined) return { trigger: undefined, created: false };
    if (state.completion !== undefined) return { trigger: state.completion, created: false };
    if (state.batch.state !== 'active') return { trigger: undefined, created: false };
    const draft = evaluate(state);
    if (draft === undefined) return { trigger: undefined, created: false };
    const decision = await this.createTrigger({ ...draft, emitter: state.batch.coordinator, scope: batchId, publishedAt: undefined }, state.batch.createdAt);
    // Cache the outcome on the batch (queries for active batches use it); the slot stays the truth. The
    // `active_batches/` link stays: it orders the next trigger for the key against this batch.
    if (decision.created) await this.c.batches.doc(docId(batchId)).update({ state: 'completed' });
    return decision;
  }

  /** The fire-once create (expiring `retainedFrom` + retention: the key's first completion, the batch's creation); a loser reads the winner's record (a supersede marker reads as no trigger). */
  private async createTrigger(record: TriggerRecord, retainedFrom: number): Promise<TriggerDecision> {
    const ref = this.slotRef(record.emitter, record.scope);
    const doc: TriggerDoc = { kind: 'trigger', emitter: record.emitter, scope: record.scope, published: false, json: JSON.stringify(record) };
    if (await createOnce(ref, { ...doc }, expiryFrom(retainedFrom))) return { trigger: record, created: true };
    return { trigger: triggerOf(await ref.get()), created: false };
  }

  /** A key's completions live under its snapshot, so reading them never scans other keys'. */
  private membersOf(barrier: string, key: string) {
    return this.c.keys.doc(docId(barrier, key)).collection(FIRESTORE_SUBCOLLECTIONS.members);
  }

  private itemsOf(batchId: string) {
    return this.c.batches.doc(docId(batchId)).collection(FIRESTORE_SUBCOLLECTIONS.items);
  }

  private slotRef(emitter: string, scope: string) {
    return this.c.triggers.doc(docId(emitter, scope));
  }
}

/** What one decision round shares: the key as read, its tally, and a trigger decided earlier in the round. */
interface RoundState {
  readonly key: KeyState | undefined;
  tally?: KeyTally;
  decided: TriggerRecord | undefined;
}

function triggerOf(doc: DocumentSnapshot): TriggerRecord | undefined {
  const data = doc.data() as TriggerDoc | undefined;
  if (data === undefined || data.kind !== 'trigger') return undefined;
  const record = recordOf<TriggerRecord>(data);
  return { ...record, publishedAt: data.published ? data.publishedAt : undefined };
}

/** A stored batch; one written before batches were ordered by their trigger's time orders by its creation. */
function batchOf(data: { json?: unknown } | undefined): BatchRecord {
  const record = recordOf<Omit<BatchRecord, 'triggeredAt'> & { triggeredAt?: number }>(data);
  return { ...record, triggeredAt: record.triggeredAt ?? record.createdAt };
}

/** A stored report; one written when reports were keyed by entity only counts as its own execution. */
function itemOf(data: { json?: unknown } | undefined): BatchItem {
  const record = recordOf<Omit<BatchItem, 'executionId'> & { executionId?: string }>(data);
  return { ...record, executionId: record.executionId ?? record.messageId };
}

function withSlotState(batch: BatchRecord, batchDoc: DocumentSnapshot, slot: DocumentSnapshot): BatchRecord {
  const kind = slot.exists ? (slot.get('kind') as TriggerDoc['kind']) : undefined;
  const state = kind === 'trigger' ? 'completed' : kind === 'superseded' ? 'superseded' : (batchDoc.get('state') as BatchRecord['state']);
  return { ...batch, state };
}

/** Documents in the order they were created (server time), the order the other adapters return. */
function inCreationOrder(docs: readonly QueryDocumentSnapshot[]): QueryDocumentSnapshot[] {
  return [...docs].sort(
    (a, b) => a.createTime.toMillis() - b.createTime.toMillis() || a.createTime.nanoseconds - b.createTime.nanoseconds || a.id.localeCompare(b.id),
  );
}
