// Data flow: Pub/Sub push body or CloudEvent data → parsePushDelivery → PushDelivery (Baton message + delivery facts) → BatonHandler.
import { BATON_ID_ATTRIBUTE } from '../config/conventions.ts';
import type { OutgoingMessage } from '../ports/message-bus.ts';

/** One Pub/Sub delivery, with the Baton message rebuilt from it. */
export interface PushDelivery {
  /** The Baton message: id from `baton_id` (else `ce-id`, else Pub/Sub's id), attributes without `baton_id`, decoded data. */
  readonly message: OutgoingMessage;
  /** Short subscription name (the last path segment), when Pub/Sub said which. */
  readonly subscription: string | undefined;
  /** Pub/Sub's count; present only on subscriptions with a dead-letter policy. */
  readonly deliveryAttempt: number | undefined;
  /** Pub/Sub's own message id, for the logs. */
  readonly pubsubMessageId: string | undefined;
  readonly publishTime: string | undefined;
}

/** The request is not a Pub/Sub delivery at all (so there is no message to dead-letter): answer 400. */
export class InvalidPushBodyError extends Error {
  readonly code = 'entry/invalid-push-body';
  readonly retryable = false;
}

/**
 * Reads a push request body `{ message: { data, attributes, messageId, publishTime }, subscription,
 * deliveryAttempt }` — also the `data` of a Pub/Sub CloudEvent, which has the same shape. Only the
 * wrapper is checked here; whether the message is a valid envelope is the runtime's call, so a bad
 * envelope is dead-lettered with its reason rather than bounced.
 */
export function parsePushDelivery(body: unknown): PushDelivery {
  const wrapper = objectOr(body, 'the push body');
  const raw = objectOr(wrapper.message, 'message');
  const attributesIn = raw.attributes === undefined || raw.attributes === null ? {} : objectOr(raw.attributes, 'message.attributes');
  const attributes: Record<string, string> = {};
  for (const [name, value] of Object.entries(attributesIn)) {
    if (typeof value !== 'string') throw new InvalidPushBodyError(`message.attributes.${name} is not a string`);
    if (name !== BATON_ID_ATTRIBUTE) attributes[name] = value;
  }
  if (raw.data !== undefined && raw.data !== null && typeof raw.data !== 'string') throw new InvalidPushBodyError('message.data is not base64 text');
  const pubsubMessageId = stringOr(raw.messageId ?? raw.message_id, 'message.messageId');
  const batonId = attributesIn[BATON_ID_ATTRIBUTE];
  const id = (typeof batonId === 'string' && batonId) || attributes['ce-id'] || pubsubMessageId;
  if (!id) throw new InvalidPushBodyError('the message has no id (no baton_id or ce-id attribute and no messageId)');
  const data = Buffer.from(raw.data ?? '', 'base64').toString('utf8');
  const subscription = stringOr(wrapper.subscription, 'subscription');
  return {
    message: { id, attributes, data },
    subscription: subscription?.slice(subscription.lastIndexOf('/') + 1),
    deliveryAttempt: attemptOf(wrapper.deliveryAttempt),
    pubsubMessageId,
    publishTime: stringOr(raw.publishTime ?? raw.publish_time, 'message.publishTime'),
  };
}

function objectOr(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new InvalidPushBodyError(`${what} is not a JSON object`);
  return value as Record<string, unknown>;
}

function stringOr(value: unknown, what: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new InvalidPushBodyError(`${what} is not a string`);
  return value;
}

function attemptOf(value: unknown): number | undefined {
  const attempt = typeof value === 'string' ? Number(value) : value;
  return typeof attempt === 'number' && Number.isInteger(attempt) && attempt > 0 ? attempt : undefined;
}
