// Data flow: component → MessageBus.publish(topic) → subscription → pull → handler → ack | nack | deadLetter → DLQ.

/**
 * A message as it travels: Pub/Sub form, with string attributes (`ce-id`, `ce-source`, …) and a
 * JSON body. The id is chosen by the publisher and is deterministic per logical message.
 */
export interface OutgoingMessage {
  /** Deterministic message id; a second publish with the same id on the same topic is absorbed. */
  readonly id: string;
  readonly attributes: Readonly<Record<string, string>>;
  /** The body, usually JSON text. */
  readonly data: string;
}

/** A message handed to a subscriber, leased until its ack deadline. */
export interface ReceivedMessage extends OutgoingMessage {
  readonly topic: string;
  readonly subscription: string;
  /** Opaque token for ack / nack / deadLetter of this delivery. */
  readonly ackId: string;
  /** 1 on first delivery; grows on every redelivery (nack or expired ack deadline). */
  readonly deliveryAttempt: number;
  /** When the message was first published (epoch ms). */
  readonly publishedAt: number;
}

/** One pull of `MessageBus.pullEach`. */
export interface PullRequest {
  readonly subscription: string;
  readonly max: number;
}

/** Delivers only messages whose attribute matches, like a Pub/Sub subscription filter. */
export type AttributeFilter = { readonly attribute: string; readonly equals: string } | { readonly attribute: string; readonly absent: true };

/** A subscription's delivery settings (from `SubscriptionSettings` in the resolved pipeline). */
export interface SubscriptionConfig {
  readonly name: string;
  readonly topic: string;
  readonly ackDeadlineMs: number;
  /** After this many delivery attempts the message goes to the dead-letter path. */
  readonly maxDeliveryAttempts: number;
  readonly minBackoffMs: number;
  readonly maxBackoffMs: number;
  /** Topic dead-lettered messages are also published to; they are always recorded either way. */
  readonly deadLetterTopic?: string;
  readonly filter?: AttributeFilter;
}

/** The outcome of a publish. */
export interface PublishResult {
  readonly id: string;
  /** True when a message with this id was already published to the topic (and so was not re-enqueued). */
  readonly duplicate: boolean;
}

/** A message that could never be processed, with why. */
export interface DeadLetter {
  readonly subscription: string;
  readonly topic: string;
  readonly message: OutgoingMessage;
  readonly reason: string;
  readonly deliveryAttempts: number;
  readonly at: number;
}

/** Attributes added to a message republished on a dead-letter topic. */
export const DEAD_LETTER_ATTRIBUTES = {
  reason: 'baton_dead_letter_reason',
  subscription: 'baton_dead_letter_subscription',
  attempts: 'baton_delivery_attempts',
} as const;

/**
 * At-least-once pub/sub with leases, the shape of Pub/Sub pull.
 *
 * Invariants every adapter keeps (checked by `test/contract/message-bus.contract.ts`):
 * - A published message is durable once `publish` resolves, and is enqueued once per subscription that
 *   existed (and whose filter matched) at publish time; a message published to a topic without
 *   subscriptions is kept for dedupe only, as in Pub/Sub.
 * - Publishing the same id to the same topic again is absorbed (`duplicate: true`), so deterministic
 *   ids make re-publishing after a crash safe.
 * - A pulled message is leased for `ackDeadlineMs`; if it is neither acked nor nacked by then it is
 *   delivered again with `deliveryAttempt + 1`. A nack redelivers after exponential backoff.
 * - A message never loops forever: once it has been delivered `maxDeliveryAttempts` times and is
 *   nacked or its lease expires, it is dead-lettered with the reason. `deadLetter` does so at once
 *   (for permanent errors). Dead letters are recorded and readable; nothing is dropped silently.
 * - Acking a stale delivery (one that was since redelivered) has no effect.
 */
export interface MessageBus {
  /** Creates the subscription if absent (idempotent); later settings changes are ignored. */
  subscribe(config: SubscriptionConfig): Promise<void>;
  /** Publishes durably; same id on the same topic is absorbed. */
  publish(topic: string, message: OutgoingMessage): Promise<PublishResult>;
  /** Leases up to `max` messages that are due on the subscription, oldest first. */
  pull(subscription: string, max: number): Promise<ReceivedMessage[]>;
  /** Done with a delivery: it is never delivered again. */
  ack(ackId: string): Promise<void>;
  /** Failed transiently: redeliver after backoff, or dead-letter if attempts are exhausted. */
  nack(ackId: string, reason: string): Promise<void>;
  /** Failed permanently: dead-letter now with the reason. */
  deadLetter(ackId: string, reason: string): Promise<void>;
  /** Dead letters recorded so far, for one subscription or all. */
  deadLetters(subscription?: string): Promise<DeadLetter[]>;
  /** Messages on the subscription not yet acked or dead-lettered (leased or waiting). */
  backlog(subscription: string): Promise<number>;
  /**
   * Optional: several pulls as one call, answered as pulling each in turn in order would be, in one
   * round trip (on SQLite one transaction, committed when it returns). A caller that pulls many
   * subscriptions at once (the run loop's simulated processors) uses it when the bus has it.
   */
  pullEach?(requests: readonly PullRequest[]): Promise<ReceivedMessage[][]>;
  /**
   * Optional: true when a pull of the subscription now would surely come back empty, known without
   * asking the backend (the run loop's `WatchedMessageBus`). A caller that pulls many subscriptions in
   * turn skips those; a bus without it is simply pulled.
   */
  idle?(subscription: string): boolean;
}

/** A subscription filter in Pub/Sub's filter syntax (what the Pub/Sub admin API and the generated manifests take). */
export function filterExpression(filter: AttributeFilter | undefined): string | undefined {
  if (filter === undefined) return undefined;
  return 'equals' in filter ? `attributes.${filter.attribute} = ${JSON.stringify(filter.equals)}` : `NOT attributes:${filter.attribute}`;
}

/** Whether a subscription's filter lets a message through (no filter: everything). */
export function matchesFilter(filter: AttributeFilter | undefined, attributes: Readonly<Record<string, string>>): boolean {
  if (filter === undefined) return true;
  return 'equals' in filter ? attributes[filter.attribute] === filter.equals : attributes[filter.attribute] === undefined;
}

/** Delay before redelivering a nacked message: exponential from `minBackoffMs`, capped, as Pub/Sub does. */
export function retryBackoffMs(config: Pick<SubscriptionConfig, 'minBackoffMs' | 'maxBackoffMs'>, deliveryAttempt: number): number {
  return Math.min(config.maxBackoffMs, config.minBackoffMs * 2 ** Math.max(0, deliveryAttempt - 1));
}
