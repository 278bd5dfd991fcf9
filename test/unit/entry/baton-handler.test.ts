import type { ServerResponse } from 'node:http';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryMessageBus } from '../../../engine/adapters/memory/memory-message-bus.ts';
import { MemoryStateStore } from '../../../engine/adapters/memory/memory-state-store.ts';
import { packageRoot } from '../../../engine/config/package-root.ts';
import type { BatonHandler } from '../../../engine/entry/baton-handler.ts';
import { createCloudEventFunction } from '../../../engine/entry/cloud-event-adapter.ts';
import { createHttpListener, type HttpRequestLike } from '../../../engine/entry/http-adapter.ts';
import { openEntry } from '../../../engine/entry/open-entry.ts';
import { startPushServer } from '../../../engine/entry/push-server.ts';
import type { OutgoingMessage } from '../../../engine/ports/message-bus.ts';
import type { MemberRecord } from '../../../engine/ports/state-store.ts';
import { FakeClock } from '../../../engine/runtime/fake-clock.ts';
import { completion, subscriptionOf, Watcher } from '../../contract/fixtures.ts';
import { createTestSigner } from './oidc-test-keys.ts';

const FIXTURE = join(packageRoot(), 'test/fixtures/entry/deadline.yaml');
const KEY = '2025-11-28';
const SUBSCRIPTION = 'projects/demo/subscriptions/ingest-done--ingest-complete';
const AUDIENCE = 'https://ingest-done.example.run.app';
const INVOKER = 'pubsub-invoker@demo.iam.gserviceaccount.com';
const signer = createTestSigner();

/** A store whose next recordMember fails like an unavailable Firestore; `poisonKey`'s decisions always fail. */
class FlakyStore extends MemoryStateStore {
  failNext = false;
  poisonKey: string | undefined;
  override async decideTrigger(...args: Parameters<MemoryStateStore['decideTrigger']>): ReturnType<MemoryStateStore['decideTrigger']> {
    if (args[1] === this.poisonKey) throw new Error('3 INVALID_ARGUMENT: document exceeds the maximum size');
    return super.decideTrigger(...args);
  }
  override async recordMember(barrier: string, key: string, record: MemberRecord): Promise<boolean> {
    if (this.failNext) {
      this.failNext = false;
      throw new Error('14 UNAVAILABLE: connection reset');
    }
    return super.recordMember(barrier, key, record);
  }
}

/** A push request body for a Baton message, as Pub/Sub sends it. */
function pushBody(message: OutgoingMessage, deliveryAttempt = 1): Record<string, unknown> {
  return {
    message: {
      data: Buffer.from(message.data).toString('base64'),
      attributes: { ...message.attributes, baton_id: message.id },
      messageId: `ps-${message.id}`,
      publishTime: '2025-11-29T12:00:00Z',
    },
    subscription: SUBSCRIPTION,
    deliveryAttempt,
  };
}

