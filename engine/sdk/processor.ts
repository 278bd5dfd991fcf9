// Data flow: push request → Processor.handle (OIDC → push body → readTrigger) → deliver → ExecutionStore? → handle(ctx) → buildCompletion → publish → ExecutionStore.set → 2xx | 5xx.
import { authorizeRequest } from '../entry/authorize-request.ts';
import { createHash } from 'node:crypto';
import type { EntryRequest, EntryResponse, RequestVerifier } from '../entry/baton-handler.ts';
import type { LogEntry, LogFields, Logger } from '../entry/cloud-logger.ts';
import { createHttpListener, type HttpListener } from '../entry/http-adapter.ts';
import { InvalidPushBodyError, parsePushDelivery } from '../entry/parse-push-delivery.ts';
import type { Clock } from '../ports/clock.ts';
import type { MessageBus, OutgoingMessage } from '../ports/message-bus.ts';
import { childTraceparent, toMessage } from '../runtime/envelope.ts';
import { isPermanent, reasonOf } from '../runtime/errors.ts';
import type { ProcessorBinding } from './bind-processor.ts';
import { buildCompletion } from './build-completion.ts';
import { ContextLogger } from './context-logger.ts';
import { executionIdsOf, type ExecutionIds } from './execution-ids.ts';
import type { ExecutionStore } from './execution-store.ts';
import { InvalidResultError } from './invalid-result-error.ts';
import type { ProcessorContext } from './processor-context.ts';
import { checkProcessorResult, type ProcessorResult } from './processor-result.ts';
import { readTrigger, type ProcessorTrigger } from './read-trigger.ts';

/** The user's work: called once per execution; resolves when the work is durable. */
export type ProcessorHandler = (ctx: ProcessorContext) => ProcessorResult | Promise<ProcessorResult>;

/** How one delivery ended. `retry` must reach Pub/Sub as a failure (5xx) so it redelivers. */
export type DeliveryOutcome =
  /** `handle` ran and its one completion was published. */
  | { readonly status: 'completed'; readonly executionId: string; readonly completion: OutgoingMessage; readonly result: ProcessorResult }
  /** This trigger's execution already published its completion: acked, `handle` not called. */
  | { readonly status: 'duplicate'; readonly executionId: string; readonly completionId: string }
  /** The message can never be handled (not a valid trigger for this processor): acked after an ERROR line. */
  | { readonly status: 'rejected'; readonly reason: string }
  /** A transient failure (handle threw, publish failed): nothing was published; redeliver. */
  | { readonly status: 'retry'; readonly reason: string };

/** Facts about a delivery besides the message. */
export interface DeliveryFacts {
  readonly subscription?: string | undefined;
  readonly deliveryAttempt?: number | undefined;
  /** When the work began (epoch ms), for `duration_seconds`; default now. */
  readonly receivedAt?: number | undefined;
}

/** What a processor is wired with (see `createProcessor`). */
export interface ProcessorParts {
  readonly binding: ProcessorBinding;
  readonly handle: ProcessorHandler;
  readonly publisher: Pick<MessageBus, 'publish'>;
  readonly executions: ExecutionStore;
  readonly verifier: RequestVerifier | undefined;
  readonly logger: Logger;
  readonly clock: Clock;
}

/**
 * One processor of the pipeline, ready to serve. The status rules, the same for every transport:
 *
 * | what happened | answer | why |
 * |---|---|---|
 * | bad or missing OIDC token (when `BATON_OIDC_AUDIENCE` is set) | 401 / 403 | the caller is not Pub/Sub's invoker |
 * | the body is not a Pub/Sub push body | 400 | there is no message to settle; the sender is wrong |
 * | not a valid trigger for this processor (schema, type, address, key) | 400 + ERROR log | the processor may publish only its completion topic, so it cannot dead-letter the message itself: the 4xx makes Pub/Sub retry it a bounded number of times and then move it to the topic's dead-letter topic (the subscription's policy), where the DLQ alert sees it; the log line carries the reason |
 * | trigger already completed (same trigger id) | 200, `handle` not called | at-least-once delivery; the completion is out |
 * | `handle` threw `PermanentError` (or returned an invalid result) | one `failed` completion, 200 | retrying cannot help; the barrier records the failure |
 * | `handle` threw anything else | 500 | Pub/Sub redelivers with backoff, then dead-letters |
 * | publishing the completion failed | 500 | redelivery redoes the work and publishes the same message id |
 * | success | one completion, then 200 | never ack before the completion is published |
 *
 * A direct entry POST (no push wrapper, for entry processors) is rejected with 400 the same way. Its
 * message id is its `"id"`, or else a digest of its key and correlation id, so the same request sent
 * twice is one execution; send a new `correlation_id` (or `id`) to run a key again.
 */
