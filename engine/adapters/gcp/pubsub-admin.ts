// Data flow: SubscriptionConfig → Pub/Sub admin API (topics, subscriptions with ack deadline, retry, dead-letter, filter).
import type { CreateSubscriptionOptions, PubSub } from '@google-cloud/pubsub';
import { filterExpression, type SubscriptionConfig } from '../../ports/message-bus.ts';
import { statusOf } from './firestore-docs.ts';

const ALREADY_EXISTS = 6;

/** Pub/Sub's bounds; the bus enforces the port's exact values itself where these are coarser. */
const ACK_DEADLINE_S = { min: 10, max: 600 };
const BACKOFF_S = { min: 0, max: 600 };
const DELIVERY_ATTEMPTS = { min: 5, max: 100 };

// The filter's syntax lives beside the port's own filter semantics, so the generated manifests render the same text.
export { filterExpression };

/**
 * Subscription options for Pub/Sub from the port's settings, clamped to what Pub/Sub accepts: the
 * ack deadline to 10–600 s, backoff to 0–600 s, and max delivery attempts to 5–100 (the bus itself
 * dead-letters at the configured attempt, so a lower value still holds).
 */
export function subscriptionOptions(projectId: string, config: SubscriptionConfig): CreateSubscriptionOptions {
  const seconds = (ms: number, bounds: { min: number; max: number }) => Math.min(bounds.max, Math.max(bounds.min, Math.ceil(ms / 1000)));
  const filter = filterExpression(config.filter);
  return {
    ackDeadlineSeconds: seconds(config.ackDeadlineMs, ACK_DEADLINE_S),
    retryPolicy: {
      minimumBackoff: { seconds: seconds(config.minBackoffMs, BACKOFF_S) },
      maximumBackoff: { seconds: seconds(config.maxBackoffMs, BACKOFF_S) },
    },
    ...(config.deadLetterTopic === undefined
      ? {}
      : {
          deadLetterPolicy: {
            deadLetterTopic: `projects/${projectId}/topics/${config.deadLetterTopic}`,
            maxDeliveryAttempts: Math.min(DELIVERY_ATTEMPTS.max, Math.max(DELIVERY_ATTEMPTS.min, config.maxDeliveryAttempts)),
          },
        }),
    ...(filter === undefined ? {} : { filter }),
  };
}

/** Creates a topic unless it exists. */
export async function ensureTopic(pubsub: PubSub, name: string): Promise<'created' | 'exists'> {
  try {
    await pubsub.createTopic(name);
    return 'created';
  } catch (error) {
    if (statusOf(error) === ALREADY_EXISTS) return 'exists';
    throw error;
  }
}

/**
 * Creates a subscription (and its topic and dead-letter topic) unless it exists. An existing
 * subscription keeps its settings, as the port says; `baton provision` reports which were created.
 */
export async function ensureSubscription(pubsub: PubSub, projectId: string, config: SubscriptionConfig): Promise<'created' | 'exists'> {
  await ensureTopic(pubsub, config.topic);
  if (config.deadLetterTopic !== undefined) await ensureTopic(pubsub, config.deadLetterTopic);
  try {
    await pubsub.createSubscription(config.topic, config.name, subscriptionOptions(projectId, config));
    return 'created';
  } catch (error) {
    if (statusOf(error) === ALREADY_EXISTS) return 'exists';
    throw error;
  }
}
