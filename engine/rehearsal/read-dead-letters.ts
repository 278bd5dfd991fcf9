// Data flow: each dead-letter topic's hold subscription (as rendered) → Pub/Sub emulator REST pull → one row per dead letter, with Baton's reason or Pub/Sub's delivery count.
import type { DeployModel } from '../../generators/deploy-model.ts';
import { BATON_ID_ATTRIBUTE } from '../adapters/gcp/pubsub-message-bus.ts';
import { DEAD_LETTER_ATTRIBUTES } from '../ports/message-bus.ts';

/** One message on a dead-letter topic. */
export interface DeadLetterRow {
  readonly deadLetterTopic: string;
  readonly id: string;
  readonly key: string | undefined;
  /** Baton's reason (a permanent error), or how many deliveries Pub/Sub gave up after. */
  readonly reason: string;
}

/** Reads (without acking) every message held on the pipeline's dead-letter topics. */
export async function readDeadLetters(model: DeployModel, pubsubHost: string, projectId: string): Promise<DeadLetterRow[]> {
  const rows: DeadLetterRow[] = [];
  for (const topic of model.topics) {
    if (topic.deadLetter === undefined) continue;
    const url = `http://${pubsubHost}/v1/projects/${projectId}/subscriptions/${topic.deadLetter.holdSubscription}:pull`;
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ maxMessages: 1000, returnImmediately: true }),
    });
    if (!response.ok) throw new Error(`reading ${topic.deadLetter.holdSubscription} failed: HTTP ${response.status}`);
    const body = (await response.json()) as { receivedMessages?: { message?: { messageId?: string; attributes?: Record<string, string> } }[] };
    for (const received of body.receivedMessages ?? []) {
      const attributes = received.message?.attributes ?? {};
      const delivered = attributes.CloudPubSubDeadLetterSourceDeliveryCount;
      rows.push({
        deadLetterTopic: topic.deadLetter.name,
        id: attributes[BATON_ID_ATTRIBUTE] ?? attributes['ce-id'] ?? received.message?.messageId ?? '?',
        key: attributes['ce-subject'],
        reason: attributes[DEAD_LETTER_ATTRIBUTES.reason] ?? `exhausted ${delivered ?? '?'} deliveries`,
      });
    }
  }
  return rows;
}
