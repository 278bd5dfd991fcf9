import type { CompletionStatus } from '../config/pipeline-spec.ts';
import type { ResolvedCoordinator, ResolvedPipeline } from '../config/resolved-pipeline.ts';
import type { Clock } from '../ports/clock.ts';
import type { MessageBus, OutgoingMessage } from '../ports/message-bus.ts';
import type { BatchRecord, BatchState, EntityId, StateStore, TriggerDraft, TriggerRecord } from '../ports/state-store.ts';
import { checkKey } from './check-key.ts';
import {
  buildEnvelope,
  ENVELOPE_TYPES,
  envelopeProblems,
  expectType,
  parseMessage,
  toMessage,
  type EnvelopeInput,
  type TriggerData,
  type TriggerReason,
} from './envelope.ts';
import { BatchRefusedError, InvalidEntityListError, InvalidEnvelopeError, TransientError, UnknownBatchError } from './errors.ts';
import { emptyTickReport, mergeTickReport, tickFailure, type TickReport } from './tick-report.ts';
import { TriggerOutbox } from './trigger-outbox.ts';

/** Every entity id of the coordinator's type for a key (a full, non-incremental run). */
export type EntityListProvider = (key: string) => Promise<readonly EntityId[]>;

/** What a coordinator needs; the CLI wires one per `ResolvedCoordinator`. */
export interface CoordinatorOptions {
  readonly coordinator: ResolvedCoordinator;
  readonly pipeline: Pick<ResolvedPipeline, 'name' | 'key'>;
  readonly pipelineHash?: string;
  /** Used when a trigger is not incremental; production fetches `fullListUrl`, tests pass a list. */
  readonly fullList: EntityListProvider;
  readonly store: StateStore;
  readonly bus: MessageBus;
  readonly clock: Clock;
}

/** What handling a trigger did. */
export interface TriggerOutcome {
  /**
   * `opened` a new batch; `existing`: a redelivered trigger of a batch already opened; `outdated`: a
   * batch from a newer trigger was already opened for the key, so this (older, late) one is ignored.
   */
  readonly outcome: 'opened' | 'existing' | 'outdated';
  /** The batch opened or found; for `outdated`, the newer batch that wins. */
  readonly batch: BatchRecord;
  /** Why nothing was opened, for `outdated` (logged by the caller). */
  readonly reason?: string;
  readonly superseded: readonly string[];
  /** Work messages put on the bus by this call (re-publishes after a crash included; the bus dedupes them). */
  readonly published: number;
}

/** What handling a ready report did. */
export interface ReadyOutcome {
  /** `stale`: a report for a superseded batch, acked and ignored. */
  readonly outcome: 'recorded' | 'duplicate' | 'stale';
  readonly fired: TriggerRecord | undefined;
}

/** A batch as `baton status` shows it. */
export interface BatchProgress extends BatchTally {
  readonly state: BatchState;
}

/**
 * Where a batch stands, entity by entity, by the coordinator's `countsAsComplete` (as a barrier counts
 * members): `counted` entities have a report with a counting status; `failed` ones reported only other
 * statuses (a later counting report of a retry replaces a failure, issue 16 #5); `unreported` ones have
 * no report yet. Each list is in the batch's entity order; together they are the batch.
 */
export interface BatchTally {
  readonly counted: readonly EntityId[];
  readonly failed: readonly EntityId[];
  readonly unreported: readonly EntityId[];
  readonly total: number;
}

/**
 * The one generic fan-out/fan-in: on a trigger it opens a batch with a fixed entity list, publishes
 * one work message per entity (deterministic ids), records each worker's report idempotently and
 * publishes the phase completion exactly once: when every entity reported (`all_complete`, or
 * `all_reported` with the failed ones named) or when the stall policy holds (#16).
 */
export class Coordinator {
  readonly name: string;
  private readonly outbox: TriggerOutbox;
  private readonly source: string;

  constructor(private readonly options: CoordinatorOptions) {
    this.name = options.coordinator.name;
    this.outbox = new TriggerOutbox(options.store, options.bus, options.clock);
    this.source = `//baton/${options.pipeline.name}/coordinators/${this.name}`;
  }

