import { MAX_TRIGGER_ENTITIES_BYTES } from '../config/conventions.ts';
import type { ModeProfile, ResolvedBarrier, ResolvedPipeline, Threshold } from '../config/resolved-pipeline.ts';
import type { Clock } from '../ports/clock.ts';
import type { MessageBus, OutgoingMessage } from '../ports/message-bus.ts';
import type {
  EntityId,
  KeySnapshot,
  KeyState,
  MemberRecord,
  StateStore,
  ThresholdSnapshot,
  TriggerDecision,
  TriggerDraft,
  TriggerRecord,
  TriggerRule,
} from '../ports/state-store.ts';
import { checkKey } from './check-key.ts';
import { buildEnvelope, ENVELOPE_TYPES, expectType, parseMessage, TARGET_ATTRIBUTE, toMessage, type Envelope, type TriggerData } from './envelope.ts';
import { UnknownMemberError } from './errors.ts';
import { evaluateThreshold, firingOf, nextDeadline, summarizeMembers, type MemberSummary } from './evaluate-threshold.ts';
import { selectProfile } from './select-profile.ts';
import { emptyTickReport, mergeTickReport, tickFailure, type TickReport, type TriggerPublication } from './tick-report.ts';
import { TriggerOutbox } from './trigger-outbox.ts';

/** What a barrier needs; the CLI wires one per `ResolvedBarrier`. */
export interface CompletionBarrierOptions {
  readonly barrier: ResolvedBarrier;
  /** The pipeline's name, key rule and processors (to tell a non-member publisher from an unknown one). */
  readonly pipeline: Pick<ResolvedPipeline, 'name' | 'key' | 'processors'>;
  /** Stamped on every trigger (#23). */
  readonly pipelineHash?: string;
  readonly store: StateStore;
  readonly bus: MessageBus;
  readonly clock: Clock;
}

/** What handling one completion did. */
export interface BarrierOutcome {
  /** `recorded` a new completion; `duplicate` of one already recorded; `ignored`: a publisher on the topic that is not a member. */
  readonly outcome: 'recorded' | 'duplicate' | 'ignored';
  /** The trigger, when this call decided it. */
  readonly fired: TriggerRecord | undefined;
  /** The trigger this call put on the bus (#16.10): only the call that decided it publishes it. */
  readonly published: TriggerPublication | undefined;
}

/** A key as `baton status` shows it: one generation of it (one mode, for a barrier with modes). */
export interface BarrierKeyStatus extends MemberSummary {
  /** `snapshot.mode` names the generation; `snapshot.barrier` is its store name (`generationName`). */
  readonly snapshot: KeySnapshot;
  readonly trigger: TriggerRecord | undefined;
  /** Epoch ms of the next deadline tier, if the key is open and one is left. */
  readonly nextDeadlineAt: number | undefined;
}

/**
 * The one generic fan-in gate: every phase hand-off and every same-phase dependency runs this class,
 * configured only by its `ResolvedBarrier`. Per key it snapshots expectations at the first completion,
 * records each completion idempotently, and fires exactly one trigger when the threshold (or a
 * deadline tier) holds. See engine/runtime/ARCHITECTURE.md for the invariants and their enforcement.
 */
export class CompletionBarrier {
  readonly name: string;
  private readonly members: ReadonlySet<string>;
  private readonly publishers: ReadonlySet<string>;
  private readonly outbox: TriggerOutbox;
  private readonly source: string;
  /** What a key's snapshot fixes from the config, per mode profile (or none), built once: every completion carries it. */
  private readonly expectations = new Map<ModeProfile | undefined, Pick<KeySnapshot, 'expected' | 'threshold' | 'deadlines'>>();

  constructor(private readonly options: CompletionBarrierOptions) {
    const { barrier, pipeline } = options;
    this.name = barrier.name;
    this.members = new Set(barrier.members.map((m) => m.name));
    this.publishers = new Set(pipeline.processors.filter((p) => p.publishes.name === barrier.listens.name).map((p) => p.name));
    this.outbox = new TriggerOutbox(options.store, options.bus, options.clock);
    this.source = `//baton/${pipeline.name}/barriers/${barrier.name}`;
  }

