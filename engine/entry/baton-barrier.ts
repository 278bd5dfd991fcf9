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

/** What functions-framework passes a CloudEvent function of arity 2: call it once, with an error to retry. */
export type CloudEventCallback = (error?: unknown, result?: unknown) => void;

/**
 * The function entry point the generated manifests name (`entry_point = "batonBarrier"`). They deploy
 * it as an HTTP function (push subscriptions and the deadline tick post to its URL), while an
 * Eventarc deployment calls it with one CloudEvent. Its arity is 2, so functions-framework's
 * `--signature-type=cloudevent` treats it as callback style and passes `(cloudEvent, callback)`: the
 * callback is what answers the request, so it must be called (bug: it never was, and the request
 * hung until the platform timed it out). `--signature-type=http` passes `(req, res)`.
 */
export function batonBarrier(cloudEvent: PubSubCloudEvent, callback?: CloudEventCallback): Promise<void>;
export function batonBarrier(req: HttpRequestLike, res: ServerResponse): Promise<void>;
export function batonBarrier(first: PubSubCloudEvent | HttpRequestLike, second?: ServerResponse | CloudEventCallback): Promise<void> {
  if (typeof second === 'function') {
    const done = second;
    return batonCloudEvent(first as PubSubCloudEvent).then(
      () => done(null),
      (error: unknown) => done(error instanceof Error ? error : new Error(String(error))),
    );
  }
  if (second !== undefined && typeof second.writeHead === 'function') return batonHttp(first as HttpRequestLike, second);
  return batonCloudEvent(first as PubSubCloudEvent);
}
