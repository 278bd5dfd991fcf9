import type { CompletionStatus } from '../../engine/config/pipeline-spec.ts';
import type {
  DeadlineTier,
  ResolvedBarrier,
  ResolvedCoordinator,
  ResolvedPipeline,
  ResolvedProcessor,
  Threshold,
} from '../../engine/config/resolved-pipeline.ts';
import type { MessageBus, OutgoingMessage, SubscriptionConfig } from '../../engine/ports/message-bus.ts';
import type { EntityId } from '../../engine/ports/state-store.ts';
import { buildEnvelope, ENVELOPE_TYPES, parseMessage, toMessage, type Envelope } from '../../engine/runtime/envelope.ts';

/** Topic completions travel on in the fixtures. */
export const DONE_TOPIC = 'work-done';
/** Topic triggers are published to in the fixtures. */
export const TRIGGER_TOPIC = 'next-phase';

/** A threshold from plain names. */
export function thresholdOf(kind: Threshold['kind'], options: { required?: string[]; count?: number; quorum?: number } = {}): Threshold {
  return { kind, required: (options.required ?? []).map((name) => ({ name, path: [] })), count: options.count, quorum: options.quorum, path: [] };
}

/** A deadline tier from its text, e.g. `1h`. */
export function tierOf(after: string, minMembers: number, ignoreRequired = false): DeadlineTier {
  const unit = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[after.slice(-1)] ?? 0;
  return { after, afterMs: Number(after.slice(0, -1)) * unit, minMembers, ignoreRequired, path: [] };
}

/** A phase barrier over `members`, listening on DONE_TOPIC and publishing to TRIGGER_TOPIC. */
export function barrierOf(members: readonly string[], overrides: Partial<ResolvedBarrier> = {}): ResolvedBarrier {
  return {
    name: 'gate',
    kind: 'phase',
    description: '',
    function: 'gate',
    listens: { name: DONE_TOPIC, path: [] },
    membersPhase: undefined,
    members: members.map((name) => ({ name, path: [] })),
    threshold: thresholdOf('all'),
    modes: undefined,
    deadlines: [],
    aggregateEntities: true,
    countsAsComplete: ['success', 'partial'],
    publishes: { name: TRIGGER_TOPIC, path: [] },
    target: undefined,
    path: [],
    ...overrides,
  };
}

/**
 * A barrier over a, b, c with the NBA pipeline's three modes (New York time): `overnight` (key before
 * today) needs all three, `same_day` (today) only c, `tomorrow` (after today) only b.
 */
export function modesBarrierOf(overrides: Partial<ResolvedBarrier> = {}): ResolvedBarrier {
  const only = (name: string) => [{ name, path: [] }];
  return barrierOf(['a', 'b', 'c'], {
    modes: {
      select: 'key_date_vs_today',
      timezone: 'America/New_York',
      path: [],
      profiles: [
        { name: 'overnight', when: 'before_today', expect: undefined, threshold: thresholdOf('all'), path: [] },
        { name: 'same_day', when: 'today', expect: only('c'), threshold: thresholdOf('all'), path: [] },
        { name: 'tomorrow', when: 'after_today', expect: only('b'), threshold: thresholdOf('all'), path: [] },
      ],
    },
    ...overrides,
  });
}

/** The slice of a pipeline a barrier needs: processors publishing on DONE_TOPIC, a date key. */
export function pipelineOf(processors: readonly string[]): Pick<ResolvedPipeline, 'name' | 'key' | 'processors'> {
  return {
    name: 'demo',
    key: { name: 'game_date', type: 'date', pattern: undefined },
    processors: processors.map(
      (name): ResolvedProcessor => ({ name, phase: 'work', publishes: { name: DONE_TOPIC, path: [] } }) as unknown as ResolvedProcessor,
    ),
  };
}

/** Names m00, m01, … */
export function memberNames(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `m${String(i).padStart(3, '0')}`);
}

/** What a processor reports. */
export interface CompletionInput {
  readonly member: string;
  readonly key: string;
  readonly status?: CompletionStatus;
  /** Same execution id = a redelivery of the same report. */
  readonly execution?: string;
  readonly correlation?: string;
  readonly entities?: Record<string, EntityId[]>;
  readonly incremental?: boolean;
  readonly time?: number;
  readonly batchId?: string;
  readonly entityId?: EntityId;
}