  /**
   * Message id of the barrier's trigger for a key's generation; deterministic so every re-publish
   * dedupes. A barrier without modes has one generation per key and keeps `trigger:<barrier>:<key>`;
   * with modes each mode is its own generation, so its trigger id ends in `~<mode>`.
   */
  triggerId(key: string, mode?: string): string {
    return mode === undefined ? `trigger:${this.name}:${key}` : `trigger:${this.name}:${key}~${mode}`;
  }

  /**
   * The name a generation is stored under (the `barrier` of every `StateStore` call, and the emitter of
   * its trigger record): the barrier's name without modes; `<barrier>~<mode>` with modes, so each mode
   * of a key has its own snapshot, members and fire-once trigger (issue 16 #1).
   */
  generationName(mode: string | undefined): string {
    return mode === undefined ? this.name : `${this.name}~${mode}`;
  }

  /** Every generation name of this barrier: one per mode profile, or just its name. */
  generationNames(): string[] {
    const modes = this.options.barrier.modes;
    return modes === undefined ? [this.name] : modes.profiles.map((p) => this.generationName(p.name));
  }

  /** Keys seen by any generation (`openOnly`: keys with a generation that has not fired), in first-seen order. */
  async listKeys(openOnly: boolean): Promise<string[]> {
    const keys = new Set<string>();
    for (const generation of this.generationNames()) for (const key of await this.options.store.listKeys(generation, openOnly)) keys.add(key);
    return [...keys];
  }

  /**
   * Handles one completion message. Throws a permanent error for an invalid envelope, an unknown
   * publisher, a bad key or a key no mode matches; store and bus failures propagate as transient.
   */
  async handle(message: OutgoingMessage): Promise<BarrierOutcome> {
    const envelope = expectType(parseMessage(message), ENVELOPE_TYPES.completion);
    const data = envelope.data;
    const member = data.processor_name;
    if (!this.members.has(member) && !this.publishers.has(member)) {
      throw new UnknownMemberError(`barrier ${this.name}: "${member}" is not a member and does not publish to ${this.options.barrier.listens.name}`);
    }
    checkKey(this.options.pipeline.key, data.key);
    if (!this.members.has(member)) return { outcome: 'ignored', fired: undefined, published: undefined };

    const { store } = this.options;
    // The store's time, never this instance's clock: deadlines count from it (#16.6), and the key is decided at it.
    const now = await store.now();
    const record: MemberRecord = {
      member,
      executionId: data.execution_id,
      messageId: envelope.id,
      status: data.status,
      recordedAt: now,
      entitiesChanged: data.metadata?.entities_changed,
      incremental: data.metadata?.is_incremental,
    };
    const { recorded, decision } = await store.recordCompletion(this.snapshotOf(envelope, now), record, this.rule(now));
    const outcome = recorded ? 'recorded' : 'duplicate';
    // Most completions decide nothing: nothing to deliver, no further await.
    if (decision.trigger === undefined) return { outcome, fired: undefined, published: undefined };
    return { outcome, ...(await this.deliver(decision, now)) };
  }

  /**
   * Evaluates deadlines for every open key with no traffic needed (#15), and re-publishes any trigger
   * decided but not yet published (#10). Each key on its own (#16.4): a key that fails is listed in the
   * report's `failures` and every other key is still evaluated. Throws only when the keys cannot be listed.
   */
  async tick(): Promise<TickReport> {
    const now = await this.options.store.now();
    const report = emptyTickReport();
    for (const generation of this.generationNames()) {
      for (const key of await this.options.store.listKeys(generation, true)) await this.tickInto(report, generation, key, now);
      mergeTickReport(report, await this.outbox.flush(generation));
    }
    return report;
  }

