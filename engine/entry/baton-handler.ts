// Data flow: HTTP request | CloudEvent → BatonHandler (auth → route) → EntryComponent.handle / tick → ack | dead-letter topic | retry; one log line each.
import { authorizeRequest } from './authorize-request.ts';
import type { ResolvedTopic } from '../config/resolved-pipeline.ts';
import { DEAD_LETTER_ATTRIBUTES, type MessageBus } from '../ports/message-bus.ts';
import type { TriggerRecord } from '../ports/state-store.ts';
import { isPermanent, reasonOf } from '../runtime/errors.ts';
import { describeCounts } from '../runtime/describe-trigger.ts';
import type { TriggerData } from '../runtime/envelope.ts';
import type { TickReport, TriggerPublication } from '../runtime/tick-report.ts';
import type { LogEntry, LogFields, Logger } from './cloud-logger.ts';
import type { EntryComponent } from './entry-component.ts';
import type { OidcVerdict } from './oidc-verifier.ts';
import { InvalidPushBodyError, parsePushDelivery, type PushDelivery } from './parse-push-delivery.ts';

/** A request as every adapter hands it over: lower-case header names, body as text. */
export interface EntryRequest {
  readonly method: string;
  /** Path without the query string. */
  readonly path: string;
  readonly headers: Readonly<Record<string, string | undefined>>;
  readonly body: string;
}

/** A JSON response; `body` always carries `pipeline_hash`. */
export interface EntryResponse {
  readonly status: number;
  readonly body: Readonly<Record<string, unknown>>;
}

/** How one delivery was settled. `retry` must reach Pub/Sub as a failure (5xx, or a thrown CloudEvent function). */
export type DeliveryResult =
  | { readonly status: 'ack'; readonly outcome: string; readonly key: string | undefined; readonly fired: string | undefined }
  | { readonly status: 'dead-lettered'; readonly reason: string; readonly deadLetterTopic: string | undefined }
  | { readonly status: 'retry'; readonly reason: string };

/** Checks a request's bearer token. */
export interface RequestVerifier {
  verify(authorization: string | undefined): Promise<OidcVerdict>;
}

/** What the generic handler is wired with (see `openEntry` for production wiring). */
export interface BatonHandlerOptions {
  readonly component: EntryComponent;
  /** Where dead letters are published. */
  readonly bus: Pick<MessageBus, 'publish'>;
  /** The pipeline's topics, to find each one's dead-letter topic. */
  readonly topics: readonly ResolvedTopic[];
  /** Hash of the pipeline file actually loaded. */
  readonly pipelineHash: string;
  /** `BATON_PIPELINE_HASH` when it differs from the loaded file's: reported beside it everywhere. */
  readonly deployedPipelineHash?: string | undefined;
  readonly logger: Logger;
  /** When set, every request but `/healthz` needs a valid bearer token. */
  readonly verifier?: RequestVerifier | undefined;
  /**
   * Resolves when the backend's clients can be used (credentials load); rejects with the reason
   * otherwise. Checked before every delivery and tick; while it rejects, nothing touches the clients
   * and the request is answered 503 (retried). Unset: always ready (injected or emulator backends).
   */
  readonly ready?: (() => Promise<void>) | undefined;
}

/**
 * The one generic entry point behind every adapter (Node HTTP server, `functions.http`, CloudEvent
 * function). A delivery is settled on purpose: handled → ack; a permanent error → republished to the
 * topic's dead-letter topic with its reason, then acked so Pub/Sub stops; anything else → retry, so
 * Pub/Sub redelivers with backoff until its own dead-letter policy takes over.
 */
export class BatonHandler {
  private readonly labels: Record<string, string>;

  constructor(private readonly options: BatonHandlerOptions) {
    const { component, deployedPipelineHash } = options;
    this.labels = { [component.kind]: component.name, ...(deployedPipelineHash === undefined ? {} : { deployed_pipeline_hash: deployedPipelineHash }) };
  }

