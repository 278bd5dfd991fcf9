// Data flow: publish → bus_published/ (create = dedupe) → Pub/Sub topic → subscription → pull → handler → ack (bus_settled/) | nack | deadLetter → DLQ topic + bus_dead_letters/.
import { FieldValue, type DocumentReference, type Firestore, type Timestamp } from '@google-cloud/firestore';
import { v1, type PubSub, type Topic } from '@google-cloud/pubsub';
import { BATON_ID_ATTRIBUTE } from '../../config/conventions.ts';
import type { Clock } from '../../ports/clock.ts';
import {
  DEAD_LETTER_ATTRIBUTES,
  matchesFilter,
  type DeadLetter,
  type MessageBus,
  type OutgoingMessage,
  type PublishResult,
  type ReceivedMessage,
  type SubscriptionConfig,
} from '../../ports/message-bus.ts';
import type { MessageHistory, PublishedMessage } from '../../ports/message-history.ts';
import { collections, createOnce, docId, expiryFrom, recordOf, type Collections } from './firestore-docs.ts';
import { ensureSubscription, ensureTopic } from './pubsub-admin.ts';

/** Attribute carrying Baton's deterministic message id (see conventions.ts). */
export { BATON_ID_ATTRIBUTE };

/** How long a claimed-but-unsent publish may stay unsent before another publisher takes it over. */
const CLAIM_STALE_MS = 10_000;

/** What the bus needs. */
export interface PubSubMessageBusOptions {
  readonly pubsub: PubSub;
  readonly projectId: string;
  /** Holds the dedupe, settlement and dead-letter records (Pub/Sub keeps none of them). */
  readonly firestore: Firestore;
  readonly clock: Clock;
  /** Collection name prefix (default `baton_`). */
  readonly prefix?: string;
  /**
   * The topics were created by the deployment (Terraform, deploy.sh, `baton provision`): publish
   * never tries to create one. A deployed component holds only `roles/pubsub.publisher` on its
   * topics, which does not include `pubsub.topics.create`, so creating first would be denied.
   */
  readonly provisioned?: boolean;
}

/** What an opaque ack id stands for: enough to settle a delivery from any process. */
interface AckToken {
  readonly s: string;
  readonly i: string;
  readonly a: number;
  readonly p: string;
}

/**
 * MessageBus over Pub/Sub (emulator or real), with synchronous pull so it has the port's
 * pull / ack / nack shape. How each port invariant holds:
 *
 * - **Durable publish, deduped by id.** Pub/Sub assigns its own ids, so the deterministic id travels
 *   as attribute `baton_id` and a `bus_published/{topic~id}` document is `create()`d before the
 *   publish and marked `sent` after it. A second publish of a sent id is absorbed (`duplicate: true`);
 *   one whose first publisher died before `sent` is published again — at least once, never lost.
 * - **Consumers dedupe by id.** An ack first `create()`s `bus_settled/{subscription~id}`; a later
 *   delivery of a settled id (a re-publish after a crash, or a redelivery racing the ack) is acked
 *   and never handed out again.
 * - **Leases and backoff are Pub/Sub's, in real time.** `ackDeadlineMs`, the retry policy and the
 *   dead-letter policy are set on the subscription (clamped to Pub/Sub's bounds); a nack is
 *   `modifyAckDeadline(0)`, so the retry policy's backoff applies. The test clock cannot steer them.
 * - **Never loops forever; dead letters carry their reason.** At `maxDeliveryAttempts` the bus
 *   itself dead-letters a nacked delivery (publishes it to the dead-letter topic with
 *   `baton_dead_letter_reason`, records it in `bus_dead_letters/`, acks it). A delivery whose lease
 *   keeps expiring (its consumer died) is forwarded by Pub/Sub's own dead-letter policy, without a
 *   Baton reason and without a `bus_dead_letters/` record.
 * - **deliveryAttempt** is Pub/Sub's (emulator included), which it sets only on subscriptions with a
 *   dead-letter policy; without one the bus counts deliveries it saw in this process.
 * - **Filters** are set on the subscription and also applied on pull, because the emulator ignores
 *   them; a non-matching message is acked, as Pub/Sub would never have delivered it.
 * - **Order** is oldest-first within one pull only; Pub/Sub does not order across pulls.
 * - **Stale acks** are ignored when this process saw the newer delivery; across processes Pub/Sub's
 *   own rule applies. `backlog` counts published-after-subscribe, filter-matching ids not yet settled.
 */
