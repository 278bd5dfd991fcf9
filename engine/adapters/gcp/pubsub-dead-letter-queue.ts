// Data flow: pull path: bus_dead_letters/ (written by PubSubMessageBus) | push path: <topic>-dlq → baton-hold--<topic>-dlq subscription → list / get → redrive: publish to the topic again with the same baton_id | purge.
import { createHash } from 'node:crypto';
import type { DocumentReference, Firestore } from '@google-cloud/firestore';
import { v1, type PubSub } from '@google-cloud/pubsub';
import { BATON_ID_ATTRIBUTE, holdSubscriptionName, TTL_FIELD } from '../../config/conventions.ts';
import type { Clock } from '../../ports/clock.ts';
import type { DeadLetterFilter, DeadLetterQueue, DeadLetterRecord, RedriveMark, RedriveOutcome } from '../../ports/dead-letter-queue.ts';
import { DEAD_LETTER_ATTRIBUTES, type DeadLetter } from '../../ports/message-bus.ts';
import { collections, createOnce, docId, expiryFrom, recordOf, type Collections } from './firestore-docs.ts';

/** A topic with a dead-letter topic, and the subscription that holds what reaches it (as the generators render it). */
export interface DeadLetterTopic {
  readonly topic: string;
  readonly deadLetterTopic: string;
}

/** Attributes Pub/Sub's dead-letter policy adds to a forwarded message. */
const SOURCE_SUBSCRIPTION = 'CloudPubSubDeadLetterSourceSubscription';
const SOURCE_DELIVERIES = 'CloudPubSubDeadLetterSourceDeliveryCount';

/** Options of the gcp dead-letter queue. */
export interface PubSubDeadLetterQueueOptions {
  readonly pubsub: PubSub;
  readonly firestore: Firestore;
  readonly projectId: string;
  readonly clock: Clock;
  /** Every topic that has a dead-letter topic, from the pipeline. */
  readonly deadLetterTopics: readonly DeadLetterTopic[];
  /** Collection name prefix (default `baton_`). */
  readonly prefix?: string;
}

/** What a listed dead letter is, besides its record: where it lives, for redrive and purge. */
type Located = { readonly record: DeadLetterRecord } & (
  { readonly kind: 'pull'; readonly doc: string } | { readonly kind: 'push'; readonly holdSubscription: string }
);

/**
 * Dead letters of the gcp backend, on both paths:
 *
 * - **Pull** (`baton run --backend gcp`): `PubSubMessageBus` records each in `bus_dead_letters/` with
 *   its reason. Redrive deletes the subscription's `bus_settled/` record of the id (else the bus would
 *   ack the redelivery unseen) and publishes the message to its topic again with the same `baton_id`,
 *   past the bus's publish dedupe; every other subscription of the topic has settled the id and acks
 *   it unseen. The record is moved to a `…~redriven~<time>` document in a transaction first, so of two
 *   concurrent redrives one publishes, and a later dead-lettering of the same message records anew.
 * - **Push** (the deployed topology): Pub/Sub's dead-letter policy (or the push handler, with a Baton
 *   reason) forwards the message to `<topic>-dlq`, where the rendered `baton-hold--<topic>-dlq`
 *   subscription holds it; there is no Firestore record. Listing pulls the hold subscription and
 *   releases every message at once (ack deadline 0), so nothing is consumed by reading. Redrive
 *   publishes to the original topic (same `baton_id`), acks the held copy and leaves a redriven record
 *   in `bus_dead_letters/`. A message the pull bus also published there is shown once, from Firestore.
 *
 * Ids are the first 12 hex digits of a hash of where the dead letter lives: stable, short to type.
 */
export class PubSubDeadLetterQueue implements DeadLetterQueue {
  private readonly c: Collections;
  private client: Promise<v1.SubscriberClient> | undefined;

  constructor(private readonly options: PubSubDeadLetterQueueOptions) {
    this.c = collections(options.firestore, options.prefix ?? 'baton_');
  }