  /** Batch id for a trigger message: deterministic, so a redelivered trigger finds its batch. */
  batchId(triggerMessageId: string): string {
    return `batch:${this.name}:${triggerMessageId}`;
  }

  /** Starts (or, for a redelivered trigger, resumes publishing) the batch for a trigger message. */
  async handleTrigger(message: OutgoingMessage): Promise<TriggerOutcome> {
    const envelope = expectType(parseMessage(message), ENVELOPE_TYPES.trigger);
    const data = envelope.data;
    checkKey(this.options.pipeline.key, data.key);
    const { store, coordinator } = this.options;
    const id = this.batchId(envelope.id);
    // A batch opened before keeps its entity list: the full list is not fetched again.
    const existing = await store.readBatch(id);
    const changed = data.entities_changed?.[coordinator.entityType];
    const incremental = data.is_incremental === true && changed !== undefined;
    const entities = existing?.batch.entities ?? dedupeIds(incremental ? changed.ids : await this.fetchFullList(data.key));
    const candidate: BatchRecord = {
      id,
      coordinator: this.name,
      key: data.key,
      correlationId: envelope.correlationid,
      traceparent: envelope.traceparent,
      triggerMessageId: envelope.id,
      entityType: coordinator.entityType,
      entities,
      incremental,
      countsAsComplete: coordinator.countsAsComplete,
      // The store's time: the stall policy measures from it (#16.6).
      createdAt: await store.now(),
      triggeredAt: Date.parse(envelope.time),
      state: 'active',
    };
    // Every id must make a valid work message before the batch exists: a bad one found after
    // `openBatch` would leave the batch active with no work out, and refuse the key's next trigger.
    if (existing === undefined) this.checkEntities(candidate);
    const opened = await store.openBatch(candidate, coordinator.onActiveBatch);
    if (opened.outcome === 'refused') {
      throw new BatchRefusedError(`coordinator ${this.name}: batch ${opened.batch.id} is still active for ${data.key}; on_active_batch is refuse`);
    }
    if (opened.outcome === 'outdated') {
      const reason =
        `coordinator ${this.name}: trigger ${envelope.id} (${envelope.time}) is older than trigger ${opened.batch.triggerMessageId} ` +
        `(${new Date(opened.batch.triggeredAt).toISOString()}) of batch ${opened.batch.id} for ${data.key}; ignored`;
      return { outcome: 'outdated', batch: opened.batch, reason, superseded: [], published: 0 };
    }
    const batch = opened.batch;
    let published = 0;
    if (batch.state === 'active') {
      const done = new Set((existing?.items ?? []).map((item) => idKey(item.entityId)));
      for (const entityId of batch.entities) {
        if (done.has(idKey(entityId))) continue;
        await this.options.bus.publish(coordinator.workTopic.name, this.workMessage(batch, entityId));
        published++;
      }
      // An empty batch is complete at 0/0 at once.
      if (batch.entities.length === 0) await this.complete(batch.id, await store.now());
    }
    return { outcome: opened.outcome, batch, superseded: opened.superseded, published };
  }

  /** Records one worker's report; completes the batch once every entity reported. */
  async handleReady(message: OutgoingMessage): Promise<ReadyOutcome> {
    const envelope = expectType(parseMessage(message), ENVELOPE_TYPES.completion);
    const data = envelope.data;
    if (data.batch_id === undefined || data.entity_id === undefined) {
      throw new InvalidEnvelopeError(`message ${envelope.id}: a ready report needs batch_id and entity_id`);
    }
    const { store } = this.options;
    const state = await store.readBatch(data.batch_id);
    if (state === undefined || state.batch.coordinator !== this.name) throw new UnknownBatchError(`coordinator ${this.name}: unknown batch ${data.batch_id}`);
    if (state.batch.state === 'superseded') return { outcome: 'stale', fired: undefined };
    const entityId = data.entity_id;
    if (!state.batch.entities.some((e) => idKey(e) === idKey(entityId))) {
      throw new UnknownBatchError(`coordinator ${this.name}: entity ${String(entityId)} is not in batch ${data.batch_id}`);
    }
    const now = await store.now();
    const recorded = await store.recordBatchItem(data.batch_id, {
      entityId,
      executionId: data.execution_id,
      status: data.status,
      messageId: envelope.id,
      recordedAt: now,
    });
    const fired = await this.complete(data.batch_id, now);
    return { outcome: recorded ? 'recorded' : 'duplicate', fired };
  }