  /** Handles one Pub/Sub delivery (a push body or a CloudEvent's data, already parsed). */
  async deliver(delivery: PushDelivery): Promise<DeliveryResult> {
    const { component } = this.options;
    const { attributes } = delivery.message;
    const context: LogFields = {
      key: attributes['ce-subject'],
      correlation_id: attributes['ce-correlationid'],
      traceparent: attributes['ce-traceparent'],
      message_id: delivery.message.id,
      subscription: delivery.subscription,
      delivery_attempt: delivery.deliveryAttempt,
    };
    const unavailable = await this.unavailable();
    if (unavailable !== undefined) return { status: 'retry', reason: unavailable };
    try {
      const outcome = await component.handle(delivery);
      const fired = outcome.fired;
      this.log({
        severity: 'INFO',
        message: `${component.kind} ${component.name}: ${outcome.outcome}${outcome.reason === undefined ? '' : ` (${outcome.reason})`}`,
        baton_event: `${component.kind}.${outcome.outcome}`,
        ...(outcome.reason === undefined ? {} : { reason: outcome.reason }),
        ...context,
      });
      if (fired) this.logFired(fired, context);
      if (outcome.publication) this.logPublished(outcome.publication, context);
      return { status: 'ack', outcome: outcome.outcome, key: attributes['ce-subject'], fired: fired?.message.id };
    } catch (error) {
      const reason = reasonOf(error);
      if (!isPermanent(error)) {
        this.log({ severity: 'WARNING', message: `retrying: ${reason}`, baton_event: 'message.retry', reason, ...context });
        return { status: 'retry', reason };
      }
      return this.deadLetter(delivery, reason, context);
    }
  }

  /**
   * Runs the deadline / stall tick of the configured component; `name`, when given, must be it.
   *
   * Status rule (#16.4): 500 only when the component could not tick at all (its keys could not be
   * listed), so Cloud Scheduler retries a store outage. Once the keys are listed, each is ticked on its
   * own and the answer is 200 — `status: "partial"` with every failed key and its reason in `failures`
   * (each also logged as an ERROR) — so one poison key cannot make the scheduler retry forever while
   * the other keys' deadlines stop.
   */
  async tick(name?: string): Promise<EntryResponse> {
    const { component } = this.options;
    if (name !== undefined && name !== component.name) {
      return this.respond(404, { error: `this deployment runs ${component.kind} ${component.name}, not ${name}` });
    }
    let report: TickReport;
    try {
      report = await component.tick();
    } catch (error) {
      const reason = reasonOf(error);
      this.log({ severity: 'ERROR', message: `tick failed: ${reason}`, baton_event: `${component.kind}.tick_failed`, reason });
      return this.respond(500, { status: 'retry', error: reason });
    }
    const { fired, published, failures } = report;
    for (const trigger of fired) this.logFired(trigger, {});
    for (const publication of published) this.logPublished(publication, {});
    for (const failure of failures) {
      this.log({
        severity: 'ERROR',
        message: `tick failed for ${failure.key ?? 'every key'}: ${failure.reason}`,
        baton_event: `${component.kind}.tick_key_failed`,
        key: failure.key,
        reason: failure.reason,
        permanent: failure.permanent,
      });
    }
    this.log({
      severity: failures.length === 0 ? 'INFO' : 'WARNING',
      message: `tick: ${fired.length} fired, ${published.length} published, ${failures.length} failed`,
      baton_event: `${component.kind}.tick`,
      fired: fired.length,
      published: published.length,
      failed: failures.length,
    });
    return this.respond(200, {
      status: failures.length === 0 ? 'ok' : 'partial',
      fired: fired.map((t) => ({ key: t.scope, reason: t.reason, message_id: t.message.id })),
      published: published.map((p) => ({ key: p.trigger.scope, why: p.why, message_id: p.trigger.message.id })),
      failures: failures.map((f) => ({ key: f.key, reason: f.reason, permanent: f.permanent })),
    });
  }

