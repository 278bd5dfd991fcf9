import {
  isNewerBatch,
  newestBatch,
  type BatchItem,
  type BatchRecord,
  type BatchState,
  type CompletionResult,
  recordCompletionInSteps,
  type KeySnapshot,
  type KeyState,
  type MemberRecord,
  type OpenBatchResult,
  type StateStore,
  type TriggerDecision,
  type TriggerDraft,
  type TriggerRecord,
  type TriggerRule,
  tallyWeight,
} from '../../ports/state-store.ts';
import type { Clock } from '../../ports/clock.ts';
import { SystemClock } from '../../runtime/system-clock.ts';

interface KeyEntry {
  readonly snapshot: KeySnapshot;
  /** Each record by member and execution id (a redelivery is not recorded twice). */
  readonly members: Map<string, MemberRecord>;
  /** The tally, kept as records arrive: counted members, each as counted or required. */
  readonly counted: Map<string, 'counted' | 'required'>;
  requiredCounted: number;
  /** The same records in the order recorded, kept beside the map so a decision reads them without a copy. */
  readonly list: MemberRecord[];
}

interface BatchEntry {
  batch: BatchRecord;
  readonly items: Map<string, BatchItem>;
  lastProgressAt: number;
}

/**
 * In-process `StateStore` for unit tests. Every method does its work synchronously before its promise
 * resolves, so each call is atomic on the event loop, which is what a transaction gives the others.
 */
export class MemoryStateStore implements StateStore {
  private readonly keys = new Map<string, KeyEntry>();
  private readonly triggers = new Map<string, TriggerRecord>();
  private readonly batches = new Map<string, BatchEntry>();

  /** `clock` is the store's own time base (`now()`), not the caller's. */
  constructor(private readonly clock: Clock = new SystemClock()) {}

  now(): Promise<number> {
    return Promise.resolve(this.clock.now());
  }

  openKey(snapshot: KeySnapshot): Promise<KeySnapshot> {
    const id = scopeId(snapshot.barrier, snapshot.key);
    const entry = this.keys.get(id) ?? { snapshot, members: new Map<string, MemberRecord>(), counted: new Map(), requiredCounted: 0, list: [] };
    this.keys.set(id, entry);
    return Promise.resolve(entry.snapshot);
  }

  recordMember(barrier: string, key: string, record: MemberRecord): Promise<boolean> {
    const entry = this.keys.get(scopeId(barrier, key));
    if (entry === undefined) return Promise.reject(new Error(`recordMember before openKey for ${barrier} ${key}`));
    const id = JSON.stringify([record.member, record.executionId]);
    if (entry.members.has(id)) return Promise.resolve(false);
    entry.members.set(id, record);
    const weight = tallyWeight(entry.snapshot, record);
    if (weight !== 'none' && !entry.counted.has(record.member)) {
      entry.counted.set(record.member, weight);
      if (weight === 'required') entry.requiredCounted++;
    }
    entry.list.push(record);
    return Promise.resolve(true);
  }

  readKey(barrier: string, key: string): Promise<KeyState | undefined> {
    return Promise.resolve(this.keyState(barrier, key));
  }

  listKeys(barrier: string, openOnly: boolean): Promise<string[]> {
    const keys = [...this.keys.values()].map((e) => e.snapshot).filter((s) => s.barrier === barrier);
    return Promise.resolve(keys.filter((s) => !openOnly || !this.triggers.has(scopeId(barrier, s.key))).map((s) => s.key));
  }

  decideTrigger(barrier: string, key: string, rule: TriggerRule): Promise<TriggerDecision> {
    const entry = this.keys.get(scopeId(barrier, key));
    if (entry === undefined) return Promise.resolve({ trigger: undefined, created: false });
    const existing = this.triggers.get(scopeId(barrier, key));
    // As the durable stores do: the tally decides whether to look at the members at all.
    if (existing === undefined && !rule.fires({ snapshot: entry.snapshot, counted: entry.counted.size, requiredCounted: entry.requiredCounted })) {
      return Promise.resolve({ trigger: undefined, created: false });
    }
    return Promise.resolve(this.decide(barrier, key, existing, () => rule.draft({ snapshot: entry.snapshot, members: entry.list, trigger: undefined })));
  }

  recordCompletion(snapshot: KeySnapshot, record: MemberRecord, rule: TriggerRule): Promise<CompletionResult> {
    return recordCompletionInSteps(this, snapshot, record, rule);
  }

