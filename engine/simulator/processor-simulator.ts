import type { ResolvedPipeline, ResolvedProcessor, SimulatedBehaviour } from '../config/resolved-pipeline.ts';
import type { CompletionStatus } from '../config/pipeline-spec.ts';
import type { Clock } from '../ports/clock.ts';
import type { MessageBus, ReceivedMessage } from '../ports/message-bus.ts';
import type { EntityId } from '../ports/state-store.ts';
import { buildEnvelope, ENVELOPE_TYPES, parseMessage, toMessage, type CompletionData, type Envelope } from '../runtime/envelope.ts';
import type { RuntimeSubscription } from '../runtime/pipeline-runtime.ts';
import { sample, seededRandom, stableId } from './seeded-random.ts';

/** What one simulated processor did in this session. */
export interface ProcessorStats {
  runs: number;
  failed: number;
  noData: number;
  /** Completions sent twice on purpose, as an at-least-once bus may deliver them. */
  duplicatesSent: number;
  /** Entities recomputed / left alone, for processors started by an entity-aware trigger. */
  processed: number;
  skipped: number;
}

/** How `baton run` asks the simulator to behave beyond `simulate:` in pipeline.yaml. */
export interface SimulatorSettings {
  /** Identifies the run: seeds ids and choices, so a resumed run repeats them. */
  readonly runId: string;
  /** Processors report `is_incremental: false`: downstream recomputes everything. */
  readonly full: boolean;
  /** Overrides for every processor (from CLI flags). */
  readonly overrides: Partial<Pick<SimulatedBehaviour, 'failureRate' | 'noDataRate' | 'duplicateRate'>>;
}

interface Job {
  readonly processor: ResolvedProcessor;
  readonly finishAt: number;
  /** The delivery that started it; undefined for entry processors started by the run. */
  readonly message: ReceivedMessage | undefined;
  readonly key: string;
  readonly trigger: Envelope | undefined;
}

/**
 * Plays the user's processors for `baton run`: each pulls its trigger subscription, "works" for a
 * seeded latency of simulated time, publishes a completion envelope, and only then acks — so a kill
 * mid-work redelivers the trigger and the redone work publishes the same message id (absorbed).
 * Barriers and coordinators are the real ones; this class stands in for user code only.
 */
export class ProcessorSimulator {
  readonly stats = new Map<string, ProcessorStats>();
  private jobs: Job[] = [];
  private readonly universe: Readonly<Record<string, number>>;

  constructor(
    private readonly pipeline: ResolvedPipeline,
    private readonly bus: MessageBus,
    private readonly clock: Clock,
    private readonly subscriptions: readonly RuntimeSubscription[],
    private readonly settings: SimulatorSettings,
  ) {
    this.universe = pipeline.simulation.entities;
    for (const p of pipeline.processors) this.stats.set(p.name, { runs: 0, failed: 0, noData: 0, duplicatesSent: 0, processed: 0, skipped: 0 });
  }

  /** Starts every entry processor for each key (the scrapers, for the NBA pipeline). */
  startKeys(keys: readonly string[]): void {
    const entryPhases = new Set(this.pipeline.phases.filter((p) => p.entry !== undefined).map((p) => p.name));
    for (const key of keys) {
      for (const processor of this.pipeline.processors.filter((p) => entryPhases.has(p.phase))) {
        this.schedule({ processor, message: undefined, key, trigger: undefined });
      }
    }
  }

  /** Pulls every processor subscription and starts a job per delivery; returns how many started. */
  async pump(): Promise<number> {
    let started = 0;
    for (const subscription of this.subscriptions.filter((s) => s.role === 'processor')) {
      const processor = this.pipeline.processors.find((p) => p.name === subscription.consumer);
      if (processor === undefined) continue;
      for (const message of await this.bus.pull(subscription.config.name, 500)) {
        let trigger: Envelope;
        try {
          trigger = parseMessage(message);
        } catch (error) {
          // A user processor would reject it the same way: straight to the dead-letter path.
          await this.bus.deadLetter(message.ackId, error instanceof Error ? error.message : String(error));
          continue;
        }
        this.schedule({ processor, message, key: trigger.subject, trigger });
        started++;
      }
    }
    return started;
  }

  /** Finishes every job whose simulated work is done: publish the completion, then ack. */
  async finishDue(): Promise<number> {
    const now = this.clock.now();
    const due = this.jobs.filter((job) => job.finishAt <= now);
    this.jobs = this.jobs.filter((job) => job.finishAt > now);
    for (const job of due) await this.finish(job);
    return due.length;
  }

  /** When the next job finishes, if any is running. */
  nextEventAt(): number | undefined {
    return this.jobs.length === 0 ? undefined : Math.min(...this.jobs.map((j) => j.finishAt));
  }

  /** Jobs still running. */
  get running(): number {
    return this.jobs.length;
  }

  /** Per-entity ids 1..n of an entity type's universe (the coordinator's full list). */
  fullList(entityType: string): EntityId[] {
    return Array.from({ length: this.universe[entityType] ?? 0 }, (_, i) => i + 1);
  }

  private behaviour(name: string): SimulatedBehaviour {
    const base = this.pipeline.simulation.processors.get(name) ?? this.pipeline.simulation.defaults;
    return { ...base, ...this.settings.overrides };
  }

