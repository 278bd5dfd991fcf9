import type { ResolvedPipeline } from '../config/resolved-pipeline.ts';
import type { Clock } from '../ports/clock.ts';
import type { MessageBus, ReceivedMessage, SubscriptionConfig } from '../ports/message-bus.ts';
import type { StateStore, TriggerRecord } from '../ports/state-store.ts';
import { CompletionBarrier } from './completion-barrier.ts';
import { Coordinator, type EntityListProvider } from './coordinator.ts';
import { Subscriber } from './subscriber.ts';
import { emptyTickReport, mergeTickReport, tickFailure, type TickReport, type TriggerPublication } from './tick-report.ts';

/** One subscription the runtime knows of, and who consumes it. */
export interface RuntimeSubscription {
  readonly config: SubscriptionConfig;
  readonly role: 'processor' | 'barrier' | 'coordinator' | 'coordinator-ready';
  readonly consumer: string;
}

/** Something the runtime did that a caller may want to show or count. */
export type RuntimeEvent =
  | { readonly kind: 'fired'; readonly trigger: TriggerRecord }
  | { readonly kind: 'published'; readonly publication: TriggerPublication }
  | { readonly kind: 'duplicate'; readonly consumer: string }
  | { readonly kind: 'dead-lettered'; readonly subscription: string; readonly count: number }
  /** A barrier or coordinator handled a delivery (whatever the outcome): what a run loop watches to know which keys changed. */
  | { readonly kind: 'delivered'; readonly role: RuntimeSubscription['role']; readonly consumer: string; readonly message: ReceivedMessage };

/**
 * What a targeted tick evaluates: one generation of a barrier's key (its `generation` is the store name,
 * `CompletionBarrier.generationName`), or one coordinator batch.
 */
export type TickTarget =
  | { readonly kind: 'deadline'; readonly barrier: string; readonly generation: string; readonly key: string }
  | { readonly kind: 'stall'; readonly coordinator: string; readonly batchId: string };

/** What the runtime needs: the pipeline, its subscriptions, and the ports. */
export interface PipelineRuntimeOptions {
  readonly pipeline: ResolvedPipeline;
  readonly pipelineHash?: string;
  readonly subscriptions: readonly RuntimeSubscription[];
  readonly store: StateStore;
  readonly bus: MessageBus;
  readonly clock: Clock;
  /** Full entity list per coordinator, for triggers that are not incremental. */
  readonly fullList: (coordinator: string) => EntityListProvider;
  readonly onEvent?: (event: RuntimeEvent) => void;
}

/**
 * Every barrier and coordinator of a pipeline, in one process, over any backend: subscribes them,
 * drains their subscriptions, and ticks their deadlines and stall policies. The processors' own
 * subscriptions are created too (so nothing published to them is lost) but consumed by the processors.
 */
export class PipelineRuntime {
  readonly barriers: ReadonlyMap<string, CompletionBarrier>;
  readonly coordinators: ReadonlyMap<string, Coordinator>;
  private readonly subscribers: Subscriber[];
  private readonly listeners = new Set<(event: RuntimeEvent) => void>();