/** A completion envelope in Pub/Sub form, with a deterministic id per (member, key, execution). */
export function completion(input: CompletionInput): OutgoingMessage {
  const execution = input.execution ?? 'e1';
  const correlation = input.correlation ?? `run-${input.key}`;
  const time = input.time ?? Date.parse('2025-11-29T12:00:00Z');
  const envelope = buildEnvelope({
    id: `c:${input.member}:${input.key}:${execution}${input.entityId === undefined ? '' : `:${String(input.entityId)}`}`,
    source: `//baton/demo/processors/${input.member}`,
    type: ENVELOPE_TYPES.completion,
    time,
    subject: input.key,
    correlationId: correlation,
    data: {
      processor_name: input.member,
      phase: 'work',
      execution_id: execution,
      correlation_id: correlation,
      key: input.key,
      status: input.status ?? 'success',
      timestamp: new Date(time).toISOString(),
      ...(input.batchId === undefined ? {} : { batch_id: input.batchId }),
      ...(input.entityId === undefined ? {} : { entity_id: input.entityId }),
      ...(input.entities === undefined && input.incremental === undefined
        ? {}
        : {
            metadata: {
              ...(input.entities ? { entities_changed: input.entities } : {}),
              ...(input.incremental === undefined ? {} : { is_incremental: input.incremental }),
            },
          }),
    },
  });
  return toMessage(envelope);
}

/** Subscription settings for tests: short, round numbers so the fake clock can step over them. */
export function subscriptionOf(name: string, topic: string, overrides: Partial<SubscriptionConfig> = {}): SubscriptionConfig {
  return { name, topic, ackDeadlineMs: 60_000, maxDeliveryAttempts: 5, minBackoffMs: 1_000, maxBackoffMs: 8_000, ...overrides };
}

/** A downstream consumer: pulls and acks everything due, deduping by id as consumers are told to. */
export class Watcher {
  readonly deliveries: OutgoingMessage[] = [];

  constructor(
    private readonly bus: MessageBus,
    readonly subscription: string,
  ) {}

  /** Pulls until nothing is due. */
  async drain(): Promise<void> {
    for (;;) {
      const batch = await this.bus.pull(this.subscription, 500);
      if (batch.length === 0) return;
      for (const message of batch) {
        this.deliveries.push(message);
        await this.bus.ack(message.ackId);
      }
    }
  }

  /** Distinct messages seen, by id. */
  unique(): Envelope[] {
    const byId = new Map(this.deliveries.map((m) => [m.id, m]));
    return [...byId.values()].map((m) => parseMessage(m));
  }
}

/** A seeded PRNG (mulberry32), so a failing shuffle replays. */
export function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** Fisher–Yates with a seeded random. */
export function shuffle<T>(items: readonly T[], random: () => number): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [copy[i], copy[j]] = [copy[j] as T, copy[i] as T];
  }
  return copy;
}

/** A coordinator fanning out `players` work on `requests`, reading reports on `ready`, publishing `predictions-done`. */
export function coordinatorOf(overrides: Partial<ResolvedCoordinator> = {}): ResolvedCoordinator {
  const ref = (name: string) => ({ name, path: [] });
  return {
    name: 'predict',
    description: '',
    service: 'predict',
    phase: ref('predictions'),
    listens: ref('precompute-done'),
    entityType: 'players',
    fullListUrl: undefined,
    workTopic: ref('requests'),
    readyTopic: ref('ready'),
    publishes: ref('predictions-done'),
    stall: { minFraction: 0.9, noProgressFor: '10m', noProgressForMs: 600_000 },
    countsAsComplete: ['success', 'partial'],
    onActiveBatch: 'refuse',
    path: [],
    ...overrides,
  };
}

/** A trigger for a coordinator: incremental over `players`, or (undefined) a full run; `time` is the trigger's own time. */
export function coordinatorTrigger(id: string, players: readonly EntityId[] | undefined, options: { key?: string; time?: string } = {}): OutgoingMessage {
  const key = options.key ?? '2025-11-29';
  return toMessage(
    buildEnvelope({
      id,
      source: '//baton/demo/barriers/gate',
      type: ENVELOPE_TYPES.trigger,
      time: Date.parse(options.time ?? '2025-11-29T12:00:00Z'),
      subject: key,
      correlationId: 'run-1',
      data: {
        key,
        correlation_id: 'run-1',
        emitter: 'gate',
        reason: 'all_complete',
        members_completed: [],
        members_missing: [],
        lineage: [],
        ...(players === undefined
          ? { is_incremental: false }
          : { is_incremental: true, entities_changed: { players: { ids: [...players], count: players.length } } }),
      },
    }),
  );
}
