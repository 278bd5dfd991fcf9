import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { provisionTopology } from '../../engine/adapters/gcp/index.ts';
import { loadPipeline } from '../../engine/config/load-pipeline.ts';
import { packageRoot } from '../../engine/config/package-root.ts';
import { startPushServer, type PushServer } from '../../engine/entry/push-server.ts';
import type { OutgoingMessage } from '../../engine/ports/message-bus.ts';
import { FakeClock } from '../../engine/runtime/fake-clock.ts';
import { completion } from '../contract/fixtures.ts';
import { createTestSigner } from '../unit/entry/oidc-test-keys.ts';
import { EMULATORS_AVAILABLE, freshProjectId, useEmulators } from './emulator-harness.ts';

const FIXTURE = join(packageRoot(), 'test/fixtures/entry/deadline.yaml');
const AUDIENCE = 'https://ingest-done.example.run.app';
const INVOKER = 'pubsub-invoker@push-it.iam.gserviceaccount.com';
const emulators = useEmulators();
const signer = createTestSigner();
const goodToken = (): string => signer.token({ aud: AUDIENCE, email: INVOKER, email_verified: true });

interface Pulled {
  readonly attributes: Record<string, string>;
  readonly data: string;
}

/** Pub/Sub emulator REST calls for the test's own watching subscriptions. */
function emulatorRest(projectId: string) {
  const base = (): string => `http://${emulators().pubsubHost}/v1/projects/${projectId}`;
  return {
    async watch(subscription: string, topic: string): Promise<void> {
      const response = await fetch(`${base()}/subscriptions/${subscription}`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ topic: `projects/${projectId}/topics/${topic}`, ackDeadlineSeconds: 60 }),
      });
      if (!response.ok) throw new Error(`creating ${subscription}: HTTP ${response.status} ${await response.text()}`);
    },
    /** Pulls and acks until `expected` messages arrived (or ~4 s passed), then once more to catch extras. */
    async drain(subscription: string, expected: number): Promise<Pulled[]> {
      const out: Pulled[] = [];
      const pullOnce = async (): Promise<number> => {
        const response = await fetch(`${base()}/subscriptions/${subscription}:pull`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ maxMessages: 100, returnImmediately: true }),
        });
        const body = (await response.json()) as { receivedMessages?: { ackId: string; message: { data?: string; attributes?: Record<string, string> } }[] };
        const received = body.receivedMessages ?? [];
        for (const r of received) out.push({ attributes: r.message.attributes ?? {}, data: Buffer.from(r.message.data ?? '', 'base64').toString('utf8') });
        if (received.length > 0) {
          await fetch(`${base()}/subscriptions/${subscription}:acknowledge`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ ackIds: received.map((r) => r.ackId) }),
          });
        }
        return received.length;
      };
      // Polls until the expected messages are there (bounded by the test's timeout on a starved machine).
      for (let waited = 0; out.length < expected && waited < 30_000; waited += 100) {
        if ((await pullOnce()) === 0) await new Promise((resolve) => setTimeout(resolve, 100));
      }
      await new Promise((resolve) => setTimeout(resolve, 300));
      await pullOnce();
      return out;
    },
  };
}

function pushBody(message: OutgoingMessage, deliveryAttempt = 1): Record<string, unknown> {
  return {
    message: { data: Buffer.from(message.data).toString('base64'), attributes: { ...message.attributes, baton_id: message.id }, messageId: `ps-${message.id}` },
    subscription: `projects/p/subscriptions/ingest-done--ingest-complete`,
    deliveryAttempt,
  };
}