  async list(filter: DeadLetterFilter = {}): Promise<DeadLetterRecord[]> {
    return (await this.locate())
      .map((l) => l.record)
      .filter((r) => (filter.topic === undefined || r.topic === filter.topic) && r.lastAttemptAt >= (filter.since ?? 0));
  }

  async get(id: string): Promise<DeadLetterRecord | undefined> {
    return (await this.locate()).find((l) => l.record.id === id)?.record;
  }

  async redrive(ids: readonly string[], { dryRun = false }: { readonly dryRun?: boolean } = {}): Promise<RedriveOutcome[]> {
    const located = await this.locate();
    const outcomes: RedriveOutcome[] = [];
    for (const id of ids) {
      const found = located.find((l) => l.record.id === id);
      if (found === undefined) outcomes.push({ id, outcome: 'not-found', note: 'no such dead letter' });
      else if (found.record.redrive !== undefined) {
        const mark = found.record.redrive;
        outcomes.push({ id, outcome: 'already-redriven', note: `already redriven at ${new Date(mark.at).toISOString()} (${mark.result})` });
      } else if (dryRun) {
        outcomes.push({
          id,
          outcome: 'would-redrive',
          note: `would publish ${found.record.messageId} to ${found.record.topic} again for ${found.record.subscription}`,
        });
      } else outcomes.push(await this.redriveOne(found));
    }
    return outcomes;
  }

  async purge(ids: readonly string[]): Promise<number> {
    const chosen = (await this.locate()).filter((l) => ids.includes(l.record.id));
    for (const found of chosen) if (found.kind === 'pull') await this.forget(found.doc);
    // Held copies go too: a push-path dead letter is one, and the pull bus also published its own there.
    await this.ackHeld(chosen.map((l) => l.record));
    return chosen.length;
  }

  /** Deletes one pull-path dead-letter record (purge). */
  private async forget(doc: string): Promise<void> {
    await this.c.busDeadLetters.doc(doc).delete();
  }

  /** Closes the Pub/Sub subscriber client it opened (the other clients belong to the caller). */
  async close(): Promise<void> {
    if (this.client !== undefined) await (await this.client).close();
  }

  private async redriveOne(found: Located): Promise<RedriveOutcome> {
    const { record } = found;
    const now = this.options.clock.now();
    const result = `published to ${record.topic} again for ${record.subscription}`;
    const mark: RedriveMark = { at: now, result };
    if (found.kind === 'push') {
      // Claimed before publishing, under an id fixed by the held copy: of two concurrent redrives (two
      // dashboard tabs, the CLI and the dashboard) one publishes, the other is told it was taken.
      const claim = this.c.busDeadLetters.doc(docId(record.subscription, record.messageId, 'redriven', record.id));
      const copy: DeadLetter = {
        subscription: record.subscription,
        topic: record.topic,
        message: record.message,
        reason: record.reason,
        deliveryAttempts: record.deliveryAttempts,
        at: record.lastAttemptAt,
      };
      const published = record.firstAttemptAt ?? record.lastAttemptAt;
      const claimed = await createOnce(
        claim,
        { subscription: record.subscription, publishedAt: published, json: JSON.stringify(copy), deadLetterId: record.id, redrive: mark, path: 'push' },
        expiryFrom(now),
      );
      if (!claimed) return { id: record.id, outcome: 'already-redriven', note: 'another redrive took it first' };
      try {
        await this.publish(record);
      } catch (error) {
        await claim.delete(); // not redriven after all: the held copy stays, to be redriven again
        return { id: record.id, outcome: 'failed', note: error instanceof Error ? error.message : String(error) };
      }
      await this.ackHeld([record]);
      return { id: record.id, outcome: 'redriven', note: result };
    }
    const moved = this.c.busDeadLetters.doc(docId(record.subscription, record.messageId, 'redriven', String(now)));
    const original = this.c.busDeadLetters.doc(found.doc);
    if (!(await this.claimRedrive(original, moved, record.id, mark))) {
      return { id: record.id, outcome: 'already-redriven', note: 'another redrive took it first' };
    }
    try {
      await this.unsettle(record);
      await this.publish(record);
      await this.ackHeld([record]);
    } catch (error) {
      await this.releaseRedrive(moved, original);
      return { id: record.id, outcome: 'failed', note: error instanceof Error ? error.message : String(error) };
    }
    return { id: record.id, outcome: 'redriven', note: result };
  }

