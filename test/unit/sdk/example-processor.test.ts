import { readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { playerGameSummary } from '../../../examples/sdk-processor/player-game-summary.ts';
import { MemoryMessageBus } from '../../../engine/adapters/memory/memory-message-bus.ts';
import { packageRoot } from '../../../engine/config/package-root.ts';
import type { HttpRequestLike } from '../../../engine/entry/http-adapter.ts';
import { parseMessage, validateEnvelope } from '../../../engine/runtime/envelope.ts';
import { FakeClock } from '../../../engine/runtime/fake-clock.ts';
import * as sdk from '../../../engine/sdk/index.ts';
import { KEY, pushBody, setup, triggerMessage } from './sdk-fixtures.ts';

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

describe('other transports and loading', () => {
  it('serves functions-framework requests, whose body functions.http has already read into rawBody', async () => {
    const { processor, published } = await setup('player_game_summary');
    const req = Object.assign(Readable.from([]), {
      method: 'POST',
      url: '/',
      headers: { 'content-type': 'application/json' },
      rawBody: Buffer.from(pushBody(triggerMessage('phase2-to-phase3'))),
    }) as unknown as HttpRequestLike;
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
    await processor.listener(req, res);
    expect(status).toBe(200);
    expect(JSON.parse(payload)).toMatchObject({ status: 'completed' });
    expect(await published()).toHaveLength(1);
  });

  it('loads without the Pub/Sub and auth clients: the bundle imports them only when a publish or a token check needs them', async () => {
    // As `import 'baton/processor'` does from plain Node: bundles the SDK on first import.
    await import(pathToFileURL(join(packageRoot(), 'bin', 'processor.js')).href);
    const cache = join(packageRoot(), 'node_modules', '.cache', 'baton');
    const folder = readdirSync(cache)
      .filter((name) => name.startsWith('processor-') && !name.endsWith('.tmp'))
      .map((name) => join(cache, name))
      .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0];
    expect(folder).toBeDefined();
    const eager = new Set<string>();
    const visit = (file: string): void => {
      if (eager.has(file)) return;
      eager.add(file);
      for (const [, chunk] of readFileSync(join(folder ?? '', file), 'utf8').matchAll(/^import [^;]*?from "\.\/([^"]+)";/gms)) visit(chunk ?? '');
    };
    visit('index.js');
    const statics = [...eager].flatMap((file) =>
      [...readFileSync(join(folder ?? '', file), 'utf8').matchAll(/^import [^;]*?from "([^".][^"]*)";/gms)].map((m) => m[1]),
    );
    expect(statics.filter((name) => /google/.test(name ?? ''))).toEqual([]);
  });
});