describe.skipIf(!EMULATORS_AVAILABLE)('the push handler on the Pub/Sub and Firestore emulators', () => {
  const projectId = freshProjectId('push');
  const rest = emulatorRest(projectId);
  const lines: Record<string, unknown>[] = [];
  // Frozen unless advanced: slow first emulator requests must not pass the fixture's 1 s deadline by accident.
  const clock = new FakeClock(Date.now());
  let server: PushServer;

  /** Posts with a valid invoker token unless given another token, or `null` for none. */
  const post = async (path: string, body: unknown, token: string | null = goodToken()): Promise<{ status: number; body: Record<string, unknown> }> => {
    const response = await fetch(`${server.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token === null ? {} : { authorization: `Bearer ${token}` }) },
      body: JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };

  beforeAll(async () => {
    const loaded = loadPipeline(FIXTURE);
    if (loaded.pipeline === undefined) throw new Error('fixture does not load');
    await provisionTopology(loaded.pipeline, { projectId, pubsubEmulatorHost: emulators().pubsubHost });
    await rest.watch('watch-trigger', 'stage-trigger');
    await rest.watch('watch-dlq', 'ingest-complete-dlq');
    server = await startPushServer({
      env: { BATON_BARRIER: 'ingest-done', BATON_PIPELINE: FIXTURE, GOOGLE_CLOUD_PROJECT: projectId, BATON_OIDC_AUDIENCE: AUDIENCE, BATON_OIDC_EMAIL: INVOKER },
      certs: signer.certs,
      clock,
      writeLog: (line) => lines.push(JSON.parse(line) as Record<string, unknown>),
    });
  });

  afterAll(async () => {
    await server?.close();
  });

  it('records every member, absorbs a duplicate, dead-letters a malformed message, refuses bad tokens, and publishes exactly one trigger', async () => {
    const key = '2025-11-28';
    for (const member of ['load_a', 'load_b', 'load_c']) {
      expect(await post('/', pushBody(completion({ member, key })))).toMatchObject({ status: 200, body: { status: 'ack', outcome: 'recorded' } });
    }
    expect((await post('/', pushBody(completion({ member: 'load_b', key }), 2))).body).toMatchObject({ status: 'ack', outcome: 'duplicate' });

    const malformed = await post('/', pushBody({ id: 'junk-1', attributes: { 'ce-subject': key }, data: '{"half":' }));
    expect(malformed).toMatchObject({ status: 200, body: { status: 'dead-lettered', deadLetterTopic: 'ingest-complete-dlq' } });

    const stranger = signer.token({ aud: AUDIENCE, email: 'someone@else.iam.gserviceaccount.com', email_verified: true });
    expect((await post('/', pushBody(completion({ member: 'load_a', key: '2025-11-20' })), `${goodToken()}x`)).status).toBe(401);
    expect((await post('/', pushBody(completion({ member: 'load_a', key: '2025-11-20' })), stranger)).status).toBe(403);
    expect((await post('/', pushBody(completion({ member: 'load_a', key: '2025-11-20' })), null)).status).toBe(401);

    const triggers = await rest.drain('watch-trigger', 1);
    expect(triggers.map((t) => t.attributes.baton_id)).toEqual(['trigger:ingest-done:2025-11-28']);
    expect(JSON.parse(triggers[0]?.data ?? '{}')).toMatchObject({
      reason: 'all_complete',
      members_completed: ['load_a', 'load_b', 'load_c'],
      pipeline_hash: server.handler.respond(200, {}).body.pipeline_hash,
    });

    const letters = await rest.drain('watch-dlq', 1);
    expect(letters).toHaveLength(1);
    expect(letters[0]).toMatchObject({
      data: '{"half":',
      attributes: { baton_id: 'junk-1', baton_dead_letter_reason: expect.stringContaining('envelope/invalid') as unknown },
    });
  });

  it('fires a deadline tier on /tick, once, even with completions and ticks racing', async () => {
    const quiet = '2025-11-27';
    const racing = '2025-11-26';
    await post('/', pushBody(completion({ member: 'load_a', key: quiet })));
    await post('/', pushBody(completion({ member: 'load_a', key: racing })));
    expect((await post('/tick', { barrier: 'ingest-done' })).body).toMatchObject({ status: 'ok', fired: [] });
    clock.advance(1_500);

    const results = await Promise.all([
      post('/', pushBody(completion({ member: 'load_b', key: racing }))),
      post('/tick', { barrier: 'ingest-done' }),
      post('/', pushBody(completion({ member: 'load_c', key: racing }))),
      post('/tick', { barrier: 'ingest-done' }),
    ]);
    expect(results.map((r) => r.status)).toEqual([200, 200, 200, 200]);
    expect((await post('/tick', { barrier: 'ingest-done' })).body).toMatchObject({ fired: [] });

    const triggers = await rest.drain('watch-trigger', 2);
    const ids = triggers.map((t) => t.attributes.baton_id).sort();
    expect(ids).toEqual(['trigger:ingest-done:2025-11-26', 'trigger:ingest-done:2025-11-27']);
    const quietTrigger = triggers.find((t) => t.attributes.baton_id === 'trigger:ingest-done:2025-11-27');
    expect(JSON.parse(quietTrigger?.data ?? '{}')).toMatchObject({
      reason: 'deadline',
      deadline_tier: { tier: 1, after: '1s' },
      members_missing: ['load_b', 'load_c'],
    });

    const missed = lines.filter((l) => l.baton_event === 'barrier.deadline_missed' && l.key === quiet);
    expect(missed).toEqual([expect.objectContaining({ severity: 'WARNING', barrier: 'ingest-done', correlation_id: `run-${quiet}` })]);
    expect(missed[0]?.['logging.googleapis.com/trace']).toMatch(new RegExp(`^projects/${projectId}/traces/[0-9a-f]{32}$`));
  });
});
