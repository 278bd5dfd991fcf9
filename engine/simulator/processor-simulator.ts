import type { ResolvedPipeline, ResolvedProcessor, SimulatedBehaviour } from '../config/resolved-pipeline.ts';
import type { CompletionStatus } from '../config/pipeline-spec.ts';
import type { Clock } from '../ports/clock.ts';
import type { MessageBus, OutgoingMessage, ReceivedMessage } from '../ports/message-bus.ts';
import type { EntityId } from '../ports/state-store.ts';
import { ENVELOPE_TYPES, parseMessage } from '../runtime/envelope.ts';
import type { RuntimeSubscription } from '../runtime/pipeline-runtime.ts';
import { createProcessor } from '../sdk/create-processor.ts';
import type { Processor } from '../sdk/processor.ts';
import type { ProcessorContext } from '../sdk/processor-context.ts';
import type { ProcessorResult } from '../sdk/processor-result.ts';
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
  /** Hash of the pipeline file, stamped on completions as a deployed processor would. */
  readonly pipelineHash?: string | undefined;
}

interface Job {
  readonly processor: ResolvedProcessor;
  readonly startedAt: number;
  readonly finishAt: number;
  /** The delivery that started it; undefined for entry processors started by the run. */
  readonly message: ReceivedMessage | undefined;
  readonly key: string;
}

/**
 * Plays the user's processors for `baton run`: each pulls its trigger subscription, "works" for a
 * seeded latency of simulated time, then hands the delivery to the processor SDK (`createProcessor`,
 * the same code a deployed processor runs), whose `handle` is the seeded simulated work: the SDK
 * validates the trigger, publishes the one completion envelope, and only then is the delivery acked —
 * so a kill mid-work redelivers the trigger and the redone work publishes the same message id
 * (absorbed). Barriers and coordinators are the real ones; only the work inside `handle` is simulated.
 */
export class ProcessorSimulator {
  readonly stats = new Map<string, ProcessorStats>();
  private jobs: Job[] = [];
  private readonly universe: Readonly<Record<string, number>>;
  private readonly processors: ReadonlyMap<string, Processor>;

  constructor(
    private readonly pipeline: ResolvedPipeline,
    private readonly bus: MessageBus,
    private readonly clock: Clock,
    private readonly subscriptions: readonly RuntimeSubscription[],
    private readonly settings: SimulatorSettings,
  ) {
    this.universe = pipeline.simulation.entities;
    for (const p of pipeline.processors) this.stats.set(p.name, { runs: 0, failed: 0, noData: 0, duplicatesSent: 0, processed: 0, skipped: 0 });
    this.processors = new Map(
      pipeline.processors.map((p) => [
        p.name,
        createProcessor({
          pipeline,
          ...(settings.pipelineHash === undefined ? {} : { pipelineHash: settings.pipelineHash }),
          name: p.name,
          handle: (ctx) => this.work(ctx),
          publisher: bus,
          clock,
          oidc: false,
          logger: { log: () => undefined },
          env: {},
        }),
      ]),
    );
  }