export class Processor {
  /** `(req, res)` for `node:http` `createServer`, functions-framework `functions.http`, or Cloud Run. */
  readonly listener: HttpListener;
  private readonly inFlight = new Map<string, Promise<DeliveryOutcome>>();
  private readonly labels: LogFields;

  constructor(private readonly parts: ProcessorParts) {
    this.labels = { processor: parts.binding.processor.name };
    this.listener = createHttpListener(() => Promise.resolve(this), parts.logger);
  }

  /** What the processor was bound to in pipeline.yaml. */
  get binding(): ProcessorBinding {
    return this.parts.binding;
  }

  /** The processor's name. */
  get name(): string {
    return this.parts.binding.processor.name;
  }

  /**
   * Handles one delivered message without any transport (the HTTP path and `baton run`'s simulated
   * processors both come here). Concurrent deliveries of one trigger share one execution.
   */
  deliver(message: OutgoingMessage, facts: DeliveryFacts = {}): Promise<DeliveryOutcome> {
    const context: LogFields = {
      message_id: message.id,
      subscription: facts.subscription,
      delivery_attempt: facts.deliveryAttempt,
      key: message.attributes['ce-subject'],
      correlation_id: message.attributes['ce-correlationid'],
      traceparent: message.attributes['ce-traceparent'],
    };
    let trigger: ProcessorTrigger;
    try {
      trigger = readTrigger(this.parts.binding, message);
    } catch (error) {
      const reason = reasonOf(error);
      if (!isPermanent(error)) return Promise.resolve(this.retry(reason, context));
      this.log({
        severity: 'ERROR',
        message: `rejected message ${message.id}: ${reason}`,
        baton_event: 'processor.rejected',
        reason,
        data: message.data,
        attributes: message.attributes,
        ...context,
      });
      return Promise.resolve({ status: 'rejected', reason });
    }
    const ids = executionIdsOf(this.name, trigger.id);
    const running = this.inFlight.get(ids.executionId);
    if (running !== undefined) return running;
    const execution = this.execute(trigger, ids, facts).finally(() => this.inFlight.delete(ids.executionId));
    this.inFlight.set(ids.executionId, execution);
    return execution;
  }

  /** Routes an HTTP request: `GET /healthz`, and a push delivery (or, for entry processors, an entry message) on POST. */
  async handle(request: EntryRequest): Promise<EntryResponse> {
    const path = request.path.replace(/\/+$/, '');
    if (path.endsWith('/healthz')) return this.respond(200, { status: 'ok' });
    if (request.method !== 'POST') return this.respond(405, { error: `${request.method} ${request.path}: only POST (a push delivery) and GET /healthz` });
    const denied = await this.authorize(request);
    if (denied !== undefined) return denied;
    let body: unknown;
    try {
      body = request.body.trim() === '' ? undefined : JSON.parse(request.body);
    } catch {
      return this.badRequest('the body is not JSON');
    }
    if (this.binding.entry && isObject(body) && !('message' in body)) {
      // A scheduler or workflow calling the entry processor directly.
      const id = typeof body.id === 'string' && body.id !== '' ? body.id : entryId(body);
      const traceparent = request.headers.traceparent;
      const attributes: Record<string, string> = traceparent === undefined ? {} : { traceparent };
      const message = { id, attributes, data: JSON.stringify(body) };
      const outcome = await this.deliver(message);
      return this.respond(outcome.status === 'retry' ? 500 : outcome.status === 'rejected' ? 400 : 200, { ...outcome });
    }
    let delivery;
    try {
      delivery = parsePushDelivery(body);
    } catch (error) {
      return this.badRequest(error instanceof InvalidPushBodyError ? error.message : reasonOf(error));
    }
    const outcome = await this.deliver(delivery.message, { subscription: delivery.subscription, deliveryAttempt: delivery.deliveryAttempt });
    return this.respond(outcome.status === 'retry' ? 500 : outcome.status === 'rejected' ? 400 : 200, { ...outcome });
  }

  /** A JSON response naming the processor and the pipeline hash. */
  respond(status: number, body: Record<string, unknown>): EntryResponse {
    return { status, body: { ...body, processor: this.name, pipeline_hash: this.binding.pipelineHash ?? null } };
  }

