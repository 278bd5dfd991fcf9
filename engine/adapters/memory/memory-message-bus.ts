import type { Clock } from '../../ports/clock.ts';
import {
  DEAD_LETTER_ATTRIBUTES,
  matchesFilter,
  retryBackoffMs,
  type DeadLetter,
  type MessageBus,
  type OutgoingMessage,
  type PublishResult,
  type ReceivedMessage,
  type SubscriptionConfig,
} from '../../ports/message-bus.ts';

interface Delivery {
  readonly message: OutgoingMessage;
  readonly topic: string;
  readonly publishedAt: number;
  readonly seq: number;
  attempts: number;
  visibleAt: number;
  lastError: string | undefined;
}

interface Subscription {
  readonly config: SubscriptionConfig;
  readonly deliveries: Map<string, Delivery>;
}

/** In-process `MessageBus` for unit tests: the full lease / redelivery / dead-letter semantics, no durability. */
export class MemoryMessageBus implements MessageBus {
  private readonly published = new Map<string, Set<string>>();
  private readonly subscriptions = new Map<string, Subscription>();
  private readonly dead: DeadLetter[] = [];
  private seq = 0;

  constructor(private readonly clock: Clock) {}

  subscribe(config: SubscriptionConfig): Promise<void> {
    if (!this.subscriptions.has(config.name)) this.subscriptions.set(config.name, { config, deliveries: new Map() });
    return Promise.resolve();
  }

  publish(topic: string, message: OutgoingMessage): Promise<PublishResult> {
    return Promise.resolve(this.publishNow(topic, message));
  }

  pull(subscription: string, max: number): Promise<ReceivedMessage[]> {
    const sub = this.subscription(subscription);
    const now = this.clock.now();
    const due = [...sub.deliveries.values()].filter((d) => d.visibleAt <= now).sort((a, b) => a.visibleAt - b.visibleAt || a.seq - b.seq);
    const received: ReceivedMessage[] = [];
    for (const delivery of due) {
      if (received.length >= max) break;
      if (delivery.attempts >= sub.config.maxDeliveryAttempts) {
        const last = delivery.lastError === undefined ? 'ack deadline expired' : `last error: ${delivery.lastError}`;
        this.bury(sub, delivery, `gave up after ${delivery.attempts} delivery attempts (${last})`);
        continue;
      }
      delivery.attempts++;
      delivery.visibleAt = now + sub.config.ackDeadlineMs;
      received.push({
        ...delivery.message,
        topic: delivery.topic,
        subscription,
        ackId: JSON.stringify([subscription, delivery.message.id, delivery.attempts]),
        deliveryAttempt: delivery.attempts,
        publishedAt: delivery.publishedAt,
      });
    }
    return Promise.resolve(received);
  }

  ack(ackId: string): Promise<void> {
    const found = this.lease(ackId);
    if (found) found.sub.deliveries.delete(found.delivery.message.id);
    return Promise.resolve();
  }

  nack(ackId: string, reason: string): Promise<void> {
    const found = this.lease(ackId);
    if (found) {
      const { sub, delivery } = found;
      delivery.lastError = reason;
      if (delivery.attempts >= sub.config.maxDeliveryAttempts) this.bury(sub, delivery, `gave up after ${delivery.attempts} delivery attempts: ${reason}`);
      else delivery.visibleAt = this.clock.now() + retryBackoffMs(sub.config, delivery.attempts);
    }
    return Promise.resolve();
  }

  deadLetter(ackId: string, reason: string): Promise<void> {
    const found = this.lease(ackId);
    if (found) this.bury(found.sub, found.delivery, reason);
    return Promise.resolve();
  }

  deadLetters(subscription?: string): Promise<DeadLetter[]> {
    return Promise.resolve(this.dead.filter((d) => subscription === undefined || d.subscription === subscription));
  }

  backlog(subscription: string): Promise<number> {
    return Promise.resolve(this.subscription(subscription).deliveries.size);
  }

  private publishNow(topic: string, message: OutgoingMessage): PublishResult {
    const ids = this.published.get(topic) ?? new Set<string>();
    this.published.set(topic, ids);
    if (ids.has(message.id)) return { id: message.id, duplicate: true };
    ids.add(message.id);
    const now = this.clock.now();
    for (const sub of this.subscriptions.values()) {
      if (sub.config.topic !== topic || !matchesFilter(sub.config.filter, message.attributes)) continue;
      sub.deliveries.set(message.id, { message, topic, publishedAt: now, seq: this.seq++, attempts: 0, visibleAt: now, lastError: undefined });
    }
    return { id: message.id, duplicate: false };
  }

  private bury(sub: Subscription, delivery: Delivery, reason: string): void {
    sub.deliveries.delete(delivery.message.id);
    const at = this.clock.now();
    this.dead.push({ subscription: sub.config.name, topic: delivery.topic, message: delivery.message, reason, deliveryAttempts: delivery.attempts, at });
    const dlq = sub.config.deadLetterTopic;
    if (dlq !== undefined) {
      this.publishNow(dlq, {
        id: `dlq:${sub.config.name}:${delivery.message.id}`,
        attributes: {
          ...delivery.message.attributes,
          [DEAD_LETTER_ATTRIBUTES.reason]: reason,
          [DEAD_LETTER_ATTRIBUTES.subscription]: sub.config.name,
          [DEAD_LETTER_ATTRIBUTES.attempts]: String(delivery.attempts),
        },
        data: delivery.message.data,
      });
    }
  }

  /** The delivery an ack id names, if that exact delivery attempt is still the current one. */
  private lease(ackId: string): { sub: Subscription; delivery: Delivery } | undefined {
    const [subscription, id, attempt] = JSON.parse(ackId) as [string, string, number];
    const sub = this.subscriptions.get(subscription);
    const delivery = sub?.deliveries.get(id);
    return sub && delivery && delivery.attempts === attempt ? { sub, delivery } : undefined;
  }

  private subscription(name: string): Subscription {
    const sub = this.subscriptions.get(name);
    if (sub === undefined) throw new Error(`no subscription named ${name}`);
    return sub;
  }
}
