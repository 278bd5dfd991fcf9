// Data flow: Pub/Sub CloudEvent (functions-framework cloudEvent signature) → parsePushDelivery(data) → BatonHandler.deliver → return (ack) | throw (retry).
import type { BatonHandler } from './baton-handler.ts';
import { InvalidPushBodyError, parsePushDelivery } from './parse-push-delivery.ts';

/** The parts of a Pub/Sub CloudEvent Baton reads (`google.cloud.pubsub.topic.v1.messagePublished`). */
export interface PubSubCloudEvent {
  readonly id?: string;
  readonly type?: string;
  readonly source?: string;
  /** `{ message: { data, attributes, messageId, publishTime }, subscription, deliveryAttempt? }`; JSON text is accepted too. */
  readonly data?: unknown;
}

/** A CloudEvent function: resolving acks the event, throwing asks the platform to retry it. */
export type CloudEventFunction = (cloudEvent: PubSubCloudEvent) => Promise<void>;

/** A transient failure surfaced to the platform so it redelivers the event. */
export class RetryDeliveryError extends Error {
  readonly code = 'entry/retry';
  readonly retryable = true;
}

/**
 * Adapts the generic handler to the functions-framework CloudEvent signature without depending on
 * the framework: a transient error throws (the platform retries with backoff); a permanent one is
 * dead-lettered with its reason and the function returns normally, so the event is not retried.
 */
export function createCloudEventFunction(getHandler: () => Promise<BatonHandler>): CloudEventFunction {
  return async (cloudEvent) => {
    const handler = await getHandler();
    let delivery;
    try {
      delivery = parsePushDelivery(typeof cloudEvent.data === 'string' ? JSON.parse(cloudEvent.data) : cloudEvent.data);
    } catch (error) {
      // Not a Pub/Sub event: retrying cannot change it and there is no message to dead-letter.
      const reason = error instanceof InvalidPushBodyError ? error.message : 'the event data is not JSON';
      handler.log({
        severity: 'ERROR',
        message: `not a Pub/Sub CloudEvent (${cloudEvent.type ?? 'no type'} ${cloudEvent.id ?? ''}): ${reason}`,
        baton_event: 'push.bad_request',
      });
      return;
    }
    const result = await handler.deliver(delivery);
    if (result.status === 'retry') throw new RetryDeliveryError(result.reason);
  };
}
