import { describe, expect, it } from 'vitest';
import type { BatonHandler, EntryRequest, EntryResponse } from '../../../engine/entry/baton-handler.ts';
import type { LogEntry } from '../../../engine/entry/cloud-logger.ts';
import { startPushServer } from '../../../engine/entry/push-server.ts';

/** A promise and its resolve, to step a request through by hand. */
function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve = (): void => undefined;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/** A handler whose every request waits for `release`, after telling `entered`. */
function heldHandler(entered: () => void, release: Promise<void>, logs: LogEntry[]): BatonHandler {
  const handler = {
    handle: async (request: EntryRequest): Promise<EntryResponse> => {
      entered();
      await release;
      return { status: 200, body: { status: 'ack', path: request.path } };
    },
    respond: (status: number, body: Record<string, unknown>): EntryResponse => ({ status, body }),
    log: (entry: LogEntry) => logs.push(entry),
  };
  return handler as unknown as BatonHandler;
}

describe('startPushServer close() (#16.9: scale-in cut every in-flight push)', () => {
  it('lets an in-flight push finish and answers it before close() resolves (bug: closeAllConnections cut it)', async () => {
    const entered = deferred();
    const release = deferred();
    const logs: LogEntry[] = [];
    const server = await startPushServer({ handler: heldHandler(entered.resolve, release.promise, logs) });
    const response = fetch(`${server.url}/push`, { method: 'POST', body: '{}' });
    await entered.promise;
    let closed = false;
    const closing = server.close().then(() => (closed = true));
    // The handler is still holding the request: close() waits for it.
    await Promise.resolve();
    expect(closed).toBe(false);
    release.resolve();
    const answered = await response;
    expect(answered.status).toBe(200);
    expect(await answered.json()).toEqual({ status: 'ack', path: '/push' });
    await closing;
    expect(closed).toBe(true);
    expect(logs).toEqual([]);
  });

  it('cuts a request still in flight when the grace period ends, and logs it as a WARNING', async () => {
    const entered = deferred();
    const release = deferred();
    const logs: LogEntry[] = [];
    const server = await startPushServer({ handler: heldHandler(entered.resolve, release.promise, logs), drainMs: 0 });
    const response = fetch(`${server.url}/push`, { method: 'POST', body: '{}' });
    await entered.promise;
    await server.close();
    await expect(response).rejects.toThrow();
    expect(logs).toEqual([expect.objectContaining({ severity: 'WARNING', baton_event: 'entry.drain_timeout', in_flight: 1 })]);
    release.resolve();
  });
});