  constructor(private readonly options: PipelineRuntimeOptions) {
    const { pipeline, pipelineHash, store, bus, clock } = options;
    const onEvent = (event: RuntimeEvent): void => this.emit(event);
    const hash = pipelineHash === undefined ? {} : { pipelineHash };
    this.barriers = new Map(pipeline.barriers.map((barrier) => [barrier.name, new CompletionBarrier({ barrier, pipeline, store, bus, clock, ...hash })]));
    this.coordinators = new Map(
      pipeline.coordinators.map((coordinator) => [
        coordinator.name,
        new Coordinator({ coordinator, pipeline, store, bus, clock, fullList: options.fullList(coordinator.name), ...hash }),
      ]),
    );
    const fired = (trigger: TriggerRecord | undefined): void => {
      if (trigger) onEvent({ kind: 'fired', trigger });
    };
    // Every delivery is reported once handled, failed ones too: a completion may have been recorded before a later step failed.
    const delivered =
      (role: RuntimeSubscription['role'], consumer: string, handle: (message: ReceivedMessage) => Promise<unknown>) =>
      async (message: ReceivedMessage): Promise<void> => {
        try {
          await handle(message);
        } finally {
          onEvent({ kind: 'delivered', role, consumer, message });
        }
      };
    this.subscribers = options.subscriptions.flatMap(({ config, role, consumer }) => {
      const barrier = this.barriers.get(consumer);
      const coordinator = this.coordinators.get(consumer);
      if (role === 'barrier' && barrier) {
        return [
          new Subscriber(
            bus,
            config.name,
            delivered(role, consumer, async (message) => {
              const outcome = await barrier.handle(message);
              if (outcome.outcome === 'duplicate') onEvent({ kind: 'duplicate', consumer });
              fired(outcome.fired);
              if (outcome.published) onEvent({ kind: 'published', publication: outcome.published });
            }),
          ),
        ];
      }
      if (role === 'coordinator' && coordinator)
        return [
          new Subscriber(
            bus,
            config.name,
            delivered(role, consumer, (message) => coordinator.handleTrigger(message)),
          ),
        ];
      if (role === 'coordinator-ready' && coordinator) {
        return [
          new Subscriber(
            bus,
            config.name,
            delivered(role, consumer, async (message) => {
              const outcome = await coordinator.handleReady(message);
              if (outcome.outcome === 'duplicate') onEvent({ kind: 'duplicate', consumer });
              fired(outcome.fired);
            }),
          ),
        ];
      }
      return [];
    });
  }

  /** Adds a listener to every event (besides `onEvent`); returns what removes it. */
  listen(listener: (event: RuntimeEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Creates every subscription (idempotent). */
  async start(): Promise<void> {
    for (const { config } of this.options.subscriptions) await this.options.bus.subscribe(config);
  }

  /** Handles every due message of the barriers and coordinators; returns how many were settled. */
  async pump(): Promise<number> {
    let settled = 0;
    for (const subscriber of this.subscribers) {
      const result = await subscriber.drain();
      settled += result.acked + result.nacked + result.deadLettered;
      if (result.deadLettered > 0) this.emit({ kind: 'dead-lettered', subscription: subscriber.subscription, count: result.deadLettered });
    }
    return settled;
  }

  /**
   * Fires due deadline tiers and stalled batches, and re-publishes undelivered triggers. Every component
   * and every key on its own (#16.4): a failure is listed in the report and the rest still tick.
   */
  async tick(): Promise<TickReport> {
    const report = emptyTickReport();
    for (const component of [...this.barriers.values(), ...this.coordinators.values()]) {
      try {
        mergeTickReport(report, await component.tick());
      } catch (error) {
        report.failures.push(tickFailure(component.name, undefined, error));
      }
    }
    this.emitTick(report);
    return report;
  }

  /**
   * Ticks only the given keys' generations and batches, in the given order, as `tick` would tick each
   * (a run loop that knows which deadline tier or stall window is due ticks just those). Each target on
   * its own: a failure is listed in the report and the rest still tick. Unlike `tick`, it does not
   * re-publish undelivered triggers of other keys.
   */
  async tickTargets(targets: readonly TickTarget[]): Promise<TickReport> {
    const report = emptyTickReport();
    for (const target of targets) {
      if (target.kind === 'deadline') {
        const barrier = this.barriers.get(target.barrier);
        if (barrier) mergeTickReport(report, await barrier.tickKey(target.generation, target.key));
      } else {
        const coordinator = this.coordinators.get(target.coordinator);
        if (coordinator) mergeTickReport(report, await coordinator.tickBatch(target.batchId));
      }
    }
    this.emitTick(report);
    return report;
  }

  private emitTick(report: TickReport): void {
    for (const trigger of report.fired) this.emit({ kind: 'fired', trigger });
    for (const publication of report.published) this.emit({ kind: 'published', publication });
  }

  private emit(event: RuntimeEvent): void {
    this.options.onEvent?.(event);
    for (const listener of this.listeners) listener(event);
  }
}