  /** Routes an HTTP request: `GET /healthz`, `POST …/tick`, and a push delivery on any other path. */
  async handle(request: EntryRequest): Promise<EntryResponse> {
    const { component } = this.options;
    const path = request.path.replace(/\/+$/, '');
    if (path.endsWith('/healthz')) return this.respond(200, { status: 'ok', [component.kind]: component.name });
    if (request.method !== 'POST') return this.respond(405, { error: `${request.method} ${request.path}: only POST (push, /tick) and GET /healthz` });
    const denied = await this.authorize(request);
    if (denied) return denied;
    const unavailable = await this.unavailable();
    if (unavailable !== undefined) return this.respond(503, { status: 'retry', error: unavailable });
    if (path.endsWith('/tick')) {
      const parsed = parseTickBody(request.body);
      return parsed.ok ? this.tick(parsed.name) : this.respond(400, { error: parsed.error });
    }
    let delivery: PushDelivery;
    try {
      delivery = parsePushDelivery(request.body.trim() === '' ? undefined : JSON.parse(request.body));
    } catch (error) {
      // Not a Pub/Sub delivery at all: nothing to dead-letter, the sender is wrong.
      const reason = error instanceof InvalidPushBodyError ? error.message : 'the body is not JSON';
      this.log({ severity: 'WARNING', message: `bad push request: ${reason}`, baton_event: 'push.bad_request' });
      return this.respond(400, { error: reason });
    }
    const result = await this.deliver(delivery);
    return this.respond(result.status === 'retry' ? 500 : 200, { ...result });
  }

  /** Adds `pipeline_hash` (and the deployed one, if different) to a response body. */
  respond(status: number, body: Record<string, unknown>): EntryResponse {
    const { pipelineHash, deployedPipelineHash } = this.options;
    return {
      status,
      body: { ...body, pipeline_hash: pipelineHash, ...(deployedPipelineHash === undefined ? {} : { deployed_pipeline_hash: deployedPipelineHash }) },
    };
  }

  /** Why the backend cannot be used now (logged once per request as one ERROR line), or undefined when it can. */
  private async unavailable(): Promise<string | undefined> {
    const { ready } = this.options;
    if (ready === undefined) return undefined;
    try {
      await ready();
      return undefined;
    } catch (error) {
      const reason = reasonOf(error);
      this.log({ severity: 'ERROR', message: `backend unavailable: ${reason}`, baton_event: 'entry.backend_unavailable', reason });
      return reason;
    }
  }

  private authorize(request: EntryRequest): Promise<EntryResponse | undefined> {
    return authorizeRequest(
      this.options.verifier,
      request,
      (entry) => this.log(entry),
      (status, body) => this.respond(status, body),
    );
  }

  private async deadLetter(delivery: PushDelivery, reason: string, context: LogFields): Promise<DeliveryResult> {
    const { component, topics, bus } = this.options;
    const topic = component.topicOf(delivery);
    const declared = topics.find((t) => t.name === topic);
    const deadLetterTopic = declared?.deadLetter.enabled ? declared.deadLetter.topic : undefined;
    const { message } = delivery;
    if (deadLetterTopic !== undefined) {
      const attributes = {
        ...message.attributes,
        [DEAD_LETTER_ATTRIBUTES.reason]: reason,
        [DEAD_LETTER_ATTRIBUTES.subscription]: delivery.subscription ?? '',
        [DEAD_LETTER_ATTRIBUTES.attempts]: String(delivery.deliveryAttempt ?? 1),
      };
      try {
        await bus.publish(deadLetterTopic, { ...message, attributes });
      } catch (error) {
        // Not on the dead-letter topic yet: the message must come back, not be acked away.
        const failure = `dead-lettering to ${deadLetterTopic} failed: ${reasonOf(error)} (original: ${reason})`;
        this.log({ severity: 'ERROR', message: failure, baton_event: 'message.retry', reason: failure, ...context });
        return { status: 'retry', reason: failure };
      }
    }
    // With the topic's dead-letter topic disabled, this ERROR line (with the data) is the record.
    this.log({
      severity: 'ERROR',
      message: `dead-lettered${deadLetterTopic === undefined ? ' (topic has no dead-letter topic)' : ` to ${deadLetterTopic}`}: ${reason}`,
      baton_event: 'message.dead_lettered',
      reason,
      dead_letter_topic: deadLetterTopic,
      ...(deadLetterTopic === undefined ? { data: message.data, attributes: message.attributes } : {}),
      ...context,
    });
    return { status: 'dead-lettered', reason, deadLetterTopic };
  }

