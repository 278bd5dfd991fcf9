// Data flow: a Baton message (OutgoingMessage) → the JSON body Pub/Sub push POSTs to a processor; the entry request an entry processor is started with.
import { BATON_ID_ATTRIBUTE } from '../config/conventions.ts';
import type { OutgoingMessage } from '../ports/message-bus.ts';

export { BATON_ID_ATTRIBUTE };

/** The body of one Pub/Sub push request, as Pub/Sub sends it (both spellings of the id and time fields). */
export interface PushBody {
  readonly message: {
    readonly data: string;
    readonly attributes: Readonly<Record<string, string>>;
    readonly messageId: string;
    readonly message_id: string;
    readonly publishTime: string;
    readonly publish_time: string;
  };
  readonly subscription: string;
  readonly deliveryAttempt: number;
}

/** What Pub/Sub puts around one delivery. */
export interface PushDeliveryFacts {
  readonly projectId: string;
  readonly subscription: string;
  /** Pub/Sub's own message id (digits); the Baton id travels as `baton_id`. */
  readonly pubsubMessageId: string;
  readonly publishTime: string;
  /** 1 on first delivery; Pub/Sub sets it on subscriptions with a dead-letter policy. */
  readonly deliveryAttempt: number;
}

/** The push body Pub/Sub sends for a message published by Baton (which adds `baton_id`, its deterministic id). */
export function toPushBody(message: OutgoingMessage, facts: PushDeliveryFacts): PushBody {
  return {
    message: {
      data: Buffer.from(message.data, 'utf8').toString('base64'),
      attributes: { ...message.attributes, [BATON_ID_ATTRIBUTE]: message.id },
      messageId: facts.pubsubMessageId,
      message_id: facts.pubsubMessageId,
      publishTime: facts.publishTime,
      publish_time: facts.publishTime,
    },
    subscription: `projects/${facts.projectId}/subscriptions/${facts.subscription}`,
    deliveryAttempt: facts.deliveryAttempt,
  };
}

/** The attributes a processor publishes its completion with: the envelope's `ce-*` attributes plus `baton_id` = `ce-id`. */
export function publishedAttributes(message: OutgoingMessage): Record<string, string> {
  return { ...message.attributes, [BATON_ID_ATTRIBUTE]: message.id };
}

/**
 * The request that starts an entry-phase processor (a Cloud Scheduler job or a workflow POSTs it;
 * nothing in Baton does): JSON `{ "key": …, "correlation_id"?: … }`, and optionally a W3C
 * `traceparent` header. Without a correlation id the processor starts a new run of the key.
 */
export interface EntryRequest {
  readonly key: string;
  readonly correlation_id?: string;
}
