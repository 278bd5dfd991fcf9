import type { ResolvedPipeline, SubscriptionSettings } from '../config/resolved-pipeline.ts';
import type { SubscriptionConfig } from '../ports/message-bus.ts';
import { subscriptionName, TARGET_ATTRIBUTE } from './pipeline-graph.ts';

/** Which messages of a topic a subscription receives, as an attribute filter (Pub/Sub filter semantics). */
export type SubscriptionFilter = { readonly attribute: string; readonly equals: string } | { readonly attribute: string; readonly absent: true };

/** One subscription Baton creates: who consumes which topic, with which settings. */
export interface PlannedSubscription {
  readonly name: string;
  readonly topic: string;
  readonly consumer: string;
  /** `processor`: a user service; `barrier`; `coordinator` trigger input; `coordinator-ready`: its workers' reports. */
  readonly role: 'processor' | 'barrier' | 'coordinator' | 'coordinator-ready';
  readonly filter: SubscriptionFilter | undefined;
  readonly settings: SubscriptionSettings;
  /** The topic's dead-letter topic, unless disabled. */
  readonly deadLetterTopic: string | undefined;
}

/**
 * Every subscription of a pipeline, in a stable order. The runtime, the embedded run, provisioning and
 * the generated manifests all take their subscriptions from here, so they cannot disagree (#6, #18).
 * Assumes a valid pipeline (every referenced topic declared).
 */
export function planSubscriptions(pipeline: ResolvedPipeline): readonly PlannedSubscription[] {
  // A resolved pipeline never changes, so its plan is computed once (callers ask per processor).
  const known = plans.get(pipeline);
  if (known !== undefined) return known;
  const planned = Object.freeze(computePlan(pipeline));
  plans.set(pipeline, planned);
  return planned;
}

const plans = new WeakMap<ResolvedPipeline, readonly PlannedSubscription[]>();

function computePlan(pipeline: ResolvedPipeline): PlannedSubscription[] {
  const topics = new Map(pipeline.topics.map((t) => [t.name, t]));
  const deadLetter = (topic: string): string | undefined => {
    const declared = topics.get(topic);
    return declared?.deadLetter.enabled ? declared.deadLetter.topic : undefined;
  };
  const plan = (
    consumer: string,
    topic: string,
    role: PlannedSubscription['role'],
    settings: SubscriptionSettings,
    filter?: SubscriptionFilter,
  ): PlannedSubscription => ({
    name: subscriptionName(consumer, topic),
    topic,
    consumer,
    role,
    filter,
    settings,
    deadLetterTopic: deadLetter(topic),
  });
  const defaults = pipeline.subscriptionDefaults;
  return [
    ...pipeline.processors.flatMap((p) =>
      p.triggeredBy === undefined
        ? []
        : [
            plan(
              p.name,
              p.triggeredBy.name,
              'processor',
              p.subscription,
              p.dependencyBarrier === undefined ? { attribute: TARGET_ATTRIBUTE, absent: true } : { attribute: TARGET_ATTRIBUTE, equals: p.name },
            ),
          ],
    ),
    ...pipeline.barriers.map((b) => plan(b.name, b.listens.name, 'barrier', defaults)),
    ...pipeline.coordinators.flatMap((c) => [
      plan(c.name, c.listens.name, 'coordinator', defaults),
      plan(c.name, c.readyTopic.name, 'coordinator-ready', defaults),
    ]),
  ];
}

/** The bus-level settings of a planned subscription (seconds become milliseconds). */
export function toSubscriptionConfig(planned: PlannedSubscription): SubscriptionConfig {
  const { settings } = planned;
  return {
    name: planned.name,
    topic: planned.topic,
    ackDeadlineMs: settings.ackDeadlineSeconds * 1000,
    maxDeliveryAttempts: settings.deadLetterAfterAttempts,
    minBackoffMs: settings.minBackoffSeconds * 1000,
    maxBackoffMs: settings.maxBackoffSeconds * 1000,
    ...(planned.deadLetterTopic === undefined ? {} : { deadLetterTopic: planned.deadLetterTopic }),
    ...(planned.filter === undefined ? {} : { filter: planned.filter }),
  };
}