  /** Starts every entry processor for each key (the scrapers, for the NBA pipeline). */
  startKeys(keys: readonly string[]): void {
    const entryPhases = new Set(this.pipeline.phases.filter((p) => p.entry !== undefined).map((p) => p.name));
    for (const key of keys) {
      for (const processor of this.pipeline.processors.filter((p) => entryPhases.has(p.phase))) {
        this.schedule({ processor, message: undefined, key });
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
        let key: string;
        try {
          // Only to seed the latency by key; the SDK validates the trigger fully when the work finishes.
          key = parseMessage(message).subject;
        } catch (error) {
          // The SDK would reject it the same way: straight to the dead-letter path.
          await this.bus.deadLetter(message.ackId, error instanceof Error ? error.message : String(error));
          continue;
        }
        this.schedule({ processor, message, key });
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

  private schedule(job: Omit<Job, 'startedAt' | 'finishAt'>): void {
    const [min, max] = this.behaviour(job.processor.name).latencyMs;
    const next = seededRandom(this.settings.runId, 'latency', job.processor.name, job.key, job.message?.id ?? 'entry');
    const now = this.clock.now();
    this.jobs.push({ ...job, startedAt: now, finishAt: now + min + Math.floor(next() * (max - min + 1)) });
  }

  private async finish(job: Job): Promise<void> {
    const { processor, key, message } = job;
    const sdk = this.processors.get(processor.name);
    if (sdk === undefined) return;
    const outcome = await sdk.deliver(message ?? this.entryMessage(key), { receivedAt: job.startedAt, deliveryAttempt: message?.deliveryAttempt });
    const stats = this.stats.get(processor.name);
    switch (outcome.status) {
      case 'completed': {
        const seed = [this.settings.runId, processor.name, key, message?.id ?? 'entry'] as const;
        if (seededRandom(...seed, 'duplicate')() < this.behaviour(processor.name).duplicateRate) {
          // The same completion (same execution id) arriving again, as Pub/Sub may deliver it.
          const again = `${outcome.completion.id}:again`;
          await this.bus.publish(processor.publishes.name, {
            ...outcome.completion,
            id: again,
            attributes: { ...outcome.completion.attributes, 'ce-id': again },
          });
          if (stats) stats.duplicatesSent++;
        }
        if (message) await this.bus.ack(message.ackId);
        if (stats) {
          stats.runs++;
          if (outcome.result.status === 'failed') stats.failed++;
          if (outcome.result.status === 'no_data') stats.noData++;
        }
        return;
      }
      case 'duplicate':
        if (message) await this.bus.ack(message.ackId);
        return;
      case 'rejected':
        if (message) await this.bus.deadLetter(message.ackId, outcome.reason);
        return;
      case 'retry':
        if (message) await this.bus.nack(message.ackId, outcome.reason);
        return;
    }
  }

  /** What a scheduler sends an entry processor: the key and the run's correlation id. */
  private entryMessage(key: string): OutgoingMessage {
    const { runId } = this.settings;
    const correlationId = `${runId}-${stableId(runId, 'correlation', key)}`;
    return { id: `entry:${runId}:${key}`, attributes: {}, data: JSON.stringify({ key, correlation_id: correlationId }) };
  }

  /** The simulated work: `handle` of every simulated processor, seeded by what it is about. */
  private work(ctx: ProcessorContext): ProcessorResult {
    const { processor: name, key, trigger } = ctx;
    const behaviour = this.behaviour(name);
    const seed = [this.settings.runId, name, key, trigger.type === 'entry' ? 'entry' : trigger.id] as const;
    const roll = seededRandom(...seed, 'status')();
    const status: CompletionStatus = roll < behaviour.failureRate ? 'failed' : roll < behaviour.failureRate + behaviour.noDataRate ? 'no_data' : 'success';
    const failure = status === 'failed' ? { errorMessage: 'simulated failure', errorType: 'SimulatedFailure' } : {};
    const stats = this.stats.get(name);
    if (trigger.type === ENVELOPE_TYPES.work) {
      if (stats) stats.processed++;
      return { status, recordCount: status === 'success' ? 1 : 0, ...failure };
    }
    const incoming = trigger.type === ENVELOPE_TYPES.trigger ? trigger.data : undefined;
    const changed: Record<string, EntityId[]> = {};
    const total = Object.values(this.universe).reduce((a, b) => a + b, 0);
    if (ctx.entities.incremental) {
      // Incremental: recompute exactly what upstream changed, and pass it on.
      let processed = 0;
      for (const [type, ids] of Object.entries(ctx.entities.changed)) {
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
      status,
      recordCount: status === 'success' ? 1 + Object.values(changed).reduce((a, ids) => a + ids.length, 0) : 0,
      ...failure,
      ...(reportsEntities && status !== 'failed' ? { entitiesChanged: changed, isIncremental: !this.settings.full } : {}),
    };
  }
}