  /**
   * One line for every trigger put on the bus (#16.10), whatever put it there: `decided` now, or
   * `re-published by tick` after a crash (or a failed publish) between decide and publish.
   * Counting these lines counts the triggers published; `*.fired` lines count decisions.
   */
  private logPublished({ trigger, why }: TriggerPublication, context: LogFields): void {
    const { component } = this.options;
    this.log({
      severity: why === 'decided' ? 'INFO' : 'NOTICE',
      message: `${component.kind} ${component.name}: published trigger for ${trigger.scope} (${why})`,
      baton_event: 'trigger.published',
      ...context,
      key: trigger.message.attributes['ce-subject'] ?? trigger.scope,
      scope: trigger.scope,
      correlation_id: trigger.message.attributes['ce-correlationid'] ?? context.correlation_id,
      traceparent: trigger.message.attributes['ce-traceparent'] ?? context.traceparent,
      trigger_id: trigger.message.id,
      topic: trigger.topic,
      publish_reason: why,
    });
  }

  private logFired(trigger: TriggerRecord, context: LogFields): void {
    const { component } = this.options;
    const data = triggerData(trigger);
    const base = {
      ...context,
      key: trigger.message.attributes['ce-subject'] ?? trigger.scope,
      scope: trigger.scope,
      correlation_id: data?.correlation_id ?? context.correlation_id,
      traceparent: trigger.message.attributes['ce-traceparent'] ?? context.traceparent,
      trigger_id: trigger.message.id,
      reason: trigger.reason,
      members_missing: data?.members_missing,
      ...(data?.members_failed === undefined || data.members_failed.length === 0 ? {} : { members_failed: data.members_failed }),
    };
    if (trigger.reason === 'deadline') {
      const tier = data?.deadline_tier;
      this.log({
        severity: 'WARNING',
        message: `${component.kind} ${component.name}: deadline tier ${tier?.tier ?? '?'} (${tier?.after ?? '?'}) missed for ${trigger.scope}; fired with ${data?.members_missing.length ?? '?'} missing`,
        baton_event: 'barrier.deadline_missed',
        deadline_tier: tier?.tier,
        deadline_after: tier?.after,
        ...base,
      });
      return;
    }
    const event = trigger.reason === 'stalled' ? 'coordinator.stalled' : `${component.kind}.fired`;
    // A batch that completed with failed entities (`all_reported`) finished short, as a stalled one did.
    const short = trigger.reason === 'stalled' || trigger.reason === 'all_reported';
    this.log({
      severity: short ? 'WARNING' : 'NOTICE',
      message: `${component.kind} ${component.name}: fired for ${trigger.scope} (${trigger.reason}${data ? ` ${describeCounts(data)}` : ''})`,
      baton_event: event,
      ...base,
    });
  }

  /** Writes one log line labelled with the component (and the deployed hash when it differs). */
  log(entry: LogEntry): void {
    this.options.logger.log({ ...entry, ...this.labels });
  }
}

/** The tick body: empty, or `{"barrier": name}` / `{"coordinator": name}`. */
function parseTickBody(body: string): { ok: true; name: string | undefined } | { ok: false; error: string } {
  if (body.trim() === '') return { ok: true, name: undefined };
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return { ok: false, error: 'the tick body is not JSON' };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { ok: false, error: 'the tick body is not a JSON object' };
  const { barrier, coordinator } = value as Record<string, unknown>;
  const name = barrier ?? coordinator;
  if (name !== undefined && typeof name !== 'string') return { ok: false, error: 'the tick body names its component with a non-string' };
  return { ok: true, name };
}

function triggerData(trigger: TriggerRecord): TriggerData | undefined {
  try {
    return JSON.parse(trigger.message.data) as TriggerData;
  } catch {
    return undefined;
  }
}
