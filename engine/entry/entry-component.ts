// Data flow: BATON_BARRIER / BATON_COORDINATOR → createEntryComponent → CompletionBarrier | Coordinator behind one delivery/tick interface.
import type { ResolvedPipeline } from '../config/resolved-pipeline.ts';
import { subscriptionName } from '../graph/pipeline-graph.ts';
import type { Clock } from '../ports/clock.ts';
import type { MessageBus } from '../ports/message-bus.ts';
import type { StateStore, TriggerRecord } from '../ports/state-store.ts';
import { CompletionBarrier } from '../runtime/completion-barrier.ts';
import { Coordinator, type EntityListProvider } from '../runtime/coordinator.ts';
import { ENVELOPE_TYPES } from '../runtime/envelope.ts';
import type { TickReport, TriggerPublication } from '../runtime/tick-report.ts';
import type { PushDelivery } from './parse-push-delivery.ts';

/** Which runtime component a deployment runs. */
export interface ComponentTarget {
  readonly kind: 'barrier' | 'coordinator';
  readonly name: string;
}

/** What handling one delivery did, for the response and the log line. */
export interface DeliveryOutcome {
  /** The runtime's outcome (`recorded`, `duplicate`, `ignored`, `opened`, `existing`, `outdated`, `stale`). */
  readonly outcome: string;
  /** Why the delivery changed nothing, when the runtime says (an `outdated` coordinator trigger). */
  readonly reason?: string | undefined;
  /** The trigger this delivery decided, if any. */
  readonly fired: TriggerRecord | undefined;
  /** Work messages put on the bus (coordinator triggers only). */
  readonly published?: number;
  /** The trigger this delivery put on the bus and why — decided now or recovered (#16.10); barriers only. */
  readonly publication?: TriggerPublication | undefined;
}

/** One barrier or coordinator as the entry points drive it. */
export interface EntryComponent extends ComponentTarget {
  /** The topic a delivery came from: where it is dead-lettered from. */
  topicOf(delivery: PushDelivery): string;
  handle(delivery: PushDelivery): Promise<DeliveryOutcome>;
  /**
   * Fires due deadline tiers (barrier) or stalled batches (coordinator); re-publishes undelivered
   * triggers. Each key on its own: failures are in the report; throws only when nothing could be listed.
   */
  tick(): Promise<TickReport>;
}

/** What a component needs. */
export interface EntryComponentOptions {
  readonly pipeline: ResolvedPipeline;
  readonly pipelineHash: string;
  readonly store: StateStore;
  readonly bus: MessageBus;
  readonly clock: Clock;
  /** Full entity list of a coordinator (for non-incremental triggers). */
  readonly fullList: EntityListProvider;
}

/** A target the pipeline does not declare: the deployment is misconfigured. */
export class UnknownComponentError extends Error {
  readonly code = 'entry/unknown-component';
  readonly retryable = false;
}

/** Builds the runtime component a deployment serves, from the pipeline. */
export function createEntryComponent(target: ComponentTarget, options: EntryComponentOptions): EntryComponent {
  const { pipeline, pipelineHash, store, bus, clock } = options;
  if (target.kind === 'barrier') {
    const barrier = pipeline.barriers.find((b) => b.name === target.name);
    if (barrier === undefined) throw new UnknownComponentError(`pipeline ${pipeline.name} has no barrier "${target.name}" (have: ${names(pipeline.barriers)})`);
    const runtime = new CompletionBarrier({ barrier, pipeline, pipelineHash, store, bus, clock });
    return {
      ...target,
      topicOf: () => barrier.listens.name,
      handle: async (delivery) => {
        const handled = await runtime.handle(delivery.message);
        return { outcome: handled.outcome, fired: handled.fired, publication: handled.published };
      },
      tick: () => runtime.tick(),
    };
  }
  const coordinator = pipeline.coordinators.find((c) => c.name === target.name);
  if (coordinator === undefined) {
    throw new UnknownComponentError(`pipeline ${pipeline.name} has no coordinator "${target.name}" (have: ${names(pipeline.coordinators)})`);
  }
  const runtime = new Coordinator({ coordinator, pipeline, pipelineHash, store, bus, clock, fullList: options.fullList });
  const readySubscription = subscriptionName(coordinator.name, coordinator.readyTopic.name);
  const triggerSubscription = subscriptionName(coordinator.name, coordinator.listens.name);
  // Both push subscriptions post to the one service URL: the subscription name says which input this
  // is; without it the envelope type does (a trigger starts a batch, a completion is a worker's report).
  const isReady = (delivery: PushDelivery): boolean =>
    delivery.subscription === readySubscription ||
    (delivery.subscription !== triggerSubscription && delivery.message.attributes['ce-type'] === ENVELOPE_TYPES.completion);
  return {
    ...target,
    topicOf: (delivery) => (isReady(delivery) ? coordinator.readyTopic.name : coordinator.listens.name),
    handle: async (delivery) => {
      if (isReady(delivery)) return runtime.handleReady(delivery.message);
      const opened = await runtime.handleTrigger(delivery.message);
      return { outcome: opened.outcome, reason: opened.reason, fired: undefined, published: opened.published };
    },
    tick: () => runtime.tick(),
  };
}

function names(items: readonly { readonly name: string }[]): string {
  return items.map((i) => i.name).join(', ') || 'none';
}
