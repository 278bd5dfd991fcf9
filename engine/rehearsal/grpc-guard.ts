// Data flow: a component's Pub/Sub or Firestore client (gRPC, h2c) → GrpcGuard of its service account → classify the RPC → IamPolicy → emulator, or PERMISSION_DENIED.
import {
  connect,
  constants,
  createServer,
  type ClientHttp2Session,
  type IncomingHttpHeaders,
  type ServerHttp2Session,
  type ServerHttp2Stream,
} from 'node:http2';
import type { AddressInfo } from 'node:net';
import type { GuardedCall, IamDecision } from './iam-policy.ts';

/** Where the guard forwards allowed calls: the emulators' `host:port`. */
export interface GuardUpstreams {
  readonly pubsub: string;
  readonly firestore: string;
}

/** What the guard needs: whose calls these are, where they go, and who decides. */
export interface GrpcGuardOptions {
  /** The service account every call through this guard is made as. */
  readonly identity: string;
  readonly upstreams: GuardUpstreams;
  readonly decide: (call: GuardedCall) => IamDecision;
  /** Called once per RPC with its decision (counting, reporting denials). */
  readonly onCall?: (call: GuardedCall, decision: IamDecision) => void;
}

/** A running guard: point a component's `PUBSUB_EMULATOR_HOST` and `FIRESTORE_EMULATOR_HOST` at `host`. */
export interface GrpcGuard {
  readonly host: string;
  close(): Promise<void>;
}

const GRPC_PERMISSION_DENIED = 7;
const GRPC_UNAVAILABLE = 14;
const CONSUME_RPCS = new Set(['Pull', 'StreamingPull', 'Acknowledge', 'ModifyAckDeadline']);

/**
 * An HTTP/2 proxy in front of the Pub/Sub and Firestore emulators, one per service account. The
 * emulators grant everything; the guard lets a call through only when the rendered IAM grants it to
 * the caller, so a rehearsal fails where a real project would deny. It reads just enough of each
 * call — the gRPC path and field 1 (topic or subscription) of the first request message — to decide,
 * then forwards the stream unchanged, streaming pulls included.
 */
export async function startGrpcGuard(options: GrpcGuardOptions): Promise<GrpcGuard> {
  const sessions = new Map<string, ClientHttp2Session>();
  const sessionFor = (host: string): ClientHttp2Session => {
    const existing = sessions.get(host);
    if (existing && !existing.closed && !existing.destroyed) return existing;
    const session = connect(`http://${host}`);
    session.on('error', () => sessions.delete(host));
    session.on('close', () => sessions.delete(host));
    sessions.set(host, session);
    return session;
  };
  const server = createServer();
  // Clients keep their connections open; close() must end them, or it waits forever.
  const incoming = new Set<ServerHttp2Session>();
  server.on('session', (session) => {
    incoming.add(session);
    session.once('close', () => incoming.delete(session));
  });
  server.on('stream', (stream, headers) => guardStream(stream, headers, options, sessionFor));
  server.on('sessionError', () => undefined);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    host: `127.0.0.1:${port}`,
    close: async () => {
      for (const session of sessions.values()) session.destroy();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const session of incoming) session.destroy();
      await closed;
    },
  };
}

function guardStream(
  stream: ServerHttp2Stream,
  headers: IncomingHttpHeaders,
  options: GrpcGuardOptions,
  sessionFor: (host: string) => ClientHttp2Session,
): void {
  stream.on('error', () => undefined);
  const path = String(headers[':path'] ?? '');
  const chunks: Buffer[] = [];
  let decided = false;
  const decideWith = (ended: boolean): void => {
    if (decided) return;
    const received = Buffer.concat(chunks);
    const first = firstMessage(received);
    if (first === undefined && !ended) return;
    decided = true;
    stream.off('data', onData);
    stream.pause();
    const call = classify(path, first);
    const decision = options.decide(call);
    options.onCall?.(call, decision);
    if (!decision.allowed) {
      respondStatus(stream, GRPC_PERMISSION_DENIED, `Permission denied (rehearsal IAM guard): missing ${decision.missing}`);
      stream.resume();
      return;
    }
    const upstream = path.startsWith('/google.firestore.') ? options.upstreams.firestore : options.upstreams.pubsub;
    forward(stream, headers, received, ended, sessionFor(upstream));
  };
  const onData = (chunk: Buffer): void => {
    chunks.push(chunk);
    decideWith(false);
  };
  stream.on('data', onData);
  stream.once('end', () => decideWith(true));
}