export class PubSubMessageBus implements MessageBus, MessageHistory {
  private readonly c: Collections;
  private readonly topics = new Map<string, Topic>();
  private readonly ensuredTopics = new Map<string, Promise<unknown>>();
  private readonly configs = new Map<string, SubscriptionConfig>();
  private readonly leases = new Map<string, ReceivedMessage>();
  private readonly latestAttempt = new Map<string, number>();
  private client: Promise<v1.SubscriberClient> | undefined;

  constructor(private readonly options: PubSubMessageBusOptions) {
    this.c = collections(options.firestore, options.prefix ?? 'baton_');
  }

  async subscribe(config: SubscriptionConfig): Promise<void> {
    await ensureSubscription(this.options.pubsub, this.options.projectId, config);
    this.ensuredTopics.set(config.topic, Promise.resolve());
    const record = { name: config.name, topic: config.topic, at: FieldValue.serverTimestamp(), json: JSON.stringify(config) };
    await createOnce(this.c.busSubscriptions.doc(docId(config.name)), record, expiryFrom(this.options.clock.now()));
    this.configs.set(config.name, config);
  }

  async publish(topic: string, message: OutgoingMessage): Promise<PublishResult> {
    const ref = this.c.busPublished.doc(docId(topic, message.id));
    // The record doubles as the bus's history (MessageHistory): `baton trace` reads it back by key or correlation id.
    const created = await createOnce(
      ref,
      {
        topic,
        id: message.id,
        sent: false,
        attributes: message.attributes,
        data: message.data,
        subject: message.attributes['ce-subject'] ?? null,
        correlationId: message.attributes['ce-correlationid'] ?? null,
        publishedAt: this.options.clock.now(),
        at: FieldValue.serverTimestamp(),
      },
      expiryFrom(this.options.clock.now()),
    );
    if (!created && (await this.sentByAnother(ref))) return { id: message.id, duplicate: true };
    try {
      if (this.options.provisioned !== true) await this.ensureTopic(topic);
      await this.topic(topic).publishMessage({ data: Buffer.from(message.data), attributes: { ...message.attributes, [BATON_ID_ATTRIBUTE]: message.id } });
    } catch (error) {
      // Release the claim so a retry publishes at once instead of waiting for it to go stale.
      if (created) await ref.delete().catch(() => undefined);
      throw error;
    }
    await ref.update({ sent: true });
    return { id: message.id, duplicate: false };
  }

