// Shared by the SDK tests: the repository's pipeline.yaml, messages as the graph delivers them, and a processor wired to the in-memory bus.
import { join } from 'node:path';
import { MemoryMessageBus } from '../../../engine/adapters/memory/memory-message-bus.ts';
import { loadPipeline } from '../../../engine/config/load-pipeline.ts';
import { packageRoot } from '../../../engine/config/package-root.ts';
import type { ResolvedPipeline } from '../../../engine/config/resolved-pipeline.ts';
import type { LogEntry } from '../../../engine/entry/cloud-logger.ts';
import type { OutgoingMessage } from '../../../engine/ports/message-bus.ts';
import type { EntityId } from '../../../engine/ports/state-store.ts';
import { buildEnvelope, ENVELOPE_TYPES, parseMessage, toMessage, type CompletionData, type Envelope } from '../../../engine/runtime/envelope.ts';
import { FakeClock } from '../../../engine/runtime/fake-clock.ts';
import { createProcessor, type CreateProcessorOptions } from '../../../engine/sdk/create-processor.ts';
import type { ProcessorContext } from '../../../engine/sdk/processor-context.ts';
import type { ProcessorResult } from '../../../engine/sdk/processor-result.ts';

export const PIPELINE_FILE = join(packageRoot(), 'pipeline.yaml');
const loaded = loadPipeline(PIPELINE_FILE);
export const PIPELINE = loaded.pipeline as ResolvedPipeline;
export const HASH = loaded.hash as string;
export const KEY = '2025-11-28';
export const CORRELATION = 'run-test-0001';
export const TRACEPARENT = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

/** A barrier trigger, as `emitter` publishes it. */
export function triggerMessage(
  emitter: string,
  options: { id?: string; key?: string; entities?: Record<string, EntityId[]>; incremental?: boolean; target?: string } = {},
): OutgoingMessage {
  const key = options.key ?? KEY;
  const envelope = buildEnvelope({
    id: options.id ?? `trigger:${emitter}:${key}`,
    source: `//baton/nba-props/barriers/${emitter}`,
    type: ENVELOPE_TYPES.trigger,
    time: Date.parse('2025-11-29T12:00:00Z'),
    subject: key,
    correlationId: CORRELATION,
    parentTraceparent: TRACEPARENT,
    data: {
      key,
      correlation_id: CORRELATION,
      emitter,
      reason: 'all_complete',
      members_completed: [],
      members_missing: [],
      lineage: [],
      ...(options.target === undefined ? {} : { target: options.target }),
      ...(options.entities === undefined
        ? {}
        : { entities_changed: Object.fromEntries(Object.entries(options.entities).map(([t, ids]) => [t, { ids, count: ids.length }])) }),
      ...(options.incremental === undefined ? {} : { is_incremental: options.incremental }),
    },
  });
  return toMessage(envelope, options.target === undefined ? {} : { baton_target: options.target });
}

/** An upstream processor's completion (what raw processors are triggered by). */
export function completionMessage(processor: string, id = `completion:${processor}:upstream`): OutgoingMessage {
  const data: CompletionData = {
    processor_name: processor,
    phase: 'scrapers',
    execution_id: 'exec-upstream',
    correlation_id: CORRELATION,
    key: KEY,
    status: 'success',
    timestamp: '2025-11-29T12:00:00.000Z',
  };
  return toMessage(
    buildEnvelope({
      id,
      source: `//baton/nba-props/processors/${processor}`,
      type: ENVELOPE_TYPES.completion,
      time: Date.parse('2025-11-29T12:00:00Z'),
      subject: KEY,
      correlationId: CORRELATION,
      parentTraceparent: TRACEPARENT,
      data,
    }),
  );
}

/** One coordinator work item. */
export function workMessage(entityId: EntityId): OutgoingMessage {
  return toMessage(
    buildEnvelope({
      id: `work:batch-1:${String(entityId)}`,
      source: '//baton/nba-props/coordinators/prediction-coordinator',
      type: ENVELOPE_TYPES.work,
      time: Date.parse('2025-11-29T12:00:00Z'),
      subject: KEY,
      correlationId: CORRELATION,
      parentTraceparent: TRACEPARENT,
      data: { key: KEY, correlation_id: CORRELATION, coordinator: 'prediction-coordinator', batch_id: 'batch-1', entity_type: 'players', entity_id: entityId },
    }),
  );
}

/** A Pub/Sub push request body carrying `message`. */
export function pushBody(message: OutgoingMessage, deliveryAttempt = 1): string {
  return JSON.stringify({
    message: {
      data: Buffer.from(message.data).toString('base64'),
      attributes: { ...message.attributes, baton_id: message.id },
      messageId: `ps-${message.id}`,
      publishTime: '2025-11-29T12:00:00Z',
    },
    subscription: 'projects/demo/subscriptions/some-subscription',
    deliveryAttempt,
  });
}

/** A POST of `body` to the push endpoint. */
export function post(body: string, headers: Record<string, string> = {}): { method: string; path: string; headers: Record<string, string>; body: string } {
  return { method: 'POST', path: '/', headers: { 'content-type': 'application/json', ...headers }, body };
}

/** A processor over the in-memory bus, with a watcher on its completion topic and captured log lines. */
export async function setup(
  name: string,
  handle: (ctx: ProcessorContext) => ProcessorResult | Promise<ProcessorResult> = () => ({ status: 'success' }),
  overrides: Partial<CreateProcessorOptions> = {},
) {
  const clock = new FakeClock('2025-11-29T12:00:00Z');
  const bus = new MemoryMessageBus(clock);
  const topic = PIPELINE.processors.find((p) => p.name === name)?.publishes.name ?? '';
  await bus.subscribe({ name: 'watch', topic, ackDeadlineMs: 60_000, maxDeliveryAttempts: 5, minBackoffMs: 1000, maxBackoffMs: 8000 });
  const lines: LogEntry[] = [];
  const calls: ProcessorContext[] = [];
  const processor = createProcessor({
    pipeline: PIPELINE,
    pipelineHash: HASH,
    name,
    handle: (ctx) => {
      calls.push(ctx);
      return handle(ctx);
    },
    publisher: bus,
    logger: { log: (entry) => lines.push(entry) },
    clock,
    env: {},
    ...overrides,
  });
  /** Every completion published so far, parsed (each delivered once to the watcher). */
  const published = async (): Promise<Envelope<typeof ENVELOPE_TYPES.completion>[]> => {
    const messages = await bus.pull('watch', 100);
    for (const m of messages) await bus.ack(m.ackId);
    return messages.map((m) => parseMessage(m) as Envelope<typeof ENVELOPE_TYPES.completion>);
  };
  return { processor, bus, clock, lines, calls, published, topic };
}