  /**
   * Ticks one generation of one key, as `tick` ticks each open key (a run loop that knows a key's
   * deadline tier is due ticks just that key). A failure is listed in the report, never thrown.
   */
  async tickKey(generation: string, key: string): Promise<TickReport> {
    const report = emptyTickReport();
    await this.tickInto(report, generation, key, await this.options.store.now());
    return report;
  }

  private async tickInto(report: TickReport, generation: string, key: string, now: number): Promise<void> {
    try {
      const result = await this.decide(generation, key, now);
      if (result.fired) report.fired.push(result.fired);
      if (result.published) report.published.push(result.published);
    } catch (error) {
      report.failures.push(tickFailure(generation, key, error));
    }
  }

  /**
   * A key's progress for `baton status`: its latest generation (the one whose first completion came
   * last); undefined before its first completion. `inspectGenerations` lists every generation.
   */
  async inspect(key: string): Promise<BarrierKeyStatus | undefined> {
    return (await this.inspectGenerations(key)).at(-1);
  }

  /** Every generation of a key (one per mode it ran in), oldest first by first completion. */
  async inspectGenerations(key: string): Promise<BarrierKeyStatus[]> {
    const now = await this.options.store.now();
    const generations: BarrierKeyStatus[] = [];
    for (const generation of this.generationNames()) {
      const state = await this.options.store.readKey(generation, key);
      if (state === undefined) continue;
      generations.push({
        ...summarizeMembers(state),
        snapshot: state.snapshot,
        trigger: state.trigger,
        nextDeadlineAt: state.trigger === undefined ? nextDeadline(state, now) : undefined,
      });
    }
    return generations.sort((a, b) => a.snapshot.firstCompletionAt - b.snapshot.firstCompletionAt);
  }

  /**
   * Decides a key's generation and, when this call decided it, publishes its trigger. A trigger decided
   * earlier is left alone: its decider publishes it, or — if the decider died in between — the tick's
   * `flush` does (one recovery path, so a round of concurrent deciders writes the trigger twice: create, mark).
   */
  private async decide(generation: string, key: string, now: number): Promise<Omit<BarrierOutcome, 'outcome'>> {
    return this.deliver(await this.options.store.decideTrigger(generation, key, this.rule(now)), now);
  }

  /** How a key is decided at `now`: on its tally first, drafted from its full state only when that fires. */
  private rule(now: number): TriggerRule {
    return { fires: (tally) => firingOf(tally, now) !== undefined, draft: (state) => this.draft(state, now) };
  }

  /** Publishes a trigger this call decided (`TriggerOutbox.deliver`). */
  private async deliver(decision: TriggerDecision, now: number): Promise<Omit<BarrierOutcome, 'outcome'>> {
    const published = await this.outbox.deliver(decision, now);
    return { fired: decision.created ? decision.trigger : undefined, published };
  }

  /**
   * The expectations a completion's key generation is opened with; the store keeps the first snapshot
   * of a generation and ignores later ones. The mode is chosen from the completion's own `time` (the
   * clock only if it has none), so a same-day completion handled after midnight still counts in the
   * same-day generation, and every redelivery of a completion lands in the same generation (issue 16 #1).
   */
  private snapshotOf(envelope: Envelope<'dev.baton.completion.v1'>, now: number): KeySnapshot {
    const { barrier } = this.options;
    const key = envelope.data.key;
    const eventTime = Date.parse(envelope.time);
    const profile = barrier.modes === undefined ? undefined : selectProfile(barrier.modes, key, Number.isNaN(eventTime) ? now : eventTime);
    const { expected, threshold, deadlines } = this.expectationsOf(profile);
    return {
      barrier: this.generationName(profile?.name),
      key,
      expected,
      mode: profile?.name,
      threshold,
      deadlines,
      countsAsComplete: barrier.countsAsComplete,
      firstCompletionAt: now,
      correlationId: envelope.correlationid,
      traceparent: envelope.traceparent,
    };
  }