  /**
   * Another publisher claimed this id: wait until it reports the message sent (usually milliseconds).
   * A claim that stays unsent past `CLAIM_STALE_MS` belongs to a publisher that died between claiming
   * and sending; this caller then sends it (at least once: consumers dedupe by id).
   */
  private async sentByAnother(ref: DocumentReference): Promise<boolean> {
    for (;;) {
      const doc = await ref.get();
      if (!doc.exists) return false;
      if (doc.get('sent') === true) return true;
      const claimedAt = doc.createTime?.toMillis() ?? 0;
      if (doc.readTime.toMillis() - claimedAt > CLAIM_STALE_MS) return false;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  async messagesOf(keyOrCorrelationId: string): Promise<PublishedMessage[]> {
    const [bySubject, byCorrelation] = await Promise.all([
      this.c.busPublished.where('subject', '==', keyOrCorrelationId).get(),
      this.c.busPublished.where('correlationId', '==', keyOrCorrelationId).get(),
    ]);
    const seen = new Map<string, PublishedMessage>();
    for (const doc of [...bySubject.docs, ...byCorrelation.docs]) {
      if (doc.get('sent') !== true || seen.has(doc.id)) continue;
      seen.set(doc.id, {
        topic: String(doc.get('topic')),
        id: String(doc.get('id')),
        attributes: doc.get('attributes') as Record<string, string>,
        data: String(doc.get('data') ?? '{}'),
        publishedAt: Number(doc.get('publishedAt') ?? 0),
      });
    }
    return [...seen.values()].sort((a, b) => a.publishedAt - b.publishedAt || a.id.localeCompare(b.id));
  }

  async pull(subscription: string, max: number): Promise<ReceivedMessage[]> {
    const config = await this.config(subscription);
    const client = await this.subscriber();
    const path = this.subscriptionPath(subscription);
    const [response] = await client.pull({ subscription: path, maxMessages: max, returnImmediately: true });
    const received = response.receivedMessages ?? [];
    if (received.length === 0) return [];
    const ids = received.map((r) => r.message?.attributes?.[BATON_ID_ATTRIBUTE] ?? r.message?.messageId ?? '');
    const settled = await this.options.firestore.getAll(...ids.map((id) => this.c.busSettled.doc(docId(subscription, id))));
    const skip: string[] = [];
    const out: ReceivedMessage[] = [];
    received.forEach((r, index) => {
      const id = ids[index] ?? '';
      const { [BATON_ID_ATTRIBUTE]: _id, ...attributes } = r.message?.attributes ?? {};
      if (settled[index]?.exists || !matchesFilter(config.filter, attributes)) {
        skip.push(r.ackId ?? '');
        return;
      }
      const attemptKey = `${subscription}\u0000${id}`;
      const attempt = r.deliveryAttempt ? r.deliveryAttempt : (this.latestAttempt.get(attemptKey) ?? 0) + 1;
      this.latestAttempt.set(attemptKey, Math.max(attempt, this.latestAttempt.get(attemptKey) ?? 0));
      const token: AckToken = { s: subscription, i: id, a: attempt, p: r.ackId ?? '' };
      const ackId = Buffer.from(JSON.stringify(token)).toString('base64url');
      const publishTime = r.message?.publishTime;
      const message: ReceivedMessage = {
        id,
        attributes,
        data: Buffer.from(r.message?.data ?? '').toString('utf8'),
        topic: config.topic,
        subscription,
        ackId,
        deliveryAttempt: attempt,
        publishedAt: publishTime ? Number(publishTime.seconds ?? 0) * 1000 + Math.floor((publishTime.nanos ?? 0) / 1e6) : this.options.clock.now(),
      };
      this.leases.set(ackId, message);
      out.push(message);
    });
    if (skip.length > 0) await client.acknowledge({ subscription: path, ackIds: skip });
    return out.sort((a, b) => a.publishedAt - b.publishedAt);
  }

  async ack(ackId: string): Promise<void> {
    const token = decode(ackId);
    this.leases.delete(ackId);
    if (this.isStale(token)) return;
    await this.settle(token);
  }

  async nack(ackId: string, reason: string): Promise<void> {
    const token = decode(ackId);
    if (this.isStale(token)) return;
    const config = await this.config(token.s);
    if (token.a >= config.maxDeliveryAttempts) return this.deadLetter(ackId, reason);
    this.leases.delete(ackId);
    const client = await this.subscriber();
    // Deadline 0 = nack; the subscription's retry policy spaces the redelivery.
    await client.modifyAckDeadline({ subscription: this.subscriptionPath(token.s), ackIds: [token.p], ackDeadlineSeconds: 0 });
  }

  async deadLetter(ackId: string, reason: string): Promise<void> {
    const token = decode(ackId);
    const message = this.leases.get(ackId);
    if (message === undefined) throw new Error(`cannot dead-letter delivery of ${token.i} on ${token.s}: it was not pulled by this process`);
    const config = await this.config(token.s);
    const outgoing: OutgoingMessage = { id: message.id, attributes: message.attributes, data: message.data };
    const record: DeadLetter = {
      subscription: token.s,
      topic: config.topic,
      message: outgoing,
      reason,
      deliveryAttempts: token.a,
      at: this.options.clock.now(),
    };
    await createOnce(
      this.c.busDeadLetters.doc(docId(token.s, token.i)),
      {
        subscription: token.s,
        publishedAt: message.publishedAt,
        json: JSON.stringify(record),
      },
      expiryFrom(record.at),
    );
    if (config.deadLetterTopic !== undefined) {
      const attributes = {
        ...outgoing.attributes,
        [DEAD_LETTER_ATTRIBUTES.reason]: reason,
        [DEAD_LETTER_ATTRIBUTES.subscription]: token.s,
        [DEAD_LETTER_ATTRIBUTES.attempts]: String(token.a),
      };
      await this.publish(config.deadLetterTopic, { ...outgoing, attributes });
    }
    this.leases.delete(ackId);
    await this.settle(token);
  }

  async deadLetters(subscription?: string): Promise<DeadLetter[]> {
    const query = subscription === undefined ? this.c.busDeadLetters : this.c.busDeadLetters.where('subscription', '==', subscription);
    // Oldest message first, as the other adapters list them; dead-lettering itself may run concurrently.
    const docs = (await query.get()).docs.sort(
      (a, b) => Number(a.get('publishedAt')) - Number(b.get('publishedAt')) || a.createTime.valueOf().localeCompare(b.createTime.valueOf()),
    );
    return docs.map((d) => recordOf<DeadLetter>(d.data()));
  }

  async backlog(subscription: string): Promise<number> {
    const config = await this.config(subscription);
    const since = (await this.c.busSubscriptions.doc(docId(subscription)).get()).get('at') as Timestamp | undefined;
    let query = this.c.busPublished.where('topic', '==', config.topic);
    if (since !== undefined) query = query.where('at', '>=', since);
    const [published, settled] = await Promise.all([query.get(), this.c.busSettled.where('subscription', '==', subscription).select().get()]);
    const done = new Set(settled.docs.map((d) => d.id));
    return published.docs.filter(
      (d) => matchesFilter(config.filter, (d.get('attributes') ?? {}) as Record<string, string>) && !done.has(docId(subscription, String(d.get('id')))),
    ).length;
  }

  /** Closes the Pub/Sub clients (the Firestore client belongs to the caller). */
  async close(): Promise<void> {
    if (this.client !== undefined) await (await this.client).close();
  }

  private async settle(token: AckToken): Promise<void> {
    // Record first: if the process dies before the Pub/Sub ack, the redelivery is recognised as settled.
    await createOnce(
      this.c.busSettled.doc(docId(token.s, token.i)),
      { subscription: token.s, at: this.options.clock.now() },
      expiryFrom(this.options.clock.now()),
    );
    const client = await this.subscriber();
    await client.acknowledge({ subscription: this.subscriptionPath(token.s), ackIds: [token.p] });
  }

  private isStale(token: AckToken): boolean {
    return (this.latestAttempt.get(`${token.s}\u0000${token.i}`) ?? token.a) > token.a;
  }

  private async config(subscription: string): Promise<SubscriptionConfig> {
    const cached = this.configs.get(subscription);
    if (cached !== undefined) return cached;
    const doc = await this.c.busSubscriptions.doc(docId(subscription)).get();
    if (!doc.exists) throw new Error(`unknown subscription ${subscription}: subscribe (or baton provision) first`);
    const config = recordOf<SubscriptionConfig>(doc.data());
    this.configs.set(subscription, config);
    return config;
  }

  private ensureTopic(name: string): Promise<unknown> {
    let ensured = this.ensuredTopics.get(name);
    if (ensured === undefined) {
      ensured = ensureTopic(this.options.pubsub, name);
      // A failed creation is retried by the next publish instead of being cached.
      void ensured.catch(() => this.ensuredTopics.delete(name));
      this.ensuredTopics.set(name, ensured);
    }
    return ensured;
  }

  private topic(name: string): Topic {
    let topic = this.topics.get(name);
    if (topic === undefined) {
      topic = this.options.pubsub.topic(name, { batching: { maxMessages: 100, maxMilliseconds: 2 } });
      this.topics.set(name, topic);
    }
    return topic;
  }

  private subscriber(): Promise<v1.SubscriberClient> {
    this.client ??= this.options.pubsub
      .getClientConfig()
      .then((config) => new v1.SubscriberClient(config as ConstructorParameters<typeof v1.SubscriberClient>[0]));
    return this.client;
  }

  private subscriptionPath(name: string): string {
    return `projects/${this.options.projectId}/subscriptions/${name}`;
  }
}

function decode(ackId: string): AckToken {
  return JSON.parse(Buffer.from(ackId, 'base64url').toString('utf8')) as AckToken;
}