  private schedule(job: Omit<Job, 'finishAt'>): void {
    const [min, max] = this.behaviour(job.processor.name).latencyMs;
    const next = seededRandom(this.settings.runId, 'latency', job.processor.name, job.key, job.message?.id ?? 'entry');
    this.jobs.push({ ...job, finishAt: this.clock.now() + min + Math.floor(next() * (max - min + 1)) });
  }

  private async finish(job: Job): Promise<void> {
    const { processor, key, trigger, message } = job;
    const behaviour = this.behaviour(processor.name);
    const seed = [this.settings.runId, processor.name, key, message?.id ?? 'entry'] as const;
    const roll = seededRandom(...seed, 'status')();
    const status: CompletionStatus = roll < behaviour.failureRate ? 'failed' : roll < behaviour.failureRate + behaviour.noDataRate ? 'no_data' : 'success';
    const stats = this.stats.get(processor.name);
    const data = this.completionData(job, status, stats);
    const id = `completion:${processor.name}:${key}:${stableId(...seed)}`;
    const envelope = buildEnvelope({
      id,
      source: `//baton/${this.pipeline.name}/processors/${processor.name}`,
      type: ENVELOPE_TYPES.completion,
      time: this.clock.now(),
      subject: key,
      correlationId: trigger?.correlationid ?? `${this.settings.runId}-${stableId(this.settings.runId, 'correlation', key)}`,
      parentTraceparent: trigger?.traceparent,
      data,
    });
    await this.bus.publish(processor.publishes.name, toMessage(envelope));
    if (seededRandom(...seed, 'duplicate')() < behaviour.duplicateRate) {
      // The same completion (same execution id) arriving again, as Pub/Sub may deliver it.
      await this.bus.publish(processor.publishes.name, toMessage({ ...envelope, id: `${id}:again` }));
      if (stats) stats.duplicatesSent++;
    }
    if (message) await this.bus.ack(message.ackId);
    if (stats) {
      stats.runs++;
      if (status === 'failed') stats.failed++;
      if (status === 'no_data') stats.noData++;
    }
  }

  private completionData(job: Job, status: CompletionStatus, stats: ProcessorStats | undefined): CompletionData {
    const { processor, key, trigger, message } = job;
    const behaviour = this.behaviour(processor.name);
    const [min, max] = behaviour.latencyMs;
    const base: CompletionData = {
      processor_name: processor.name,
      phase: processor.phase,
      execution_id: `exec-${stableId(this.settings.runId, processor.name, key, message?.id ?? 'entry')}`,
      correlation_id: trigger?.correlationid ?? `${this.settings.runId}-${stableId(this.settings.runId, 'correlation', key)}`,
      key,
      status,
      timestamp: new Date(this.clock.now()).toISOString(),
      duration_seconds: Math.round((min + max) / 2000),
      trigger_source: message ? 'pubsub' : 'scheduler',
      ...(message ? { trigger_message_id: message.id } : {}),
      ...(status === 'failed' ? { error_message: 'simulated failure', error_type: 'SimulatedFailure' } : {}),
    };
    if (trigger?.type === ENVELOPE_TYPES.work) {
      const work = trigger.data as { batch_id: string; entity_id: EntityId; coordinator: string };
      if (stats) stats.processed++;
      return { ...base, parent_processor: work.coordinator, batch_id: work.batch_id, entity_id: work.entity_id, record_count: status === 'success' ? 1 : 0 };
    }
    const incoming =
      trigger?.type === ENVELOPE_TYPES.trigger
        ? (trigger.data as { emitter: string; entities_changed?: Record<string, { ids: EntityId[] }>; is_incremental?: boolean })
        : undefined;
    const changed: Record<string, EntityId[]> = {};
    const total = Object.values(this.universe).reduce((a, b) => a + b, 0);
    if (incoming?.is_incremental === true && incoming.entities_changed) {
      // Incremental: recompute exactly what upstream changed, and pass it on.
      let processed = 0;
      for (const [type, { ids }] of Object.entries(incoming.entities_changed)) {
        changed[type] = [...ids];
        processed += ids.length;
      }
      if (stats) {
        stats.processed += processed;
        stats.skipped += total - processed;
      }
    } else if (incoming?.is_incremental === false && stats) {
      stats.processed += total;
    }
    // What this processor itself finds changed: the same players change for every processor of a key.
    for (const [type, fraction] of Object.entries(behaviour.changes)) {
      const n = this.universe[type] ?? 0;
      const ids = sample(n, Math.floor(n * fraction), seededRandom(this.settings.runId, 'changes', key, type));
      changed[type] = [...new Set([...(changed[type] ?? []), ...ids])].sort((a, b) => Number(a) - Number(b));
    }
    const reportsEntities = Object.keys(changed).length > 0 || incoming?.is_incremental !== undefined;
    return {
      ...base,
      ...(incoming ? { parent_processor: incoming.emitter } : {}),
      record_count: status === 'success' ? 1 + Object.values(changed).reduce((a, ids) => a + ids.length, 0) : 0,
      ...(reportsEntities && status !== 'failed' ? { metadata: { entities_changed: changed, is_incremental: !this.settings.full } } : {}),
    };
  }
}
