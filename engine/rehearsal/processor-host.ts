// Data flow: push delivery (from the gateway) → one node:http service per processor → processor SDK (createProcessor) → seeded simulated work (latency / speed) → completion → guarded Pub/Sub publisher of the processor's service account.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { DeployModel } from '../../generators/deploy-model.ts';
import { PubSub, v1 } from '@google-cloud/pubsub';
import { pubsubClientOptions } from '../adapters/gcp/pubsub-client-options.ts';
import { PubSubPublisher } from '../adapters/gcp/pubsub-publisher.ts';
import { BATON_ID_ATTRIBUTE } from '../config/conventions.ts';
import type { ResolvedPipeline } from '../config/resolved-pipeline.ts';
import type { MessageBus, OutgoingMessage } from '../ports/message-bus.ts';
import type { ScaledClock } from '../runtime/scaled-clock.ts';
import type { DeliveryCounts } from './push-gateway.ts';
import { createProcessor } from '../sdk/create-processor.ts';
import type { Processor } from '../sdk/processor.ts';
import { SimulatedWork } from '../simulator/simulated-work.ts';

/** What the processor services need. */
export interface ProcessorHostOptions {
  readonly pipeline: ResolvedPipeline;
  readonly model: DeployModel;
  readonly runId: string;
  readonly clock: ScaledClock;
  readonly pipelineHash: string;
  readonly projectId: string;
  /** The `host:port` a component's clients use (its IAM guard). */
  readonly pubsubHostOf: (component: string) => string;
  /** Tests: a delivery this processor acks and never reports on (a lost worker). */
  readonly silent?: (processor: string, message: OutgoingMessage) => boolean;
}

/** The running processor services. */
export interface ProcessorHost {
  /** How many processors serve. */
  readonly count: number;
  /** Deliveries being worked on right now. */
  readonly busy: number;
  /** Deliveries of processors on pull subscriptions (the gateway counts the pushed ones). */
  readonly pulled: ReadonlyMap<string, DeliveryCounts>;
  endpointOf(processor: string): string | undefined;
  /** Sends each entry processor its entry message for each key, as a scheduler would. */
  startKeys(keys: readonly string[]): void;
  close(): Promise<void>;
}

/**
 * The user's processors as small HTTP services built with the processor SDK, one per processor, each
 * publishing as its own service account through its IAM guard. Their work is `simulate:` — the same
 * seeded choices `baton run` makes (`SimulatedWork`), with each latency compressed by the clock's
 * speed — so a rehearsal and a run of the same seed decide the same triggers.
 */