  /**
   * Applies the stall policy to every active batch and re-publishes undelivered completions. Each batch
   * on its own (#16.4): one that fails is listed in `failures`, the others are still checked.
   */
  async tick(): Promise<TickReport> {
    const now = await this.options.store.now();
    const report = emptyTickReport();
    for (const batch of await this.options.store.listActiveBatches(this.name)) await this.tickInto(report, batch.id, now);
    mergeTickReport(report, await this.outbox.flush(this.name));
    return report;
  }

  /**
   * Applies the stall policy to one batch, as `tick` does to each active one (a run loop that knows a
   * batch's stall window is due ticks just that batch). A failure is listed in the report, never thrown.
   */
  async tickBatch(batchId: string): Promise<TickReport> {
    const report = emptyTickReport();
    await this.tickInto(report, batchId, await this.options.store.now());
    return report;
  }

  private async tickInto(report: TickReport, batchId: string, now: number): Promise<void> {
    try {
      const trigger = await this.complete(batchId, now);
      if (trigger) report.fired.push(trigger);
    } catch (error) {
      report.failures.push(tickFailure(this.name, batchId, error));
    }
  }

  /** A batch's progress; undefined if unknown. */
  async inspect(batchId: string): Promise<BatchProgress | undefined> {
    const state = await this.options.store.readBatch(batchId);
    return state && { state, ...tallyBatch(state, this.countsAsComplete(state)) };
  }

  /** What counts for a batch: as fixed when it opened; the current setting for a batch stored before that. */
  private countsAsComplete(state: BatchState): readonly CompletionStatus[] {
    return state.batch.countsAsComplete ?? this.options.coordinator.countsAsComplete;
  }

  private async complete(batchId: string, now: number): Promise<TriggerRecord | undefined> {
    const decision = await this.options.store.completeBatch(batchId, (state) => this.draft(state, now));
    await this.outbox.deliver(decision, now);
    return decision.created ? decision.trigger : undefined;
  }

  private draft(state: BatchState, now: number): TriggerDraft | undefined {
    const { coordinator, pipelineHash } = this.options;
    const { batch } = state;
    const tally = tallyBatch(state, this.countsAsComplete(state));
    const reason = completionReason(tally, coordinator.stall, now - state.lastProgressAt);
    if (reason === undefined) return undefined;
    const ok = [...tally.counted];
    const counted = new Set(ok.map(idKey));
    const data: TriggerData = {
      key: batch.key,
      correlation_id: batch.correlationId,
      emitter: this.name,
      reason,
      members_completed: ok.map(String),
      // As a barrier's: every entity not counted, the failed ones included; members_failed names those.
      members_missing: batch.entities.filter((e) => !counted.has(idKey(e))).map(String),
      members_failed: tally.failed.map(String),
      entities_changed: { [batch.entityType]: { ids: ok, count: ok.length } },
      is_incremental: batch.incremental,
      lineage: [...new Set(state.items.map((i) => i.messageId))],
      ...(pipelineHash === undefined ? {} : { pipeline_hash: pipelineHash }),
    };
    const envelope = buildEnvelope({
      id: `done:${batch.id}`,
      source: this.source,
      type: ENVELOPE_TYPES.trigger,
      time: now,
      subject: batch.key,
      correlationId: batch.correlationId,
      parentTraceparent: batch.traceparent,
      data,
    });
    // Without a `publishes` topic the completion is still decided and recorded, just not sent.
    return { topic: coordinator.publishes?.name ?? '', message: toMessage(envelope), reason, decidedAt: now };
  }

