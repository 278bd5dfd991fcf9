import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { playerGameSummary } from '../../../examples/sdk-processor/player-game-summary.ts';
import { MemoryMessageBus } from '../../../engine/adapters/memory/memory-message-bus.ts';
import { packageRoot } from '../../../engine/config/package-root.ts';
import { parseMessage, validateEnvelope } from '../../../engine/runtime/envelope.ts';
import { FakeClock } from '../../../engine/runtime/fake-clock.ts';
import * as sdk from '../../../engine/sdk/index.ts';
import { KEY, pushBody, triggerMessage } from './sdk-fixtures.ts';

let server: Server | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
  server = undefined;
});

describe('examples/sdk-processor', () => {
  it('serves player_game_summary over real HTTP on 127.0.0.1: a pushed trigger becomes one completion on nba-phase3-analytics-complete', async () => {
    const bus = new MemoryMessageBus(new FakeClock('2025-11-29T12:00:00Z'));
    await bus.subscribe({
      name: 'watch',
      topic: 'nba-phase3-analytics-complete',
      ackDeadlineMs: 60_000,
      maxDeliveryAttempts: 5,
      minBackoffMs: 1,
      maxBackoffMs: 1,
    });
    const processor = playerGameSummary({ publisher: bus, env: {}, logger: { log: () => undefined } });
    server = createServer((req, res) => void processor.listener(req, res));
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const send = () =>
      fetch(`http://127.0.0.1:${port}/`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: pushBody(triggerMessage('phase2-to-phase3')),
      });

    const reply = await send();
    expect(reply.status).toBe(200);
    expect(await reply.json()).toMatchObject({ status: 'completed', processor: 'player_game_summary' });
    expect((await send()).status).toBe(200); // a redelivery: acked, not run again
    const messages = await bus.pull('watch', 10);
    expect(messages).toHaveLength(1);
    const completion = parseMessage(messages[0] ?? { id: '', attributes: {}, data: '' });
    expect(validateEnvelope(completion)).toEqual([]);
    expect(completion.data).toMatchObject({ processor_name: 'player_game_summary', key: KEY, status: 'success', record_count: 12 });
  });
});

describe('the baton/processor export', () => {
  it('points package.json exports at the SDK, and bin/processor.js re-exports every runtime export of engine/sdk/index.ts', () => {
    const manifest = JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { exports: Record<string, { types: string; default: string }> };
    expect(manifest.exports['./processor']).toEqual({ types: './engine/sdk/index.ts', default: './bin/processor.js' });
    const shim = readFileSync(join(packageRoot(), 'bin/processor.js'), 'utf8');
    const listed =
      /export const \{([^}]*)\}/
        .exec(shim)?.[1]
        ?.split(',')
        .map((name) => name.trim())
        .filter(Boolean) ?? [];
    expect(listed.sort()).toEqual(Object.keys(sdk).sort());
  });
});
