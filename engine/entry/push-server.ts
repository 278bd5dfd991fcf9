// Data flow: startPushServer → node:http server on host:port → createHttpListener → BatonHandler (given, or opened from env by openEntry).
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { BatonHandler } from './baton-handler.ts';
import { createHttpListener } from './http-adapter.ts';
import { openEntry, type OpenEntryOptions } from './open-entry.ts';

/** Where to listen, and either a ready handler or what `openEntry` needs to build one. */
export interface PushServerOptions extends OpenEntryOptions {
  /** Default 0: any free port (read it from `url`). */
  readonly port?: number;
  /** Default `127.0.0.1`; a container listens on `0.0.0.0`. */
  readonly host?: string;
  /** Serve this handler instead of opening one from the environment. */
  readonly handler?: BatonHandler;
  /**
   * How long `close()` lets in-flight requests finish before cutting them (default `DEFAULT_DRAIN_MS`).
   * Cloud Run stops an instance 10 s after SIGTERM; the rest of that is left to close the clients.
   */
  readonly drainMs?: number;
}

/** Default grace for in-flight requests on `close()`: 8 s of Cloud Run's 10 s after SIGTERM. */
export const DEFAULT_DRAIN_MS = 8_000;

/** A running push server. */
export interface PushServer {
  /** `http://host:port` — the push endpoint; `<url>/tick` and `<url>/healthz` beside it. */
  readonly url: string;
  readonly handler: BatonHandler;
  /**
   * Drains, then closes (#16.9): stops accepting connections, lets in-flight requests finish within
   * `drainMs`, cuts what is left (idle keep-alive connections, requests past the grace), and only then
   * closes the clients this server opened — so no request is answered from a terminated client.
   */
  close(): Promise<void>;
}

/** Starts the generic entry point as a local HTTP server (Pub/Sub emulator push, Cloud Run, `baton` CLI). */
export async function startPushServer(options: PushServerOptions = {}): Promise<PushServer> {
  const opened = options.handler === undefined ? await openEntry(options) : undefined;
  const handler = options.handler ?? opened?.handler;
  if (handler === undefined) throw new Error('startPushServer: no handler');
  const listener = createHttpListener(() => Promise.resolve(handler));
  const inFlight = new Set<Promise<void>>();
  const server = createServer((req, res) => {
    const handled = listener(req, res);
    inFlight.add(handled);
    // A rejection still reaches the process's unhandled-rejection logger (serve.ts); this only forgets it.
    void handled.finally(() => inFlight.delete(handled));
  });
  const host = options.host ?? '127.0.0.1';
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, host, () => resolve());
    });
  } catch (error) {
    await opened?.close();
    throw error;
  }
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    handler,
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const cut = await drain(inFlight, options.drainMs ?? DEFAULT_DRAIN_MS);
      if (cut > 0) {
        handler.log({
          severity: 'WARNING',
          message: `shutdown: ${cut} request(s) still in flight after the grace period; cut`,
          baton_event: 'entry.drain_timeout',
          in_flight: cut,
        });
      }
      // Push connections are kept alive; without this, close() would wait for them to time out.
      server.closeAllConnections();
      await closed;
      await opened?.close();
    },
  };
}

/**
 * Waits until no request is in flight (a keep-alive connection may start another while we wait) or
 * `graceMs` passed; returns how many are still in flight.
 */
async function drain(inFlight: ReadonlySet<Promise<void>>, graceMs: number): Promise<number> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<'expired'>((resolve) => {
    timer = setTimeout(() => resolve('expired'), graceMs);
  });
  try {
    while (inFlight.size > 0) {
      const settled = Promise.allSettled([...inFlight]).then(() => 'settled' as const);
      if ((await Promise.race([settled, expired])) === 'expired') break;
    }
  } finally {
    clearTimeout(timer);
  }
  return inFlight.size;
}
