// Data flow: node:http or functions.http (req, res) → EntryRequest → BatonHandler.handle → JSON response (2xx ack · 4xx refused · 5xx retry).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { BatonHandler, EntryRequest, EntryResponse } from './baton-handler.ts';
import { CloudLogger, type Logger } from './cloud-logger.ts';

/** A Node request, or the Express-style one `functions.http` passes (its body already read into `rawBody` / `body`). */
export type HttpRequestLike = IncomingMessage & { rawBody?: Buffer; body?: unknown };

/** A Node `(req, res)` listener. */
export type HttpListener = (req: HttpRequestLike, res: ServerResponse) => Promise<void>;

/** What the adapter serves: the barrier / coordinator `BatonHandler`, or a processor written with the SDK. */
export type HttpHandler = Pick<BatonHandler, 'handle' | 'respond'>;

/** Pub/Sub push bodies are at most ~10 MB of base64; anything far larger is not a push. */
const MAX_BODY_BYTES = 16 * 1024 * 1024;

/**
 * Adapts the generic handler to `(req, res)`: for `http.createServer` and for `functions.http`. If
 * the handler cannot be built (a deployment mistake), every request gets a 500 so Pub/Sub keeps the
 * messages until the deployment is fixed, and the cause is logged.
 */
export function createHttpListener(getHandler: () => Promise<HttpHandler>, logger: Logger = new CloudLogger()): HttpListener {
  return async (req, res) => {
    let response: EntryResponse;
    try {
      const handler = await getHandler();
      const body = await readBody(req);
      response = body === undefined ? handler.respond(413, { error: `body over ${MAX_BODY_BYTES} bytes` }) : await handler.handle(toEntryRequest(req, body));
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      logger.log({ severity: 'CRITICAL', message: `cannot serve: ${reason}`, baton_event: 'entry.unavailable', reason });
      response = { status: 500, body: { status: 'retry', error: reason, pipeline_hash: process.env.BATON_PIPELINE_HASH ?? null } };
    }
    writeJson(res, response);
  };
}

function toEntryRequest(req: IncomingMessage, body: string): EntryRequest {
  const headers: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(req.headers)) headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  return { method: req.method ?? 'GET', path: new URL(req.url ?? '/', 'http://localhost').pathname, headers, body };
}

/** The body as text; undefined when it is too large. */
async function readBody(req: HttpRequestLike): Promise<string | undefined> {
  // functions.http has already consumed the stream into rawBody (and parsed body).
  if (Buffer.isBuffer(req.rawBody)) return req.rawBody.toString('utf8');
  if (req.body !== undefined && req.readableEnded) return typeof req.body === 'string' ? req.body : JSON.stringify(req.body);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    size += buffer.length;
    if (size > MAX_BODY_BYTES) return undefined;
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function writeJson(res: ServerResponse, response: EntryResponse): void {
  const text = JSON.stringify(response.body);
  res.writeHead(response.status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
