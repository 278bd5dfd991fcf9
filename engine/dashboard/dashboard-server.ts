import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PAGE_HTML, PAGE_SCRIPT, PAGE_STYLE } from './dashboard-page.ts';
import type { DashboardSnapshot } from './dashboard-snapshot.ts';

/**
 * state → snapshot → HTTP (JSON, server-sent events) → the page. A small node:http server bound to
 * 127.0.0.1: the page, the diagram, one JSON snapshot endpoint, one event stream that sends a snapshot
 * whenever it changes (each client's key is re-read every `pollMs`), and a redrive endpoint.
 */
export interface DashboardServerOptions {
  /** The topology diagram (Graphviz SVG; each node's `<title>` is its component id). */
  readonly svg: string;
  /** Reads the snapshot of a key (undefined: the first known key). */
  readonly read: (key: string | undefined) => Promise<DashboardSnapshot>;
  /** Redrives one dead letter by its row id and says what happened; absent when the backend cannot. */
  readonly redrive?: (id: string) => Promise<string>;
  /** 0 picks a free port. */
  readonly port: number;
  /** How often each open page's key is re-read (default 1000 ms). */
  readonly pollMs?: number;
}

/** A dashboard server listening on 127.0.0.1. */
export interface RunningDashboard {
  readonly url: string;
  readonly port: number;
  /** Ends every event stream and stops listening. */
  close(): Promise<void>;
}

/** The header a redrive must carry: a cross-site form or `fetch` without a preflight cannot send it. */
export const REDRIVE_HEADER = 'x-baton-dashboard';

/** Starts the dashboard on 127.0.0.1 only (never another interface: it can redrive messages). */
export async function startDashboardServer(options: DashboardServerOptions): Promise<RunningDashboard> {
  const pollMs = options.pollMs ?? 1000;
  const streams = new Set<() => void>();
  let port = options.port;
  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      if (!response.headersSent) json(response, 500, { error: messageOf(error) });
      else response.end();
    });
  });

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    // A page on another site that resolves its own name to 127.0.0.1 (DNS rebinding) sends its own
    // Host; only the names of this machine's loopback address are answered.
    const host = request.headers.host ?? '';
    if (host !== `127.0.0.1:${port}` && host !== `localhost:${port}`) return json(response, 403, { error: `unexpected Host "${host}"` });
    const url = new URL(request.url ?? '/', `http://${host}`);
    const key = url.searchParams.get('key') ?? undefined;
    const route = `${request.method ?? 'GET'} ${url.pathname}`;
    switch (route) {
      case 'GET /':
        return send(response, 200, 'text/html; charset=utf-8', PAGE_HTML);
      case 'GET /app.js':
        return send(response, 200, 'text/javascript; charset=utf-8', PAGE_SCRIPT);
      case 'GET /app.css':
        return send(response, 200, 'text/css; charset=utf-8', PAGE_STYLE);
      case 'GET /diagram.svg':
        return send(response, 200, 'image/svg+xml', options.svg);
      case 'GET /api/snapshot':
        return json(response, 200, await options.read(key));
      case 'GET /api/events':
        return stream(request, response, key);
      case 'POST /api/redrive':
        return redrive(request, response);
      default:
        return json(response, 404, { error: `no ${route}` });
    }
  }

  /** Server-sent events: a `snapshot` event now and on every change; a `problem` event when a read fails. */
  function stream(request: IncomingMessage, response: ServerResponse, key: string | undefined): void {
    response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
    let last = '';
    let timer: NodeJS.Timeout | undefined;
    let open = true;
    const end = (): void => {
      open = false;
      clearTimeout(timer);
      streams.delete(end);
      response.end();
    };
    streams.add(end);
    request.on('close', end);
    // One read at a time per page: the next starts `pollMs` after the last one ended.
    const poll = async (): Promise<void> => {
      let event: string;
      try {
        const data = JSON.stringify(await options.read(key));
        event = data === last ? '' : `event: snapshot\ndata: ${data}\n\n`;
        last = data;
      } catch (error) {
        event = `event: problem\ndata: ${JSON.stringify({ error: messageOf(error) })}\n\n`;
        last = '';
      }
      if (!open) return;
      if (event !== '') response.write(event);
      timer = setTimeout(() => void poll(), pollMs);
    };
    void poll();
  }

  async function redrive(request: IncomingMessage, response: ServerResponse): Promise<void> {
    if (request.headers[REDRIVE_HEADER] !== '1') return json(response, 403, { error: `a redrive needs the ${REDRIVE_HEADER}: 1 header` });
    if (options.redrive === undefined) return json(response, 501, { error: 'this backend cannot redrive from the dashboard' });
    let body: { id?: unknown };
    try {
      body = JSON.parse(await readBody(request)) as { id?: unknown };
    } catch {
      return json(response, 400, { error: 'the body must be JSON: {"id": "<dead letter id>"}' });
    }
    if (typeof body.id !== 'string') return json(response, 400, { error: 'the body must name the dead letter: {"id": "<dead letter id>"}' });
    return json(response, 200, { message: await options.redrive(body.id) });
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, '127.0.0.1', () => resolve());
  });
  port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/`,
    port,
    close: async () => {
      for (const end of [...streams]) end();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function send(response: ServerResponse, status: number, type: string, body: string): void {
  response.writeHead(status, {
    'content-type': type,
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    'content-security-policy': "default-src 'self'; style-src 'self'; img-src 'self' data:",
  });
  response.end(body);
}

function json(response: ServerResponse, status: number, value: unknown): void {
  send(response, status, 'application/json; charset=utf-8', JSON.stringify(value));
}

/** A request body up to 64 KiB (a redrive names one id). */
async function readBody(request: IncomingMessage): Promise<string> {
  let body = '';
  for await (const chunk of request) {
    body += String(chunk);
    if (body.length > 65_536) throw new Error('request body too large');
  }
  return body;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? (error.message.split('\n')[0] ?? '') : String(error);
}
