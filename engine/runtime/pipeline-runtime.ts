import type { ResolvedPipeline } from '../config/resolved-pipeline.ts';
import type { Clock } from '../ports/clock.ts';
import type { MessageBus, SubscriptionConfig } from '../ports/message-bus.ts';
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
  | { readonly kind: 'dead-lettered'; readonly subscription: string; readonly count: number };

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

  constructor(private readonly options: PipelineRuntimeOptions) {
    const { pipeline, pipelineHash, store, bus, clock, onEvent } = options;
    const hash = pipelineHash === undefined ? {} : { pipelineHash };
    this.barriers = new Map(pipeline.barriers.map((barrier) => [barrier.name, new CompletionBarrier({ barrier, pipeline, store, bus, clock, ...hash })]));
    this.coordinators = new Map(
      pipeline.coordinators.map((coordinator) => [
        coordinator.name,
        new Coordinator({ coordinator, pipeline, store, bus, clock, fullList: options.fullList(coordinator.name), ...hash }),
      ]),
    );
    const fired = (trigger: TriggerRecord | undefined): void => {
      if (trigger) onEvent?.({ kind: 'fired', trigger });
    };
    this.subscribers = options.subscriptions.flatMap(({ config, role, consumer }) => {
      const barrier = this.barriers.get(consumer);
      const coordinator = this.coordinators.get(consumer);
      if (role === 'barrier' && barrier) {
        return [
          new Subscriber(bus, config.name, async (message) => {
            const outcome = await barrier.handle(message);
            if (outcome.outcome === 'duplicate') onEvent?.({ kind: 'duplicate', consumer });
            fired(outcome.fired);
            if (outcome.published) onEvent?.({ kind: 'published', publication: outcome.published });
          }),
        ];
      }
      if (role === 'coordinator' && coordinator) return [new Subscriber(bus, config.name, (message) => coordinator.handleTrigger(message))];
      if (role === 'coordinator-ready' && coordinator) {
        return [
          new Subscriber(bus, config.name, async (message) => {
            const outcome = await coordinator.handleReady(message);
            if (outcome.outcome === 'duplicate') onEvent?.({ kind: 'duplicate', consumer });
            fired(outcome.fired);
          }),
        ];
      }
      return [];
    });
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
      if (result.deadLettered > 0) this.options.onEvent?.({ kind: 'dead-lettered', subscription: subscriber.subscription, count: result.deadLettered });
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
    for (const trigger of report.fired) this.options.onEvent?.({ kind: 'fired', trigger });
    for (const publication of report.published) this.options.onEvent?.({ kind: 'published', publication });
    return report;
  }
}
