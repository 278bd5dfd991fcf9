import { PubSub } from '@google-cloud/pubsub';
import { afterEach, describe, expect, it } from 'vitest';
import { pubsubClientOptions } from '../../../engine/adapters/gcp/pubsub-client-options.ts';

describe('pubsubClientOptions', () => {
  const saved = process.env.PUBSUB_EMULATOR_HOST;
  afterEach(() => {
    if (saved === undefined) delete process.env.PUBSUB_EMULATOR_HOST;
    else process.env.PUBSUB_EMULATOR_HOST = saved;
  });

  it.each([
    ['real Pub/Sub without an emulator host', 'demo', undefined, { projectId: 'demo' }],
    ['real Pub/Sub with an empty emulator host', 'demo', '', { projectId: 'demo' }],
    ['the emulator at host:port', 'demo', 'localhost:8681', { projectId: 'demo', apiEndpoint: 'localhost:8681', emulatorMode: true }],
    ['the emulator on its default port when none is given', undefined, 'emulator', { apiEndpoint: 'emulator:8085', emulatorMode: true }],
  ])('connects to %s', (_title, projectId, host, expected) => {
    expect(pubsubClientOptions(projectId, host)).toEqual(expected);
  });

  it('connects to the host it is given even when PUBSUB_EMULATOR_HOST names another (a rehearsal publishes through per-account guards)', async () => {
    process.env.PUBSUB_EMULATOR_HOST = '127.0.0.1:1';
    const pubsub = new PubSub(pubsubClientOptions('demo', '127.0.0.1:8681'));
    expect(pubsub.options).toMatchObject({ servicePath: '127.0.0.1', port: 8681 });
    await pubsub.close();
  });
});