  private workMessage(batch: BatchRecord, entityId: EntityId): OutgoingMessage {
    return toMessage(buildEnvelope(this.workInput(batch, entityId)));
  }

  private workInput(batch: BatchRecord, entityId: EntityId): EnvelopeInput<typeof ENVELOPE_TYPES.work> {
    return {
      id: `work:${batch.id}:${String(entityId)}`,
      source: this.source,
      type: ENVELOPE_TYPES.work,
      time: this.options.clock.now(),
      subject: batch.key,
      correlationId: batch.correlationId,
      parentTraceparent: batch.traceparent,
      data: {
        key: batch.key,
        correlation_id: batch.correlationId,
        coordinator: this.name,
        batch_id: batch.id,
        entity_type: batch.entityType,
        entity_id: entityId,
      },
    };
  }

  /** Throws a permanent `InvalidEntityListError` naming (up to five of) the ids whose work message would be refused, and why. */
  private checkEntities(batch: BatchRecord): void {
    const bad = batch.entities.flatMap((entityId) => {
      const problems = envelopeProblems(this.workInput(batch, entityId));
      return problems.length === 0 ? [] : [`${describeId(entityId)} (${problems.join('; ')})`];
    });
    if (bad.length === 0) return;
    const shown = bad.slice(0, 5).join(', ') + (bad.length > 5 ? `, and ${bad.length - 5} more` : '');
    throw new InvalidEntityListError(
      `coordinator ${this.name}: ${bad.length} of ${batch.entities.length} ${batch.entityType} ids for ${batch.key} cannot be sent as work, ` +
        `so no batch was opened: ${shown}`,
    );
  }

  private async fetchFullList(key: string): Promise<readonly EntityId[]> {
    try {
      return await this.options.fullList(key);
    } catch (error) {
      throw new TransientError(`coordinator ${this.name}: full entity list for ${key} failed: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
}

/** An id as a reason shows it: JSON, so 7 and "7" differ; a long one cut, with its length. */
function describeId(id: EntityId): string {
  const text = JSON.stringify(id) ?? String(id);
  return text.length <= 60 ? text : `${text.slice(0, 40)}… (${String(id).length} characters)`;
}

// Workers may echo an id as "7" for 7; ids compare by their text.
function idKey(id: EntityId): string {
  return String(id);
}

function dedupeIds(ids: readonly EntityId[]): EntityId[] {
  const seen = new Map<string, EntityId>();
  for (const id of ids) if (!seen.has(idKey(id))) seen.set(idKey(id), id);
  return [...seen.values()];
}

/** Counts a batch's entities by their reports' statuses (see `BatchTally`). */
export function tallyBatch(state: BatchState, countsAsComplete: readonly CompletionStatus[]): BatchTally {
  const counts = new Set(countsAsComplete);
  const reported = new Set(state.items.map((i) => idKey(i.entityId)));
  const counting = new Set(state.items.filter((i) => counts.has(i.status)).map((i) => idKey(i.entityId)));
  const { entities } = state.batch;
  return {
    counted: entities.filter((e) => counting.has(idKey(e))),
    failed: entities.filter((e) => reported.has(idKey(e)) && !counting.has(idKey(e))),
    unreported: entities.filter((e) => !reported.has(idKey(e))),
    total: entities.length,
  };
}

/**
 * Whether a batch completes, and why: `all_complete` when every entity counted; `all_reported` when
 * every entity reported but some failed — nothing more will come, so the batch cannot wait, and the
 * completion names the failed ones; `stalled` when the counted fraction (failed entities do not count)
 * reaches the stall policy's minimum and no report arrived for its time.
 */
export function completionReason(
  tally: BatchTally,
  stall: ResolvedCoordinator['stall'],
  quietForMs: number,
): Extract<TriggerReason, 'all_complete' | 'all_reported' | 'stalled'> | undefined {
  if (tally.unreported.length === 0) return tally.failed.length === 0 ? 'all_complete' : 'all_reported';
  if (stall && tally.counted.length / tally.total >= stall.minFraction && quietForMs >= stall.noProgressForMs) return 'stalled';
  return undefined;
}
