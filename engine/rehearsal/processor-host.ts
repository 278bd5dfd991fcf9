// Data flow: push delivery (from the gateway) → one node:http service per processor → processor SDK (createProcessor) → seeded simulated work (latency / speed) → completion → guarded Pub/Sub publisher of the processor's service account.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { DeployModel } from '../../generators/deploy-model.ts';
import { PubSubPublisher } from '../adapters/gcp/pubsub-publisher.ts';
import type { ResolvedPipeline } from '../config/resolved-pipeline.ts';
import type { MessageBus, OutgoingMessage } from '../ports/message-bus.ts';
import type { ScaledClock } from '../runtime/scaled-clock.ts';
import { createProcessor } from '../sdk/create-processor.ts';
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
  }

  return {
    count: servers.size,
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
  req: import('node:http').IncomingMessage,
  res: import('node:http').ServerResponse,
  isSilent: (message: OutgoingMessage) => boolean,
  listener: (req: import('node:http').IncomingMessage & { rawBody?: Buffer }, res: import('node:http').ServerResponse) => Promise<void>,
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
