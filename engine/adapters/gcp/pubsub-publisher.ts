// Data flow: processor SDK → PubSubPublisher.publish(topic, message) → Pub/Sub topic (baton_id = the deterministic id) → push subscription → barrier.
import { PubSub, type Topic } from '@google-cloud/pubsub';
import { BATON_ID_ATTRIBUTE } from '../../config/conventions.ts';
import type { MessageBus, OutgoingMessage, PublishResult } from '../../ports/message-bus.ts';
import { pubsubClientOptions } from './pubsub-client-options.ts';

/** Where to publish. */
export interface PubSubPublisherOptions {
  /** Default: the client's (GOOGLE_CLOUD_PROJECT, or the metadata server). */
  readonly projectId?: string | undefined;
  /** `host:port` of an emulator; default `PUBSUB_EMULATOR_HOST`. */
  readonly emulatorHost?: string | undefined;
}

/**
 * Publish-only Pub/Sub for processors: what a processor's service account may do (the generated IAM
 * grants `roles/pubsub.publisher` on exactly its completion topic, nothing on Firestore). Unlike
 * `PubSubMessageBus` it keeps no publish record, so it cannot absorb a repeat itself: the message id
 * travels as `baton_id` and the consumer (the barrier's bus) dedupes by it. It never creates topics;
 * `baton provision` or Terraform does. `duplicate` is always false.
 */
export class PubSubPublisher implements Pick<MessageBus, 'publish'> {
  private readonly pubsub: PubSub;
  private readonly topics = new Map<string, Topic>();

  constructor(options: PubSubPublisherOptions = {}) {
    this.pubsub = new PubSub(pubsubClientOptions(options.projectId, options.emulatorHost ?? process.env.PUBSUB_EMULATOR_HOST));
  }

  async publish(topic: string, message: OutgoingMessage): Promise<PublishResult> {
    let handle = this.topics.get(topic);
    if (handle === undefined) {
      handle = this.pubsub.topic(topic);
      this.topics.set(topic, handle);
    }
    await handle.publishMessage({ data: Buffer.from(message.data), attributes: { ...message.attributes, [BATON_ID_ATTRIBUTE]: message.id } });
    return { id: message.id, duplicate: false };
  }

  /** Closes the client. */
  async close(): Promise<void> {
    await this.pubsub.close();
  }
}
