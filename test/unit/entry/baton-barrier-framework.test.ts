import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as functions from '@google-cloud/functions-framework';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { batonBarrier } from '../../../engine/entry/baton-barrier.ts';

// Registered as the framework registers `--target=batonBarrier --signature-type=…`: the wrapper it
// picks depends on the function's arity, which is what broke the CloudEvent signature.
functions.http('batonBarrierHttp', batonBarrier);
functions.cloudEvent('batonBarrierCloudEvent', batonBarrier);

const ENV = { BATON_BARRIER: 'ingest-done', BATON_PIPELINE: 'test/fixtures/entry/deadline.yaml', GOOGLE_CLOUD_PROJECT: 'demo' };

async function listen(name: string): Promise<{ url: string; server: Server }> {
  const server = getTestServer(name);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

/** A binary-mode CloudEvent POST, as Eventarc delivers one. */
function postEvent(url: string, data: unknown): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'ce-id': 'event-1',
      'ce-specversion': '1.0',
      'ce-type': 'google.cloud.pubsub.topic.v1.messagePublished',
      'ce-source': '//pubsub.googleapis.com/projects/demo/topics/t',
    },
    body: JSON.stringify(data),
    signal: AbortSignal.timeout(5_000),
  });
}

describe('batonBarrier under the real @google-cloud/functions-framework', () => {
  const saved: Record<string, string | undefined> = {};
  const servers: Server[] = [];
  beforeAll(() => {
    for (const name of Object.keys(ENV)) saved[name] = process.env[name];
  });
  afterAll(async () => {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  });

  it('answers a CloudEvent (--signature-type=cloudevent calls it with a callback; bug: the callback was never called and the request hung)', async () => {
    Object.assign(process.env, ENV);
    const { url, server } = await listen('batonBarrierCloudEvent');
    servers.push(server);
    // Not a Pub/Sub message: nothing to retry or dead-letter, so it is acked (2xx) without touching the backend.
    const response = await postEvent(url, { not: 'a pubsub message' });
    expect(response.status).toBeGreaterThanOrEqual(200);
    expect(response.status).toBeLessThan(300);
  });

  it('reports a failure through the callback, so the framework answers 500 and the event is retried', async () => {
    // A fresh copy of the module, so its instance handler opens from this environment (a deployment mistake).
    vi.resetModules();
    const fresh = await import('../../../engine/entry/baton-barrier.ts');
    functions.cloudEvent('batonBarrierCloudEventBroken', fresh.batonBarrier);
    Object.assign(process.env, { ...ENV, BATON_BARRIER: 'no-such-barrier' });
    const { url, server } = await listen('batonBarrierCloudEventBroken');
    servers.push(server);
    const response = await postEvent(url, { message: { data: '', messageId: '1' }, subscription: 's' });
    expect(response.status).toBe(500);
    Object.assign(process.env, ENV);
  });

  it('serves HTTP under --signature-type=http (Pub/Sub push, /tick, /healthz)', async () => {
    Object.assign(process.env, ENV);
    const { url, server } = await listen('batonBarrierHttp');
    servers.push(server);
    const response = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(5_000) });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ status: 'ok', barrier: 'ingest-done' });
  });
});