  /**
   * Moves a pull-path record to its redriven document, marked, in one transaction: of two concurrent
   * redrives only one finds the original, so only one publishes. False when it was gone already.
   */
  private claimRedrive(original: DocumentReference, moved: DocumentReference, deadLetterId: string, mark: RedriveMark): Promise<boolean> {
    return this.options.firestore.runTransaction(async (tx) => {
      const doc = await tx.get(original);
      if (!doc.exists) return false;
      tx.create(moved, { ...doc.data(), deadLetterId, redrive: mark, [TTL_FIELD]: expiryFrom(mark.at) });
      tx.delete(original);
      return true;
    });
  }

  /** Undoes a claim whose publish failed, so the dead letter stays listed (under the same id) and can be redriven again. */
  private async releaseRedrive(moved: DocumentReference, original: DocumentReference): Promise<void> {
    await this.options.firestore.runTransaction(async (tx) => {
      const { redrive: _mark, ...data } = (await tx.get(moved)).data() ?? {};
      tx.create(original, { ...data, [TTL_FIELD]: expiryFrom(this.options.clock.now()) });
      tx.delete(moved);
    });
  }

  /** Forgets that the subscription settled the id, so the bus hands the redelivery to its consumer instead of acking it unseen. */
  private async unsettle(record: DeadLetterRecord): Promise<void> {
    await this.c.busSettled.doc(docId(record.subscription, record.messageId)).delete();
  }

  private async publish(record: DeadLetterRecord): Promise<void> {
    await this.options.pubsub
      .topic(record.topic)
      .publishMessage({ data: Buffer.from(record.message.data), attributes: { ...record.message.attributes, [BATON_ID_ATTRIBUTE]: record.messageId } });
  }

  /** Every dead letter, oldest first: Firestore's records, then what the hold subscriptions hold that Firestore does not. */
  private async locate(): Promise<Located[]> {
    const docs = (await this.c.busDeadLetters.get()).docs;
    const located: Located[] = docs.map((d) => {
      const dead = recordOf<DeadLetter>(d.data());
      const redrive = d.get('redrive') as RedriveMark | undefined;
      return {
        kind: 'pull',
        doc: d.id,
        record: {
          // A redriven record keeps the id it was listed under; a new dead letter of the same message gets another.
          id: typeof d.get('deadLetterId') === 'string' ? String(d.get('deadLetterId')) : shortId('pull', d.id, String(d.createTime.toMillis())),
          messageId: dead.message.id,
          topic: dead.topic,
          subscription: dead.subscription,
          reason: dead.reason,
          deliveryAttempts: dead.deliveryAttempts,
          firstAttemptAt: typeof d.get('publishedAt') === 'number' ? Number(d.get('publishedAt')) : undefined,
          lastAttemptAt: dead.at,
          message: dead.message,
          path: d.get('path') === 'push' ? 'push' : 'pull',
          redrive,
        },
      };
    });
    const recorded = new Set(located.filter((l) => l.record.redrive === undefined).map((l) => `${l.record.subscription}\u0000${l.record.messageId}`));
    for (const held of await this.readHeld()) {
      if (!recorded.has(`${held.record.subscription}\u0000${held.record.messageId}`)) located.push(held);
    }
    return located.sort((a, b) => a.record.lastAttemptAt - b.record.lastAttemptAt || a.record.id.localeCompare(b.record.id));
  }

