import { describe, expect, it } from 'vitest';
import { validateEnvelope } from '../../../engine/runtime/envelope.ts';
import { createProcessor } from '../../../engine/sdk/create-processor.ts';
import { PermanentError } from '../../../engine/sdk/permanent-error.ts';
import { ProcessorConfigError } from '../../../engine/sdk/processor-config-error.ts';
import { createTestSigner } from '../entry/oidc-test-keys.ts';
import { completionMessage, PIPELINE, post, pushBody, setup, triggerMessage, workMessage } from './sdk-fixtures.ts';

const AUDIENCE = 'https://bdl-injuries.example.run.app';
const INVOKER = 'pubsub-invoker@demo.iam.gserviceaccount.com';
const signer = createTestSigner();

describe('push OIDC, with the same rules as the barrier entry points', () => {
  const oidc = { audience: AUDIENCE, emails: [INVOKER], certs: signer.certs };

  it('answers 401 to a push without a bearer token, and never calls handle', async () => {
    const { processor, calls } = await setup('bdl_injuries', undefined, { oidc });
    const reply = await processor.handle(post(pushBody(completionMessage('nba_scrapers'))));
    expect(reply.status).toBe(401);
    expect(calls).toHaveLength(0);
  });

  it('answers 403 to a valid token signed for another service account', async () => {
    const { processor, calls } = await setup('bdl_injuries', undefined, { oidc });
    const token = signer.token({ aud: AUDIENCE, email: 'someone-else@demo.iam.gserviceaccount.com', email_verified: true });
    const reply = await processor.handle(post(pushBody(completionMessage('nba_scrapers')), { authorization: `Bearer ${token}` }));
    expect(reply.status).toBe(403);
    expect(calls).toHaveLength(0);
  });

  it('runs the push of the configured invoker', async () => {
    const { processor, calls } = await setup('bdl_injuries', undefined, { oidc });
    const token = signer.token({ aud: AUDIENCE, email: INVOKER, email_verified: true });
    const reply = await processor.handle(post(pushBody(completionMessage('nba_scrapers')), { authorization: `Bearer ${token}` }));
    expect(reply.status).toBe(200);
    expect(calls).toHaveLength(1);
  });

  it('turns the checks on from BATON_OIDC_AUDIENCE, as the barriers do', async () => {
    const { processor } = await setup('bdl_injuries', undefined, { env: { BATON_OIDC_AUDIENCE: AUDIENCE, BATON_OIDC_EMAIL: INVOKER } });
    expect((await processor.handle(post(pushBody(completionMessage('nba_scrapers'))))).status).toBe(401);
  });

  it('refuses to start with BATON_OIDC_EMAIL but no BATON_OIDC_AUDIENCE', () => {
    const start = () =>
      createProcessor({ pipeline: PIPELINE, name: 'bdl_injuries', handle: () => ({ status: 'success' }), env: { BATON_OIDC_EMAIL: INVOKER } });
    expect(start).toThrow(ProcessorConfigError);
    expect(start).toThrow(/BATON_OIDC_AUDIENCE is not/);
  });
});

