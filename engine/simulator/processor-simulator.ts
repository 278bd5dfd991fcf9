import type { ResolvedPipeline, ResolvedProcessor } from '../config/resolved-pipeline.ts';
import type { Clock } from '../ports/clock.ts';
import type { MessageBus, ReceivedMessage } from '../ports/message-bus.ts';
import type { EntityId } from '../ports/state-store.ts';
import { parseMessage } from '../runtime/envelope.ts';
import type { RuntimeSubscription } from '../runtime/pipeline-runtime.ts';
import { createProcessor } from '../sdk/create-processor.ts';
import type { Processor } from '../sdk/processor.ts';
import { DueQueue } from './due-queue.ts';
import { SimulatedWork, type ProcessorStats, type SimulatorSettings } from './simulated-work.ts';

export type { ProcessorStats, SimulatorSettings } from './simulated-work.ts';

/** The most deliveries a simulated processor takes from one pull. */
const PULL_MAX = 500;

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
  /** Running jobs by finish time; jobs finishing at the same instant finish in the order they started. */
  private readonly jobs = new DueQueue<Job>();
  private readonly work: SimulatedWork;
  private readonly processors: ReadonlyMap<string, Processor>;
  /** Each processor subscription and the processor that pulls it (a pump runs at every pass of the run loop). */
  private readonly pulled: readonly { readonly subscription: string; readonly processor: ResolvedProcessor }[];

  constructor(
    private readonly pipeline: ResolvedPipeline,
    private readonly bus: MessageBus,
    private readonly clock: Clock,
    private readonly subscriptions: readonly RuntimeSubscription[],
    private readonly settings: SimulatorSettings,
  ) {
    this.work = new SimulatedWork(pipeline, settings);
    this.pulled = subscriptions.flatMap((s) => {
      const processor = s.role === 'processor' ? pipeline.processors.find((p) => p.name === s.consumer) : undefined;
      return processor === undefined ? [] : [{ subscription: s.config.name, processor }];
    });
    this.processors = new Map(
      pipeline.processors.map((p) => [
        p.name,
        createProcessor({
          pipeline,
          ...(settings.pipelineHash === undefined ? {} : { pipelineHash: settings.pipelineHash }),
          name: p.name,
          handle: (ctx) => this.work.result(ctx),
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
    // Most of them are idle at most passes: not even a call. The rest in one call when the bus takes several pulls at once.
    const pulled = this.pulled.filter(({ subscription }) => this.bus.idle?.(subscription) !== true);
    if (pulled.length === 0) return 0;
    const answers = this.bus.pullEach === undefined ? undefined : await this.bus.pullEach(pulled.map(({ subscription }) => ({ subscription, max: PULL_MAX })));
    for (const [i, { subscription, processor }] of pulled.entries()) {
      for (const message of answers?.[i] ?? (await this.bus.pull(subscription, PULL_MAX))) {
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
    const due = this.jobs.popDue(this.clock.now());
    for (const job of due) await this.finish(job);
    return due.length;
  }

  /** When the next job finishes, if any is running. */
  nextEventAt(): number | undefined {
    return this.jobs.peekAt();
  }

  /** What each simulated processor did in this session. */
  get stats(): ReadonlyMap<string, ProcessorStats> {
    return this.work.stats;
  }

  /** Jobs still running. */
  get running(): number {
    return this.jobs.size;
  }

  /** Per-entity ids 1..n of an entity type's universe (the coordinator's full list). */
  fullList(entityType: string): EntityId[] {
    return this.work.fullList(entityType);
  }

  private schedule(job: Omit<Job, 'startedAt' | 'finishAt'>): void {
    const now = this.clock.now();
    const finishAt = now + this.work.latencyMs(job.processor.name, job.key, job.message?.id ?? 'entry');
    this.jobs.push(finishAt, { ...job, startedAt: now, finishAt });
  }

  private async finish(job: Job): Promise<void> {
    const { processor, key, message } = job;
    const sdk = this.processors.get(processor.name);
    if (sdk === undefined) return;
    const outcome = await sdk.deliver(message ?? this.work.entryMessage(key), { receivedAt: job.startedAt, deliveryAttempt: message?.deliveryAttempt });
    switch (outcome.status) {
      case 'completed':
        if (this.work.duplicates(processor.name, key, message?.id ?? 'entry')) {
          // The same completion (same execution id) arriving again, as Pub/Sub may deliver it.
          await this.bus.publish(processor.publishes.name, this.work.duplicateOf(processor.name, outcome.completion));
        }
        if (message) await this.bus.ack(message.ackId);
        this.work.recordCompleted(processor.name, outcome.result.status);
        return;
      case 'duplicate':
        if (message) await this.bus.ack(message.ackId);
        return;
      case 'rejected':
        if (message) await this.bus.deadLetter(message.ackId, outcome.reason);
        return;
      case 'retry':
        // A trigger comes back by Pub/Sub's redelivery; an entry job has no message to redeliver, so it
        // is started again, as the scheduler that starts it retries (a failed publish must not drop a key's entry work).
        if (message) await this.bus.nack(message.ackId, outcome.reason);
        else this.schedule({ processor, message: undefined, key });
        return;
    }
  }
}