  /** Acks what the hold subscriptions hold of these dead letters (the same id, or the same message from the same subscription). */
  private async ackHeld(records: readonly DeadLetterRecord[]): Promise<void> {
    if (records.length === 0) return;
    const ids = new Set(records.map((r) => r.id));
    const messages = new Set(records.map((r) => `${r.subscription}\u0000${r.messageId}`));
    await this.readHeld((r) => ids.has(r.id) || messages.has(`${r.subscription}\u0000${r.messageId}`));
  }

  /**
   * Pulls every hold subscription and releases what it pulled (reading consumes nothing), except the
   * messages `ack` picks, which it acks.
   */
  private async readHeld(ack: (record: DeadLetterRecord) => boolean = () => false): Promise<Located[]> {
    const client = await this.subscriber();
    const located: Located[] = [];
    for (const { topic, deadLetterTopic } of this.options.deadLetterTopics) {
      const hold = holdSubscriptionName(deadLetterTopic);
      const subscription = `projects/${this.options.projectId}/subscriptions/${hold}`;
      let response;
      try {
        [response] = await client.pull({ subscription, maxMessages: 1000, returnImmediately: true });
      } catch (error) {
        // A topology without hold subscriptions (a `baton run --backend gcp` state) has no push-path dead letters.
        if ((error as { code?: number }).code === 5) continue;
        throw error;
      }
      const toAck: string[] = [];
      const toRelease: string[] = [];
      for (const received of response.receivedMessages ?? []) {
        const message = received.message ?? {};
        const { [BATON_ID_ATTRIBUTE]: batonId, ...all } = message.attributes ?? {};
        const {
          [DEAD_LETTER_ATTRIBUTES.reason]: reason,
          [DEAD_LETTER_ATTRIBUTES.subscription]: batonSubscription,
          [DEAD_LETTER_ATTRIBUTES.attempts]: batonAttempts,
          [SOURCE_SUBSCRIPTION]: sourceSubscription,
          [SOURCE_DELIVERIES]: deliveries,
          ...attributes
        } = all;
        for (const name of Object.keys(attributes)) if (name.startsWith('CloudPubSubDeadLetter')) delete attributes[name];
        const messageId = batonId ?? attributes['ce-id'] ?? message.messageId ?? '?';
        const source = batonSubscription ?? sourceSubscription?.split('/').pop() ?? '?';
        const publishedAt = message.publishTime ? Number(message.publishTime.seconds ?? 0) * 1000 + Math.floor((message.publishTime.nanos ?? 0) / 1e6) : 0;
        const attempts = Number(batonAttempts ?? deliveries ?? 0);
        const id = shortId('push', hold, message.messageId ?? messageId);
        const record: DeadLetterRecord = {
          id,
          messageId,
          topic,
          subscription: source,
          reason: reason ?? `exhausted ${deliveries ?? '?'} deliveries`,
          deliveryAttempts: attempts,
          firstAttemptAt: undefined,
          lastAttemptAt: publishedAt,
          message: { id: messageId, attributes, data: Buffer.from(message.data ?? '').toString('utf8') },
          path: 'push',
          redrive: undefined,
        };
        located.push({ kind: 'push', holdSubscription: hold, record });
        (ack(record) ? toAck : toRelease).push(received.ackId ?? '');
      }
      if (toAck.length > 0) await client.acknowledge({ subscription, ackIds: toAck });
      if (toRelease.length > 0) await client.modifyAckDeadline({ subscription, ackIds: toRelease, ackDeadlineSeconds: 0 });
    }
    return located;
  }

  private subscriber(): Promise<v1.SubscriberClient> {
    // The bus's client settings (emulator host or credentials), as PubSubMessageBus builds its subscriber.
    this.client ??= this.options.pubsub
      .getClientConfig()
      .then((config) => new v1.SubscriberClient(config as ConstructorParameters<typeof v1.SubscriberClient>[0]));
    return this.client;
  }
}

function shortId(...parts: readonly string[]): string {
  return createHash('sha256').update(parts.join('\u0000')).digest('hex').slice(0, 12);
}
