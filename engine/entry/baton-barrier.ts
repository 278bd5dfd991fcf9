// Data flow: Cloud Functions / functions-framework → batonBarrier (HTTP push + /tick, or CloudEvent) → one lazily opened BatonHandler per instance.
import type { ServerResponse } from 'node:http';
import type { BatonHandler } from './baton-handler.ts';
import { createCloudEventFunction, type PubSubCloudEvent } from './cloud-event-adapter.ts';
import { createHttpListener, type HttpRequestLike } from './http-adapter.ts';
import { openEntry, type OpenedEntry } from './open-entry.ts';

let entry: Promise<OpenedEntry> | undefined;

/** The instance's handler, opened from the environment on first use and shared by every request. */
function currentHandler(): Promise<BatonHandler> {
  entry ??= openEntry().catch((error: unknown) => {
    // Open again on the next request: the cause may pass (metadata server) or be fixed by a redeploy.
    entry = undefined;
    throw error;
  });
  return entry.then((opened) => opened.handler);
}

/** The HTTP function (`functions.http('batonHttp', batonHttp)`): Pub/Sub push, `POST /tick`, `GET /healthz`. */
export const batonHttp = createHttpListener(currentHandler);

/** The CloudEvent function (`functions.cloudEvent('batonCloudEvent', batonCloudEvent)`): throws to retry, returns to ack. */
export const batonCloudEvent = createCloudEventFunction(currentHandler);

/**
 * The function entry point the generated manifests name (`entry_point = "batonBarrier"`). They deploy
 * it as an HTTP function (push subscriptions and the deadline tick post to its URL), while an
 * Eventarc deployment calls it with one CloudEvent; the functions framework passes `(req, res)` for
 * the first and `(cloudEvent)` for the second, so it serves both.
 */
export function batonBarrier(cloudEvent: PubSubCloudEvent): Promise<void>;
export function batonBarrier(req: HttpRequestLike, res: ServerResponse): Promise<void>;
export function batonBarrier(first: PubSubCloudEvent | HttpRequestLike, res?: ServerResponse): Promise<void> {
  if (res !== undefined && typeof res.writeHead === 'function') return batonHttp(first as HttpRequestLike, res);
  return batonCloudEvent(first as PubSubCloudEvent);
}