/** Sends the call upstream and relays the answer, trailers included, in both directions. */
function forward(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, received: Buffer, ended: boolean, session: ClientHttp2Session): void {
  const outgoing: Record<string, string | string[] | undefined> = {};
  for (const [name, value] of Object.entries(headers)) if (name !== ':authority' && name !== ':scheme') outgoing[name] = value;
  let request;
  try {
    request = session.request(outgoing, { endStream: false });
  } catch (error) {
    respondStatus(stream, GRPC_UNAVAILABLE, `rehearsal guard cannot reach the emulator: ${error instanceof Error ? error.message : String(error)}`);
    return;
  }
  let trailers: Record<string, string | string[] | undefined> = {};
  request.on('response', (responseHeaders) => {
    if (stream.closed) return;
    const trailersOnly = 'grpc-status' in responseHeaders;
    stream.respond(responseHeaders, trailersOnly ? { endStream: true } : { waitForTrailers: true });
  });
  request.on('data', (chunk: Buffer) => {
    if (!stream.closed) stream.write(chunk);
  });
  request.on('trailers', (received: Record<string, string | string[] | undefined>) => {
    trailers = received;
  });
  stream.on('wantTrailers', () => stream.sendTrailers(trailers));
  request.on('end', () => {
    if (!stream.closed && stream.headersSent && !stream.endAfterHeaders) stream.end();
  });
  request.on('error', (error: Error) => {
    if (stream.closed) return;
    if (!stream.headersSent) respondStatus(stream, GRPC_UNAVAILABLE, `emulator stream failed: ${error.message}`);
    else stream.close(constants.NGHTTP2_INTERNAL_ERROR);
  });
  stream.on('close', () => {
    if (!request.closed) request.close(constants.NGHTTP2_CANCEL);
  });
  request.write(received);
  if (ended) request.end();
  else stream.pipe(request);
}

function respondStatus(stream: ServerHttp2Stream, code: number, message: string): void {
  if (stream.closed || stream.headersSent) return;
  stream.respond(
    { ':status': 200, 'content-type': 'application/grpc', 'grpc-status': String(code), 'grpc-message': percentEncode(message) },
    { endStream: true },
  );
}

/** gRPC's `grpc-message` encoding: printable ASCII stays as it is, everything else (and `%`) is percent-encoded. */
function percentEncode(message: string): string {
  return message.replace(/[^\x20-\x7e]|%/gu, (c) => encodeURIComponent(c));
}

/** The first length-prefixed gRPC message, once it has fully arrived. */
function firstMessage(received: Buffer): Buffer | undefined {
  if (received.length < 5) return undefined;
  const length = received.readUInt32BE(1);
  return received.length >= 5 + length ? received.subarray(5, 5 + length) : undefined;
}

/** What a gRPC call asks for, in IAM terms. */
export function classify(path: string, message: Buffer | undefined): GuardedCall {
  const [, service = '', rpc = ''] = path.split('/');
  if (service.startsWith('google.firestore.')) return { kind: 'firestore', rpc: `${service}/${rpc}` };
  const resource = message === undefined ? undefined : stringField1(message);
  const shortName = resource?.slice(resource.lastIndexOf('/') + 1);
  if (service === 'google.pubsub.v1.Publisher' && rpc === 'Publish' && shortName !== undefined) return { kind: 'publish', topic: shortName };
  if (service === 'google.pubsub.v1.Subscriber' && CONSUME_RPCS.has(rpc) && shortName !== undefined) return { kind: 'consume', subscription: shortName, rpc };
  return { kind: 'other', rpc: `${service}/${rpc}`, resource };
}

/** Field 1 of a protobuf message when it is a length-delimited string (every Pub/Sub request names its topic or subscription there). */
function stringField1(message: Buffer): string | undefined {
  let offset = 0;
  const varint = (): number => {
    let result = 0;
    let shift = 0;
    for (;;) {
      if (offset >= message.length) throw new RangeError('truncated varint');
      const byte = message[offset++] ?? 0;
      result += (byte & 0x7f) * 2 ** shift;
      if ((byte & 0x80) === 0) return result;
      shift += 7;
    }
  };
  try {
    while (offset < message.length) {
      const tag = varint();
      const field = Math.floor(tag / 8);
      const wire = tag & 7;
      if (wire === 2) {
        const length = varint();
        if (field === 1) return message.subarray(offset, offset + length).toString('utf8');
        offset += length;
      } else if (wire === 0) varint();
      else if (wire === 1) offset += 8;
      else if (wire === 5) offset += 4;
      else return undefined;
    }
  } catch {
    return undefined;
  }
  return undefined;
}