describe('status rules', () => {
  it('answers 400 to a body that is not JSON, and to JSON that is not a push body', async () => {
    const { processor, calls } = await setup('bdl_injuries');
    expect((await processor.handle(post('{not json'))).status).toBe(400);
    expect((await processor.handle(post(JSON.stringify({ hello: 'world' })))).status).toBe(400);
    expect(calls).toHaveLength(0);
  });

  it('answers 400 to a message that is not a valid envelope (so the subscription dead-letters it), logs it as an ERROR with its data, and publishes nothing', async () => {
    const { processor, calls, lines, published } = await setup('bdl_injuries');
    const bad = { id: 'm-1', attributes: { 'ce-id': 'm-1' }, data: '{"key":"2025-11-28"}' };
    const reply = await processor.handle(post(pushBody(bad)));
    expect(reply.status).toBe(400);
    expect(reply.body.status).toBe('rejected');
    expect(calls).toHaveLength(0);
    expect(await published()).toHaveLength(0);
    const line = lines.find((l) => l.baton_event === 'processor.rejected');
    expect(line?.severity).toBe('ERROR');
    expect(line?.data).toBe(bad.data);
  });

  it('rejects an envelope of a type the graph never delivers to this processor (a work item to a raw processor)', async () => {
    const { processor, calls } = await setup('bdl_injuries');
    const reply = await processor.handle(post(pushBody(workMessage(7))));
    expect(reply.body).toMatchObject({ status: 'rejected' });
    expect(String(reply.body.reason)).toMatch(/started by dev\.baton\.completion\.v1 on nba-phase1-scrapers-complete, got dev\.baton\.work\.v1/);
    expect(calls).toHaveLength(0);
  });

  it('rejects a dependency trigger addressed to another processor', async () => {
    const { processor, calls } = await setup('player_composite_factors');
    const reply = await processor.handle(post(pushBody(triggerMessage('ml_feature_store-dependencies', { target: 'ml_feature_store' }))));
    expect(reply.body).toMatchObject({ status: 'rejected' });
    expect(calls).toHaveLength(0);
    const mine = await processor.handle(post(pushBody(triggerMessage('player_composite_factors-dependencies', { target: 'player_composite_factors' }))));
    expect(mine.body).toMatchObject({ status: 'completed' });
  });

  it('rejects a trigger whose key breaks the key rule', async () => {
    const { processor } = await setup('player_game_summary');
    const reply = await processor.handle(post(pushBody(triggerMessage('phase2-to-phase3', { key: '2025-02-30' }))));
    expect(reply.body).toMatchObject({ status: 'rejected' });
    expect(String(reply.body.reason)).toMatch(/not a date/);
  });

  it('publishes one failed completion and acks when handle throws a PermanentError', async () => {
    const { processor, published } = await setup('bdl_injuries', () => {
      throw new PermanentError('the source has no injuries file for this date', { code: 'source/missing' });
    });
    const reply = await processor.handle(post(pushBody(completionMessage('nba_scrapers'))));
    expect(reply.status).toBe(200);
    const [completion, ...more] = await published();
    expect(more).toHaveLength(0);
    expect(completion?.data).toMatchObject({ status: 'failed', error_message: 'the source has no injuries file for this date', error_type: 'source/missing' });
    expect(validateEnvelope(completion)).toEqual([]);
  });

  it('answers 500 and publishes nothing when handle throws any other error; the redelivery runs again and publishes', async () => {
    let attempts = 0;
    const { processor, published, calls } = await setup('bdl_injuries', () => {
      attempts++;
      if (attempts === 1) throw new Error('BigQuery: 503 backend error');
      return { status: 'success', recordCount: 12 };
    });
    const message = completionMessage('nba_scrapers');
    const first = await processor.handle(post(pushBody(message, 1)));
    expect(first.status).toBe(500);
    expect(await published()).toHaveLength(0);
    const second = await processor.handle(post(pushBody(message, 2)));
    expect(second.status).toBe(200);
    expect(calls).toHaveLength(2);
    const completions = await published();
    expect(completions.map((c) => c.data.status)).toEqual(['success']);
    expect(calls[1]?.deliveryAttempt).toBe(2);
  });

  it('answers 500 when the completion cannot be published, and publishes the same message id on redelivery', async () => {
    const { processor, bus, published } = await setup('bdl_injuries');
    let fail = true;
    const publish = bus.publish.bind(bus);
    bus.publish = (topic, message) => (fail ? Promise.reject(new Error('14 UNAVAILABLE')) : publish(topic, message));
    const message = completionMessage('nba_scrapers');
    const first = await processor.handle(post(pushBody(message)));
    expect(first.status).toBe(500);
    fail = false;
    const second = await processor.handle(post(pushBody(message)));
    expect(second.status).toBe(200);
    const [completion] = await published();
    expect(completion?.id).toBe((second.body.completion as { id: string }).id);
  });

  it('does not ack before the work is done: nothing is published while handle is still running', async () => {
    let finish: (value: { status: 'success' }) => void = () => undefined;
    const { processor, published } = await setup('bdl_injuries', () => new Promise((resolve) => (finish = resolve)));
    const reply = processor.handle(post(pushBody(completionMessage('nba_scrapers'))));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await published()).toHaveLength(0);
    finish({ status: 'success' });
    expect((await reply).status).toBe(200);
    expect(await published()).toHaveLength(1);
  });

  it('answers GET /healthz with 200 and other methods with 405', async () => {
    const { processor } = await setup('bdl_injuries');
    expect((await processor.handle({ method: 'GET', path: '/healthz', headers: {}, body: '' })).status).toBe(200);
    expect((await processor.handle({ method: 'GET', path: '/', headers: {}, body: '' })).status).toBe(405);
  });
});