  markPublished(emitter: string, scope: string, at: number): Promise<void> {
    const trigger = this.triggers.get(scopeId(emitter, scope));
    if (trigger && trigger.publishedAt === undefined) this.triggers.set(scopeId(emitter, scope), { ...trigger, publishedAt: at });
    return Promise.resolve();
  }

  listUnpublished(emitter?: string): Promise<TriggerRecord[]> {
    return Promise.resolve([...this.triggers.values()].filter((t) => t.publishedAt === undefined && (emitter === undefined || t.emitter === emitter)));
  }

  openBatch(batch: BatchRecord, onActive: 'refuse' | 'supersede'): Promise<OpenBatchResult> {
    const existing = this.batches.get(batch.id);
    if (existing) return Promise.resolve({ outcome: 'existing', batch: existing.batch, superseded: [] });
    const ofKey = [...this.batches.values()].filter((b) => b.batch.coordinator === batch.coordinator && b.batch.key === batch.key);
    const newest = newestBatch(ofKey.map((b) => b.batch));
    if (newest && !isNewerBatch(batch, newest)) return Promise.resolve({ outcome: 'outdated', batch: newest, superseded: [] });
    const active = ofKey.filter((b) => b.batch.state === 'active');
    const first = active[0];
    if (first && onActive === 'refuse') return Promise.resolve({ outcome: 'refused', batch: first.batch, superseded: [] });
    for (const entry of active) entry.batch = { ...entry.batch, state: 'superseded' };
    const stored = { ...batch, state: 'active' as const };
    this.batches.set(batch.id, { batch: stored, items: new Map(), lastProgressAt: batch.createdAt });
    return Promise.resolve({ outcome: 'opened', batch: stored, superseded: active.map((b) => b.batch.id) });
  }

  recordBatchItem(batchId: string, item: BatchItem): Promise<boolean> {
    const entry = this.batches.get(batchId);
    if (entry === undefined) return Promise.reject(new Error(`no batch ${batchId}`));
    const id = JSON.stringify([String(item.entityId), item.executionId]);
    if (entry.items.has(id)) return Promise.resolve(false);
    entry.items.set(id, item);
    entry.lastProgressAt = Math.max(entry.lastProgressAt, item.recordedAt);
    return Promise.resolve(true);
  }

  readBatch(batchId: string): Promise<BatchState | undefined> {
    return Promise.resolve(this.batchState(batchId));
  }

  listActiveBatches(coordinator: string): Promise<BatchRecord[]> {
    return Promise.resolve([...this.batches.values()].map((b) => b.batch).filter((b) => b.coordinator === coordinator && b.state === 'active'));
  }

  completeBatch(batchId: string, evaluate: (state: BatchState) => TriggerDraft | undefined): Promise<TriggerDecision> {
    const state = this.batchState(batchId);
    const entry = this.batches.get(batchId);
    if (state === undefined || entry === undefined) return Promise.resolve({ trigger: undefined, created: false });
    const coordinator = state.batch.coordinator;
    if (state.completion === undefined && state.batch.state !== 'active') return Promise.resolve({ trigger: undefined, created: false });
    const decision = this.decide(coordinator, batchId, state.completion, () => evaluate(state));
    if (decision.created) entry.batch = { ...entry.batch, state: 'completed' };
    return Promise.resolve(decision);
  }

  private decide(emitter: string, scope: string, existing: TriggerRecord | undefined, evaluate: () => TriggerDraft | undefined): TriggerDecision {
    if (existing) return { trigger: existing, created: false };
    const draft = evaluate();
    if (draft === undefined) return { trigger: undefined, created: false };
    const trigger: TriggerRecord = { ...draft, emitter, scope, publishedAt: undefined };
    this.triggers.set(scopeId(emitter, scope), trigger);
    return { trigger, created: true };
  }

  private keyState(barrier: string, key: string): KeyState | undefined {
    const entry = this.keys.get(scopeId(barrier, key));
    if (entry === undefined) return undefined;
    return { snapshot: entry.snapshot, members: [...entry.list], trigger: this.triggers.get(scopeId(barrier, key)) };
  }

  private batchState(batchId: string): BatchState | undefined {
    const entry = this.batches.get(batchId);
    if (entry === undefined) return undefined;
    return {
      batch: entry.batch,
      items: [...entry.items.values()],
      lastProgressAt: entry.lastProgressAt,
      completion: this.triggers.get(scopeId(entry.batch.coordinator, batchId)),
    };
  }
}

function scopeId(emitter: string, scope: string): string {
  return JSON.stringify([emitter, scope]);
}