  /**
   * The member list, threshold and deadlines a snapshot fixes, built once per mode profile: every
   * completion carries a snapshot though only a key's first stores it, and mapping thousands of member
   * names for each made a large barrier quadratic.
   */
  private expectationsOf(profile: ModeProfile | undefined): Pick<KeySnapshot, 'expected' | 'threshold' | 'deadlines'> {
    let expectations = this.expectations.get(profile);
    if (expectations === undefined) {
      const { barrier } = this.options;
      expectations = {
        expected: (profile?.expect ?? barrier.members).map((m) => m.name),
        threshold: snapshotThreshold(profile?.threshold ?? barrier.threshold),
        deadlines: barrier.deadlines.map((t) => ({ after: t.after, afterMs: t.afterMs, minMembers: t.minMembers, ignoreRequired: t.ignoreRequired })),
      };
      this.expectations.set(profile, expectations);
    }
    return expectations;
  }

  /** The trigger to store, if the key fires now. Pure: a store calls it inside its transaction. */
  private draft(state: KeyState, now: number): TriggerDraft | undefined {
    const firing = evaluateThreshold(state, now);
    if (firing === undefined) return undefined;
    const { barrier, pipelineHash } = this.options;
    const { snapshot } = state;
    const lineage = [...new Set(firing.joined.map((m) => m.messageId))];
    const union = barrier.aggregateEntities ? unionEntities(firing.joined) : undefined;
    // A union too large to store in one trigger is dropped, and the trigger is not incremental: its
    // consumer takes the full list, a superset of the work — never a store write that fails forever (#16.4).
    const entitiesCapped = union !== undefined && new TextEncoder().encode(JSON.stringify(union)).length > MAX_TRIGGER_ENTITIES_BYTES;
    const entities = entitiesCapped ? undefined : union;
    const data: TriggerData = {
      key: snapshot.key,
      correlation_id: snapshot.correlationId,
      emitter: this.name,
      ...(barrier.target === undefined ? {} : { target: barrier.target }),
      reason: firing.reason,
      ...(snapshot.mode === undefined ? {} : { mode: snapshot.mode }),
      ...(firing.tier === undefined ? {} : { deadline_tier: firing.tier }),
      members_completed: [...firing.completed],
      members_missing: [...firing.missing],
      members_failed: [...firing.failed],
      ...(entities === undefined ? {} : { entities_changed: entities }),
      is_incremental: !entitiesCapped && firing.joined.length > 0 && firing.joined.every((m) => m.incremental === true),
      lineage,
      ...(pipelineHash === undefined ? {} : { pipeline_hash: pipelineHash }),
    };
    const envelope = buildEnvelope({
      id: this.triggerId(snapshot.key, snapshot.mode),
      source: this.source,
      type: ENVELOPE_TYPES.trigger,
      time: now,
      subject: snapshot.key,
      correlationId: snapshot.correlationId,
      parentTraceparent: snapshot.traceparent,
      data,
    });
    const attributes: Record<string, string> = barrier.target === undefined ? {} : { [TARGET_ATTRIBUTE]: barrier.target };
    return { topic: barrier.publishes.name, message: toMessage(envelope, attributes), reason: firing.reason, decidedAt: now };
  }
}

function snapshotThreshold(threshold: Threshold): ThresholdSnapshot {
  return { kind: threshold.kind, required: threshold.required.map((r) => r.name), count: threshold.count, quorum: threshold.quorum };
}

/** Union of the joined completions' entities_changed, per entity type, first-seen order, with counts. */
export function unionEntities(records: readonly MemberRecord[]): Record<string, { ids: EntityId[]; count: number }> {
  const union = new Map<string, Map<string, EntityId>>();
  for (const record of records) {
    for (const [type, ids] of Object.entries(record.entitiesChanged ?? {})) {
      const seen = union.get(type) ?? new Map<string, EntityId>();
      // 7 and "7" are different ids; keying by type keeps both.
      for (const id of ids) seen.set(`${typeof id}:${id}`, id);
      union.set(type, seen);
    }
  }
  return Object.fromEntries([...union].map(([type, ids]) => [type, { ids: [...ids.values()], count: ids.size }]));
}