export async function startProcessorHost(options: ProcessorHostOptions): Promise<ProcessorHost> {
  const { pipeline, clock } = options;
  const work = new SimulatedWork(pipeline, { runId: options.runId, full: false, overrides: {}, pipelineHash: options.pipelineHash });
  const servers = new Map<string, { server: Server; url: string }>();
  const publishers: PubSubPublisher[] = [];
  const pullers: Puller[] = [];
  const pulled = new Map<string, DeliveryCounts>();
  let busy = 0;
  const entryPhases = new Set(pipeline.phases.filter((p) => p.entry !== undefined).map((p) => p.name));

  for (const processor of pipeline.processors) {
    const publisher = new PubSubPublisher({ projectId: options.projectId, emulatorHost: options.pubsubHostOf(processor.name) });
    publishers.push(publisher);
    // At-least-once, as simulate: says: some completions are delivered twice (same execution id).
    const withDuplicates: Pick<MessageBus, 'publish'> = {
      publish: async (topic, message) => {
        const result = await publisher.publish(topic, message);
        const data = JSON.parse(message.data) as { key?: string; trigger_message_id?: string };
        if (work.duplicates(processor.name, data.key ?? '', data.trigger_message_id ?? 'entry')) {
          await publisher.publish(topic, work.duplicateOf(processor.name, message));
        }
        return result;
      },
    };
    const sdk = createProcessor({
      pipeline,
      pipelineHash: options.pipelineHash,
      name: processor.name,
      handle: async (ctx) => {
        const triggerId = ctx.trigger.type === 'entry' ? 'entry' : ctx.trigger.id;
        await new Promise((resolve) => setTimeout(resolve, clock.realMs(work.latencyMs(processor.name, ctx.key, triggerId))));
        const result = work.result(ctx);
        work.recordCompleted(processor.name, result.status);
        return result;
      },
      publisher: withDuplicates,
      clock,
      oidc: false,
      logger: { log: () => undefined },
      env: { GOOGLE_CLOUD_PROJECT: options.projectId },
    });
    const server = createServer((req, res) => {
      busy++;
      res.once('close', () => busy--);
      if (options.silent === undefined) {
        void sdk.listener(req, res);
        return;
      }
      void silentOrServe(req, res, (message) => options.silent?.(processor.name, message) === true, sdk.listener);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    servers.set(processor.name, { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
    for (const subscription of options.model.subscriptions.filter((s) => s.consumer === processor.name && s.push === undefined)) {
      const counts: DeliveryCounts = { requests: 0, acks: 0, retries: 0, filtered: 0, ticks: 0 };
      pulled.set(processor.name, counts);
      pullers.push(
        startPuller(
          sdk,
          subscription.name,
          options.projectId,
          options.pubsubHostOf(processor.name),
          counts,
          (delta) => (busy += delta),
          (message) => options.silent?.(processor.name, message) === true,
        ),
      );
    }
  }

  return {
    count: servers.size,
    pulled,
    get busy() {
      return busy;
    },
    endpointOf: (processor) => servers.get(processor)?.url,
    startKeys: (keys) => {
      for (const key of keys) {
        for (const processor of pipeline.processors.filter((p) => entryPhases.has(p.phase))) {
          const url = servers.get(processor.name)?.url;
          const entry = work.entryMessage(key);
          const body = JSON.stringify({ id: entry.id, ...(JSON.parse(entry.data) as object) });
          busy++;
          void fetch(url ?? '', { method: 'POST', headers: { 'content-type': 'application/json' }, body })
            .then((response) => response.arrayBuffer())
            .catch(() => undefined)
            .finally(() => busy--);
        }
      }
    },
    close: async () => {
      await Promise.all(pullers.map((p) => p.stop()));
      for (const { server } of servers.values()) {
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
      await Promise.all(publishers.map((p) => p.close()));
    },
  };
}

/** Reads the push body once; a silent delivery is acked unreported, any other goes to the SDK. */
async function silentOrServe(
  req: IncomingMessage,
  res: ServerResponse,
  isSilent: (message: OutgoingMessage) => boolean,
  listener: (req: IncomingMessage & { rawBody?: Buffer }, res: ServerResponse) => Promise<void>,
): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
  const rawBody = Buffer.concat(chunks);
  try {
    const push = JSON.parse(rawBody.toString('utf8')) as { message?: { data?: string; attributes?: Record<string, string>; messageId?: string } };
    const attributes = push.message?.attributes ?? {};
    const message: OutgoingMessage = {
      id: attributes.baton_id ?? push.message?.messageId ?? '',
      attributes,
      data: Buffer.from(push.message?.data ?? '', 'base64').toString('utf8'),
    };
    if (isSilent(message)) {
      res.writeHead(204).end();
      return;
    }
  } catch {
    // Not a push body: the SDK answers it.
  }
  await listener(Object.assign(req, { rawBody }), res);
}

interface Puller {
  stop(): Promise<void>;
}

/**
 * A processor on a pull subscription: pulls through its own IAM guard (so `roles/pubsub.subscriber`
 * on exactly that subscription is exercised), hands each message to the SDK without HTTP, then acks
 * — or lets the message come back (ack deadline 0) when the SDK says retry.
 */
function startPuller(
  sdk: Processor,
  subscription: string,
  projectId: string,
  host: string,
  counts: DeliveryCounts,
  track: (delta: number) => void,
  isSilent: (message: OutgoingMessage) => boolean,
): Puller {
  const pubsub = new PubSub(pubsubClientOptions(projectId, host));
  const client = pubsub.getClientConfig().then((config) => new v1.SubscriberClient(config as ConstructorParameters<typeof v1.SubscriberClient>[0]));
  const path = `projects/${projectId}/subscriptions/${subscription}`;
  let stopped = false;
  const settle = async (ackId: string, ack: boolean): Promise<void> => {
    const subscriber = await client;
    if (ack) await subscriber.acknowledge({ subscription: path, ackIds: [ackId] });
    else await subscriber.modifyAckDeadline({ subscription: path, ackIds: [ackId], ackDeadlineSeconds: 0 });
  };
  const loop = (async () => {
    while (!stopped) {
      let received: {
        ackId?: string | null;
        deliveryAttempt?: number | null;
        message?: { data?: Uint8Array | string | null; attributes?: Record<string, string> | null; messageId?: string | null } | null;
      }[] = [];
      try {
        const [response] = await (await client).pull({ subscription: path, maxMessages: 100, returnImmediately: true });
        received = response.receivedMessages ?? [];
      } catch {
        // A denied or failed pull is reported by the guard; try again.
      }
      for (const r of received) {
        const { [BATON_ID_ATTRIBUTE]: batonId, ...attributes } = r.message?.attributes ?? {};
        const message: OutgoingMessage = { id: batonId ?? r.message?.messageId ?? '', attributes, data: Buffer.from(r.message?.data ?? '').toString('utf8') };
        const ackId = r.ackId ?? '';
        counts.requests++;
        track(1);
        void (async () => {
          try {
            if (isSilent(message)) return await settle(ackId, true);
            const outcome = await sdk.deliver(message, { subscription, deliveryAttempt: r.deliveryAttempt ?? undefined });
            await settle(ackId, outcome.status !== 'retry');
            if (outcome.status === 'retry') counts.retries++;
            else counts.acks++;
          } catch {
            // The lease expires and Pub/Sub redelivers.
          } finally {
            track(-1);
          }
        })();
      }
      if (received.length === 0) await new Promise((resolve) => setTimeout(resolve, 200));
    }
  })();
  return {
    stop: async () => {
      stopped = true;
      await loop;
      await (await client).close();
      await pubsub.close();
    },
  };
}
