import { describe, expect, it } from 'vitest';
import { pubsubClientOptions } from '../../../engine/adapters/gcp/pubsub-client-options.ts';

describe('pubsubClientOptions', () => {
  it.each([
    ['real Pub/Sub without an emulator host', 'demo', undefined, { projectId: 'demo' }],
    ['real Pub/Sub with an empty emulator host', 'demo', '', { projectId: 'demo' }],
    ['the emulator at host:port', 'demo', 'localhost:8681', { projectId: 'demo', servicePath: 'localhost', port: 8681, emulatorMode: true }],
    ['the emulator on its default port when none is given', undefined, 'emulator', { servicePath: 'emulator', port: 8085, emulatorMode: true }],
  ])('connects to %s', (_title, projectId, host, expected) => {
    expect(pubsubClientOptions(projectId, host)).toEqual(expected);
  });
});