interface Reply {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

/** How a test talks to the entry point: one implementation per adapter. */
interface Transport {
  request(method: string, path: string, body: unknown, headers?: Record<string, string>): Promise<Reply>;
  close(): Promise<void>;
}

async function setup(options: { env?: Record<string, string>; oidc?: boolean; transport: 'node-http' | 'functions-http' }) {
  const clock = new FakeClock('2025-11-29T12:00:00Z');
  const bus = new MemoryMessageBus(clock);
  const store = new FlakyStore(clock);
  await bus.subscribe(subscriptionOf('watch-trigger', 'stage-trigger'));
  await bus.subscribe(subscriptionOf('watch-dlq', 'ingest-complete-dlq'));
  const lines: Record<string, unknown>[] = [];
  const env = {
    BATON_BARRIER: 'ingest-done',
    BATON_PIPELINE: FIXTURE,
    GOOGLE_CLOUD_PROJECT: 'demo',
    ...(options.oidc ? { BATON_OIDC_AUDIENCE: AUDIENCE, BATON_OIDC_EMAIL: INVOKER } : {}),
    ...options.env,
  };
  const entry = await openEntry({
    env,
    backend: { bus, store },
    clock,
    certs: signer.certs,
    writeLog: (line) => lines.push(JSON.parse(line) as Record<string, unknown>),
  });
  const transport = options.transport === 'node-http' ? await nodeHttp(entry.handler) : functionsHttp(entry.handler);
  const triggers = new Watcher(bus, 'watch-trigger');
  const deadLetters = new Watcher(bus, 'watch-dlq');
  return { clock, bus, store, lines, transport, triggers, deadLetters, hash: entry.pipelineHash };
}

async function nodeHttp(handler: BatonHandler): Promise<Transport> {
  const server = await startPushServer({ handler });
  return {
    request: async (method, path, body, headers = {}) => {
      const response = await fetch(`${server.url}${path}`, {
        method,
        headers: { 'content-type': 'application/json', ...headers },
        ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
      });
      return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    },
    close: () => server.close(),
  };
}

/** functions.http hands over an Express request whose stream is already read into rawBody. */
function functionsHttp(handler: BatonHandler): Transport {
  const listener = createHttpListener(() => Promise.resolve(handler));
  return {
    request: async (method, path, body, headers = {}) => {
      const text = body === undefined ? '' : typeof body === 'string' ? body : JSON.stringify(body);
      const req = Object.assign(Readable.from([]), { method, url: path, headers, rawBody: Buffer.from(text) }) as unknown as HttpRequestLike;
      let status = 0;
      let payload = '';
      const res = {
        writeHead: (code: number) => {
          status = code;
        },
        end: (chunk: string) => {
          payload = chunk;
        },
      } as unknown as ServerResponse;
      await listener(req, res);
      return { status, body: JSON.parse(payload) as Record<string, unknown> };
    },
    close: () => Promise.resolve(),
  };
}

let cleanup: (() => Promise<void>) | undefined;
afterEach(async () => {
  await cleanup?.();
  cleanup = undefined;
});

/** The same behaviour through every HTTP adapter (one call per adapter below). */
function httpEntrySuite(transportName: 'node-http' | 'functions-http'): void {
  const open = async (options: { env?: Record<string, string>; oidc?: boolean } = {}) => {
    const context = await setup({ ...options, transport: transportName });
    cleanup = () => context.transport.close();
    return context;
  };

  describe(`the push entry point over ${transportName}`, () => {
    it('acks every completion, fires exactly one trigger, and absorbs a duplicate', async () => {
      const { transport, triggers, hash } = await open();
      for (const member of ['load_a', 'load_b', 'load_c']) {
        const reply = await transport.request('POST', '/', pushBody(completion({ member, key: KEY })));
        expect(reply).toEqual({ status: 200, body: expect.objectContaining({ status: 'ack', outcome: 'recorded', pipeline_hash: hash }) as unknown });
      }
      const duplicate = await transport.request('POST', '/', pushBody(completion({ member: 'load_b', key: KEY }), 2));
      expect(duplicate.body).toMatchObject({ status: 'ack', outcome: 'duplicate' });
      await triggers.drain();
      expect(triggers.unique().map((e) => [e.id, e.data])).toEqual([
        ['trigger:ingest-done:2025-11-28', expect.objectContaining({ reason: 'all_complete', pipeline_hash: hash }) as unknown],
      ]);
    });

    it('dead-letters a malformed message with its reason and still answers 2xx', async () => {
      const { transport, deadLetters, lines } = await open();
      const bad: OutgoingMessage = { id: 'junk-1', attributes: { 'ce-subject': KEY }, data: 'not json' };
      const reply = await transport.request('POST', '/', pushBody(bad, 1));
      expect(reply.status).toBe(200);
      expect(reply.body).toMatchObject({
        status: 'dead-lettered',
        deadLetterTopic: 'ingest-complete-dlq',
        reason: expect.stringContaining('envelope/invalid') as unknown,
      });
      await deadLetters.drain();
      const [letter] = deadLetters.deliveries;
      expect(letter).toMatchObject({
        id: 'junk-1',
        data: 'not json',
        attributes: { baton_dead_letter_reason: expect.stringContaining('body is not JSON') as unknown },
      });
      expect(lines.find((l) => l.baton_event === 'message.dead_lettered')).toMatchObject({ severity: 'ERROR', barrier: 'ingest-done', key: KEY });
    });

    it('answers 500 on a transient failure so Pub/Sub retries, and records the retry', async () => {
      const { transport, store, lines } = await open();
      store.failNext = true;
      const reply = await transport.request('POST', '/', pushBody(completion({ member: 'load_a', key: KEY })));
      expect(reply).toMatchObject({ status: 500, body: { status: 'retry', reason: expect.stringContaining('UNAVAILABLE') as unknown } });
      expect(lines.some((l) => l.baton_event === 'message.retry' && l.severity === 'WARNING')).toBe(true);
      const again = await transport.request('POST', '/', pushBody(completion({ member: 'load_a', key: KEY }), 2));
      expect(again.body).toMatchObject({ status: 'ack', outcome: 'recorded' });
    });

    it('answers 400 to a body that is not a Pub/Sub delivery', async () => {
      const { transport } = await open();
      expect((await transport.request('POST', '/', '{"hello":1}')).status).toBe(400);
      expect((await transport.request('POST', '/', 'not json')).status).toBe(400);
    });

    it('fires a deadline tier on /tick once, logs it as missed, and fires nothing on the next tick', async () => {
      const { transport, clock, triggers, lines, hash } = await open();
      await transport.request('POST', '/', pushBody(completion({ member: 'load_a', key: KEY })));
      expect((await transport.request('POST', '/tick', { barrier: 'ingest-done' })).body).toMatchObject({ status: 'ok', fired: [] });
      clock.advance(1_500);
      const tick = await transport.request('POST', '/tick', { barrier: 'ingest-done' });
      expect(tick).toMatchObject({ status: 200, body: { fired: [{ key: KEY, reason: 'deadline' }], pipeline_hash: hash } });
      expect((await transport.request('POST', '/tick', '')).body).toMatchObject({ fired: [] });
      await triggers.drain();
      expect(triggers.unique().map((e) => e.data)).toEqual([expect.objectContaining({ reason: 'deadline', members_missing: ['load_b', 'load_c'] })]);
      const missed = lines.filter((l) => l.baton_event === 'barrier.deadline_missed');
      expect(missed).toEqual([
        expect.objectContaining({ severity: 'WARNING', barrier: 'ingest-done', key: KEY, deadline_tier: 1, deadline_after: '1s', pipeline_hash: hash }),
      ]);
      expect(missed[0]?.['logging.googleapis.com/trace']).toMatch(/^projects\/demo\/traces\/[0-9a-f]{32}$/);
    });

    it('answers /tick 200 with the failed key listed and still fires every other key (#16.4: one poison key got 500 forever)', async () => {
      const { transport, clock, store, lines, triggers } = await open();
      const other = '2025-11-27';
      await transport.request('POST', '/', pushBody(completion({ member: 'load_a', key: KEY })));
      await transport.request('POST', '/', pushBody(completion({ member: 'load_a', key: other })));
      clock.advance(1_500);
      store.poisonKey = other;
      const tick = await transport.request('POST', '/tick', { barrier: 'ingest-done' });
      expect(tick).toMatchObject({
        status: 200,
        body: {
          status: 'partial',
          fired: [{ key: KEY, reason: 'deadline' }],
          failures: [{ key: other, reason: 'Error: 3 INVALID_ARGUMENT: document exceeds the maximum size', permanent: false }],
        },
      });
      await triggers.drain();
      expect(triggers.unique().map((e) => e.subject)).toEqual([KEY]);
      expect(lines.filter((l) => l.baton_event === 'barrier.tick_key_failed')).toEqual([expect.objectContaining({ severity: 'ERROR', key: other })]);
    });

    it('logs every publish of a trigger with why: one decided before a crash is left by the redelivery and re-published by the tick (#16.10, issue 11)', async () => {
      const { transport, bus, lines, triggers } = await open();
      const publish = bus.publish.bind(bus);
      let killed = false;
      bus.publish = (topic, message) => {
        if (topic === 'stage-trigger' && !killed) {
          killed = true;
          return Promise.reject(new Error('process killed before publish'));
        }
        return publish(topic, message);
      };
      await transport.request('POST', '/', pushBody(completion({ member: 'load_a', key: KEY })));
      await transport.request('POST', '/', pushBody(completion({ member: 'load_b', key: KEY })));
      const last = pushBody(completion({ member: 'load_c', key: KEY }));
      expect((await transport.request('POST', '/', last)).status).toBe(500);
      expect((await transport.request('POST', '/', last)).body).toMatchObject({ status: 'ack', outcome: 'duplicate' });
      await triggers.drain();
      expect(triggers.unique()).toHaveLength(0);
      expect((await transport.request('POST', '/tick', { barrier: 'ingest-done' })).status).toBe(200);
      await triggers.drain();
      expect(triggers.unique()).toHaveLength(1);
      expect(lines.filter((l) => l.baton_event === 'trigger.published')).toEqual([
        expect.objectContaining({ key: KEY, trigger_id: `trigger:ingest-done:${KEY}`, publish_reason: 're-published by tick' }),
      ]);
    });

    it('refuses a tick for a barrier this deployment does not run', async () => {
      const { transport } = await open();
      expect((await transport.request('POST', '/tick', { barrier: 'stage-done' })).status).toBe(404);
    });

    it('answers /healthz with the pipeline hash', async () => {
      const { transport, hash } = await open();
      expect(await transport.request('GET', '/healthz', undefined)).toEqual({
        status: 200,
        body: { status: 'ok', barrier: 'ingest-done', pipeline_hash: hash },
      });
    });

    it('warns when BATON_PIPELINE_HASH differs from the loaded file and reports both hashes', async () => {
      const { transport, lines, hash } = await open({ env: { BATON_PIPELINE_HASH: '000000000000' } });
      expect(lines[0]).toMatchObject({
        severity: 'WARNING',
        baton_event: 'entry.pipeline_hash_mismatch',
        pipeline_hash: hash,
        deployed_pipeline_hash: '000000000000',
      });
      expect((await transport.request('GET', '/healthz', undefined)).body).toMatchObject({ pipeline_hash: hash, deployed_pipeline_hash: '000000000000' });
    });

    it('requires a valid OIDC token from the invoker when configured, and never logs it', async () => {
      const { transport, lines } = await open({ oidc: true });
      const body = pushBody(completion({ member: 'load_a', key: KEY }));
      const good = signer.token({ aud: AUDIENCE, email: INVOKER, email_verified: true });
      const stranger = signer.token({ aud: AUDIENCE, email: 'x@demo.iam.gserviceaccount.com', email_verified: true });
      expect((await transport.request('POST', '/', body)).status).toBe(401);
      expect((await transport.request('POST', '/', body, { authorization: `Bearer ${good}x` })).status).toBe(401);
      expect((await transport.request('POST', '/', body, { authorization: `Bearer ${stranger}` })).status).toBe(403);
      expect((await transport.request('POST', '/tick', {}, { authorization: `Bearer ${stranger}` })).status).toBe(403);
      expect(await transport.request('POST', '/', body, { authorization: `Bearer ${good}` })).toMatchObject({ status: 200, body: { outcome: 'recorded' } });
      expect((await transport.request('GET', '/healthz', undefined)).status).toBe(200);
      const logged = JSON.stringify(lines);
      for (const token of [good, stranger]) expect(logged).not.toContain(token.split('.')[2]);
      expect(lines.filter((l) => l.baton_event === 'auth.rejected')).toHaveLength(4);
    });

    it('stamps every log line with the pipeline hash and the barrier', async () => {
      const { transport, lines, hash } = await open();
      await transport.request('POST', '/', pushBody(completion({ member: 'load_a', key: KEY })));
      await transport.request('POST', '/tick', '');
      expect(lines.length).toBeGreaterThan(2);
      for (const line of lines) expect(line).toMatchObject({ pipeline_hash: hash, barrier: 'ingest-done' });
    });
  });
}

httpEntrySuite('node-http');
httpEntrySuite('functions-http');

describe('the CloudEvent entry point', () => {
  async function cloudEvent() {
    const clock = new FakeClock('2025-11-29T12:00:00Z');
    const bus = new MemoryMessageBus(clock);
    const store = new FlakyStore();
    await bus.subscribe(subscriptionOf('watch-dlq', 'ingest-complete-dlq'));
    const env = { BATON_BARRIER: 'ingest-done', BATON_PIPELINE: FIXTURE, GOOGLE_CLOUD_PROJECT: 'demo' };
    const entry = await openEntry({ env, backend: { bus, store }, clock, writeLog: () => undefined });
    const handle = createCloudEventFunction(() => Promise.resolve(entry.handler));
    const event = (message: OutgoingMessage) => ({ id: 'ev', type: 'google.cloud.pubsub.topic.v1.messagePublished', data: pushBody(message) });
    return { store, bus, handle, event, deadLetters: new Watcher(bus, 'watch-dlq') };
  }

  it('returns normally after recording a completion', async () => {
    const { handle, event, store } = await cloudEvent();
    await handle(event(completion({ member: 'load_a', key: KEY })));
    expect((await store.readKey('ingest-done', KEY))?.members.map((m) => m.member)).toEqual(['load_a']);
  });

  it('throws on a transient failure so the platform retries', async () => {
    const { handle, event, store } = await cloudEvent();
    store.failNext = true;
    await expect(handle(event(completion({ member: 'load_a', key: KEY })))).rejects.toThrow(/UNAVAILABLE/);
  });

  it('returns normally after dead-lettering a permanent error with its reason', async () => {
    const { handle, event, deadLetters } = await cloudEvent();
    await handle(event(completion({ member: 'stranger', key: KEY })));
    await deadLetters.drain();
    expect(deadLetters.deliveries[0]?.attributes.baton_dead_letter_reason).toMatch(/barrier\/unknown-member/);
  });
});

describe('openEntry', () => {
  it.each([
    ['a barrier the pipeline does not declare', { BATON_BARRIER: 'nope', BATON_PIPELINE: FIXTURE }, /no barrier "nope"/],
    ['a pipeline name that is not the bundled pipeline', { BATON_BARRIER: 'ingest-done', BATON_PIPELINE: 'other-pipeline' }, /names pipeline "other-pipeline"/],
  ])('refuses to start with %s', async (_name, env, error) => {
    const clock = new FakeClock();
    const backend = { bus: new MemoryMessageBus(clock), store: new MemoryStateStore(clock) };
    await expect(openEntry({ env: { ...env, GOOGLE_CLOUD_PROJECT: 'demo' }, backend, clock, writeLog: () => undefined })).rejects.toThrow(error);
  });

  it('answers 500 to every request while the deployment cannot start, so nothing is acked away', async () => {
    const listener = createHttpListener(() => Promise.reject(new Error('BATON_BARRIER names no barrier')), { log: () => undefined });
    let status = 0;
    const res = { writeHead: (code: number) => (status = code), end: () => undefined } as unknown as ServerResponse;
    await listener(Object.assign(Readable.from([]), { method: 'POST', url: '/', headers: {}, rawBody: Buffer.from('{}') }) as unknown as HttpRequestLike, res);
    expect(status).toBe(500);
  });
});