  private async execute(trigger: ProcessorTrigger, ids: ExecutionIds, facts: DeliveryFacts): Promise<DeliveryOutcome> {
    const { executions, clock, publisher, binding } = this.parts;
    const context: LogFields = {
      key: trigger.key,
      correlation_id: trigger.correlationId,
      trigger_id: trigger.id,
      execution_id: ids.executionId,
      delivery_attempt: facts.deliveryAttempt,
    };
    let done;
    try {
      done = await executions.get(ids.executionId);
    } catch (error) {
      return this.retry(`cannot read the execution store: ${reasonOf(error)}`, { ...context, traceparent: trigger.traceparent });
    }
    if (done !== undefined) {
      this.log({
        severity: 'INFO',
        message: `trigger ${trigger.id} already completed (${done.status}); not run again`,
        baton_event: 'processor.duplicate',
        ...context,
      });
      return { status: 'duplicate', executionId: ids.executionId, completionId: done.completionId };
    }
    const startedAt = facts.receivedAt ?? clock.now();
    const traceparent = childTraceparent(trigger.traceparent);
    const logger = new ContextLogger(this.parts.logger, { ...this.labels, ...context, traceparent });
    const ctx: ProcessorContext = {
      processor: this.name,
      phase: binding.processor.phase,
      key: trigger.key,
      correlationId: trigger.correlationId,
      executionId: ids.executionId,
      traceparent,
      entities: trigger.entities,
      trigger,
      deliveryAttempt: facts.deliveryAttempt,
      logger,
    };
    let result: ProcessorResult;
    try {
      result = checkProcessorResult(await this.parts.handle(ctx));
    } catch (error) {
      const reason = reasonOf(error);
      if (!isPermanent(error)) return this.retry(`handle failed: ${reason}`, { ...context, traceparent });
      logger.error(`failed permanently: ${reason}`, { baton_event: 'processor.failed', reason });
      result = failedResult(error);
    }
    const build = (r: ProcessorResult): OutgoingMessage =>
      toMessage(
        buildCompletion({
          binding,
          ids,
          key: trigger.key,
          correlationId: trigger.correlationId,
          traceparent,
          result: r,
          trigger,
          triggerSource: trigger.type === 'entry' ? 'scheduler' : 'pubsub',
          startedAt,
          finishedAt: clock.now(),
        }),
      );
    let completion: OutgoingMessage;
    try {
      completion = build(result);
    } catch (error) {
      // Only the result can make the envelope invalid (the rest comes from a valid trigger and the graph).
      const reason = reasonOf(error);
      logger.error(`result refused: ${reason}`, { baton_event: 'processor.invalid_result', reason });
      result = failedResult(new InvalidResultError(reason));
      completion = build(result);
    }
    try {
      await publisher.publish(binding.publishes, completion);
    } catch (error) {
      return this.retry(`publishing the completion to ${binding.publishes} failed: ${reasonOf(error)}`, { ...context, traceparent });
    }
    try {
      await executions.set(ids.executionId, { completionId: completion.id, status: result.status, at: clock.now() });
    } catch (error) {
      // The completion is out; a redelivery would only redo the work and publish the same id.
      logger.warning(`completion published, but not remembered: ${reasonOf(error)}`, { baton_event: 'processor.execution_store_failed' });
    }
    logger.log({
      severity: result.status === 'failed' ? 'WARNING' : 'INFO',
      message: `completed ${trigger.key}: ${result.status}`,
      baton_event: 'processor.completed',
      status: result.status,
      completion_id: completion.id,
      topic: binding.publishes,
    });
    return { status: 'completed', executionId: ids.executionId, completion, result };
  }

  private authorize(request: EntryRequest): Promise<EntryResponse | undefined> {
    return authorizeRequest(
      this.parts.verifier,
      request,
      (entry) => this.log(entry),
      (status, body) => this.respond(status, body),
    );
  }

  private badRequest(reason: string): EntryResponse {
    this.log({ severity: 'WARNING', message: `bad push request: ${reason}`, baton_event: 'push.bad_request' });
    return this.respond(400, { error: reason });
  }

  private retry(reason: string, context: LogFields): DeliveryOutcome {
    this.log({ severity: 'WARNING', message: `retrying: ${reason}`, baton_event: 'message.retry', reason, ...context });
    return { status: 'retry', reason };
  }

  private log(entry: LogEntry): void {
    this.parts.logger.log({ ...entry, ...this.labels });
  }
}

function failedResult(error: unknown): ProcessorResult {
  const code = typeof (error as { code?: unknown }).code === 'string' ? (error as { code: string }).code : undefined;
  return {
    status: 'failed',
    errorMessage: error instanceof Error ? error.message : String(error),
    errorType: code ?? (error instanceof Error ? error.name : 'Error'),
  };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The id of an entry request sent without one: the same key and correlation id are the same execution. */
function entryId(body: Record<string, unknown>): string {
  const digest = createHash('sha256')
    .update(JSON.stringify([body.key ?? null, body.correlation_id ?? null]))
    .digest('hex');
  return `entry:${digest.slice(0, 20)}`;
}
