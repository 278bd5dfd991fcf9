// Data flow: Pub/Sub emulator push (POST /push/<subscription>) | scheduler timer (POST /tick/<job>) → filter → run.invoker check → the component's local port → its status back to the emulator.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { PushTarget, SubscriptionModel } from '../../generators/deploy-model.ts';
import type { IamPolicy } from './iam-policy.ts';
import { compileFilter } from './pubsub-filter.ts';

/** A scheduler job as the gateway needs it: whom it calls, as whom, with what. */
export interface TickRoute {
  readonly job: string;
  readonly component: string;
  readonly target: PushTarget;
  readonly invoker: string;
  readonly body: string;
  /** The job's cron schedule, as rendered. */
  readonly schedule: string;
  /** Appended to the target's URL (`/tick`). */
  readonly path: string;
}

/** Deliveries to one component, counted at the gateway (what Cloud Run's request log would show). */
export interface DeliveryCounts {
  requests: number;
  /** Answered 2xx: Pub/Sub acks. */
  acks: number;
  /** Answered anything else: Pub/Sub redelivers after backoff. */
  retries: number;
  /** Left out by the subscription's filter (Pub/Sub never delivers those). */
  filtered: number;
  ticks: number;
}

/** A call IAM would have refused. */
export interface Denial {
  /** The component the call was made by or, for an invoke, made to. */
  readonly component: string;
  readonly identity: string;
  readonly call: string;
  readonly missing: string;
}

export interface PushGatewayOptions {
  readonly subscriptions: readonly SubscriptionModel[];
  readonly ticks: readonly TickRoute[];
  readonly policy: IamPolicy;
  /** Local base URL of a push target, once it runs. */
  readonly endpointOf: (target: PushTarget, consumer: string) => string | undefined;
  readonly onDenied: (denial: Denial) => void;
}

/** The running gateway. */
export interface PushGateway {
  readonly url: string;
  /** Per component (subscription consumer or tick target component). */
  readonly counts: ReadonlyMap<string, DeliveryCounts>;
  /** Requests being forwarded right now. */
  readonly inFlight: number;
  /** Calls a scheduler job's target (what the timer does); resolves to the HTTP status. */
  tick(job: string): Promise<number>;
  close(): Promise<void>;
}

/**
 * Stands where Google's front end stands between Pub/Sub (or Cloud Scheduler) and a service: the
 * emulator pushes every subscription to `/push/<name>`; the gateway applies the rendered filter,
 * checks that the subscription's OIDC invoker holds `roles/run.invoker` on the target (a denial is a
 * 403, as Cloud Run answers, and is reported), then forwards the body to the component's local port
 * and hands its status back, so acks and retries are the component's own.
 */
export async function startPushGateway(options: PushGatewayOptions): Promise<PushGateway> {
  const counts = new Map<string, DeliveryCounts>();
  const countsOf = (component: string): DeliveryCounts => {
    let c = counts.get(component);
    if (c === undefined) counts.set(component, (c = { requests: 0, acks: 0, retries: 0, filtered: 0, ticks: 0 }));
    return c;
  };
  const routes = new Map(options.subscriptions.filter((s) => s.push).map((s) => [s.name, { subscription: s, accepts: filterOf(s) }]));
  const ticks = new Map(options.ticks.map((t) => [t.job, t]));
  let inFlight = 0;

  const invoke = async (identity: string, target: PushTarget, consumer: string, path: string, body: string): Promise<number> => {
    const decision = options.policy.check(identity, { kind: 'invoke', target });
    if (!decision.allowed) {
      options.onDenied({ component: consumer, identity, call: `invoke ${target.kind} ${target.name}`, missing: decision.missing });
      return 403;
    }
    const endpoint = options.endpointOf(target, consumer);
    if (endpoint === undefined) return 503;
    inFlight++;
    try {
      const response = await fetch(`${endpoint}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      await response.arrayBuffer();
      return response.status;
    } catch {
      return 503;
    } finally {
      inFlight--;
    }
  };

  const tick = async (job: string): Promise<number> => {
    const route = ticks.get(job);
    if (route === undefined) return 404;
    countsOf(route.component).ticks++;
    return invoke(route.invoker, route.target, route.component, route.path, route.body);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const body = await readText(req);
    const [, kind, name = ''] = new URL(req.url ?? '/', 'http://gateway').pathname.split('/');
    let status = 404;
    if (kind === 'tick') status = await tick(decodeURIComponent(name));
    const route = kind === 'push' ? routes.get(decodeURIComponent(name)) : undefined;
    if (route?.subscription.push) {
      const { subscription } = route;
      const c = countsOf(subscription.consumer);
      if (!route.accepts(attributesOf(body))) {
        c.filtered++;
        status = 204;
      } else {
        c.requests++;
        status = await invoke(subscription.push!.invoker, subscription.push!.target, subscription.consumer, '/', body);
        if (status >= 200 && status < 300) c.acks++;
        else c.retries++;
      }
    }
    res.writeHead(status, { 'content-length': 0 });
    res.end();
  };

  const server = createServer((req, res) => void handle(req, res));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    counts,
    get inFlight() {
      return inFlight;
    },
    tick,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function filterOf(subscription: SubscriptionModel): (attributes: Readonly<Record<string, string>>) => boolean {
  return subscription.filter === undefined ? () => true : compileFilter(subscription.filter);
}

function attributesOf(body: string): Record<string, string> {
  try {
    const parsed = JSON.parse(body) as { message?: { attributes?: Record<string, string> } };
    return parsed.message?.attributes ?? {};
  } catch {
    return {};
  }
}

async function readText(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
  return Buffer.concat(chunks).toString('utf8');
}
