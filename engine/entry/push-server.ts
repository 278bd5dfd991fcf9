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
}

/** A running push server. */
export interface PushServer {
  /** `http://host:port` — the push endpoint; `<url>/tick` and `<url>/healthz` beside it. */
  readonly url: string;
  readonly handler: BatonHandler;
  /** Stops listening, then closes what this server opened. */
  close(): Promise<void>;
}

/** Starts the generic entry point as a local HTTP server (Pub/Sub emulator push, Cloud Run, `baton` CLI). */
export async function startPushServer(options: PushServerOptions = {}): Promise<PushServer> {
  const opened = options.handler === undefined ? await openEntry(options) : undefined;
  const handler = options.handler ?? opened?.handler;
  if (handler === undefined) throw new Error('startPushServer: no handler');
  const listener = createHttpListener(() => Promise.resolve(handler));
  const server = createServer((req, res) => void listener(req, res));
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
      // Push connections are kept alive; without this, close() would wait for them to time out.
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await opened?.close();
    },
  };
}
