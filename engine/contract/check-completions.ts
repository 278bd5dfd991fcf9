// Data flow: what a processor answered (HTTP statuses) + what it published (captured per topic) → one CheckResult per rule of processors.md.
import { BATON_ID_ATTRIBUTE } from '../config/conventions.ts';
import { closestMatch } from '../config/suggest.ts';
import { ENVELOPE_ATTRIBUTES, ENVELOPE_TYPES, traceIdOf, validateEnvelope, type Envelope } from '../runtime/envelope.ts';
import { completionFields } from './completion-fields.ts';
import type { ProcessorContract } from './processor-contract.ts';

/** One line of the report: a rule of the contract, kept or broken, and what was seen. */
export interface CheckResult {
  /** The request it is about: `trigger`, `duplicate`, `not-json`, `not-an-envelope`. */
  readonly request: string;
  /** Short rule name, e.g. `schema`, `correlation id`. */
  readonly check: string;
  readonly ok: boolean;
  readonly detail: string;
}

/** A message the processor published, as captured on a topic. */
export interface CapturedMessage {
  readonly topic: string;
  readonly attributes: Readonly<Record<string, string>>;
  readonly data: string;
}

/** What one request got: the HTTP status (undefined when the request failed) and what was published after it. */
export interface RequestOutcome {
  readonly request: string;
  readonly status: number | undefined;
  /** Why there is no status (connection refused, timeout). */
  readonly error?: string;
  readonly published: readonly CapturedMessage[];
  /** How many of `published` were already on their topic when the answer came back. */
  readonly publishedBeforeAnswer?: number;
}

/** What the checked processor was sent as its good trigger. */
export interface SentTrigger {
  readonly key: string;
  /** Message id of the trigger (undefined for an entry request). */
  readonly id: string | undefined;
  readonly correlationId: string;
  /** The traceparent the processor must continue. */
  readonly traceparent: string;
  /** For a coordinator worker: the work's batch and entity. */
  readonly work?: { readonly batchId: string; readonly entityId: string | number };
  /** For an incremental trigger: the entity ids it asked to redo, per type. */
  readonly incremental?: Readonly<Record<string, readonly (string | number)[]>>;
}

/** What the checks compare against. */
export interface CheckInput {
  readonly contract: ProcessorContract;
  readonly pipelineHash: string;
  readonly sent: SentTrigger;
  readonly trigger: RequestOutcome;
  readonly duplicate: RequestOutcome;
  /** Bodies that are not a valid trigger: each must get a 4xx and publish nothing. */
  readonly malformed: readonly RequestOutcome[];
}

/** Every check of `baton check-processor`, in report order. Pure: the CLI gathers the input. */
export function checkCompletions(input: CheckInput): CheckResult[] {
  const { contract, trigger, duplicate, malformed } = input;
  const results: CheckResult[] = [];
  const add = (request: string, check: string, ok: boolean, detail: string): void => {
    results.push({ request, check, ok, detail });
  };
  const name = trigger.request;
  add(name, 'http', isStatus(trigger, 200), `${describeStatus(trigger)}; a trigger it handled must be acked with 2xx after its completion is published`);

  const onTopic = trigger.published.filter((m) => m.topic === contract.publishes);
  const elsewhere = trigger.published.filter((m) => m.topic !== contract.publishes);
  add(
    name,
    'topic',
    elsewhere.length === 0,
    elsewhere.length === 0
      ? `nothing published to any other topic of the pipeline`
      : `published to ${[...new Set(elsewhere.map((m) => m.topic))].join(', ')}; this processor publishes only to ${contract.publishes}`,
  );
  if (isStatus(trigger, 200) && onTopic.length > 0 && trigger.publishedBeforeAnswer !== undefined) {
    const before = trigger.publishedBeforeAnswer > 0;
    add(
      name,
      'ack after publish',
      before,
      before ? 'the completion was on the topic before the 2xx came back' : 'answered 2xx before its completion reached the topic; publish first, then ack',
    );
  }
  const first = onTopic[0];
  // A publish retried by the client may land twice; the same completion again is absorbed downstream.
  const distinct = new Set(onTopic.map(identityOf)).size;
  add(
    name,
    'one completion',
    distinct === 1,
    onTopic.length === 0
      ? `no completion on ${contract.publishes}; expected exactly one`
      : onTopic.length === 1
        ? `one message on ${contract.publishes}`
        : distinct === 1
          ? `${onTopic.length} messages on ${contract.publishes}, all the same completion (consumers absorb the repeats)`
          : `${distinct} different completions on ${contract.publishes}; expected exactly one`,
  );
  if (first !== undefined) results.push(...checkCompletion(input, name, first));

  add(duplicate.request, 'http', isStatus(duplicate, 200), `${describeStatus(duplicate)}; a redelivered trigger must be acked with 2xx`);
  results.push(checkDuplicate(contract, first, duplicate));
  for (const outcome of malformed) {
    add(
      outcome.request,
      'http',
      isStatus(outcome, 400),
      `${describeStatus(outcome)}; a request that is not a valid trigger must get a 4xx (Pub/Sub retries it, then dead-letters it)`,
    );
    add(
      outcome.request,
      'nothing published',
      outcome.published.length === 0,
      outcome.published.length === 0 ? 'no message published' : `published ${outcome.published.length} message(s) for a request that is not a trigger`,
    );
  }
  return results;
}

/** A value read from an untrusted message, as text for the report. */
function show(value: unknown): string {
  return typeof value === 'string' ? value : (JSON.stringify(value) ?? 'undefined');
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isStatus(outcome: RequestOutcome, hundreds: 200 | 400): boolean {
  return outcome.status !== undefined && outcome.status >= hundreds && outcome.status < hundreds + 100;
}

function describeStatus(outcome: RequestOutcome): string {
  return outcome.status === undefined ? `no answer (${outcome.error ?? 'request failed'})` : `HTTP ${outcome.status}`;
}

/** The checks of one completion message against the trigger that caused it. */
function checkCompletion(input: CheckInput, request: string, message: CapturedMessage): CheckResult[] {
  const { contract, sent, pipelineHash } = input;
  const results: CheckResult[] = [];
  const add = (check: string, ok: boolean, detail: string): void => {
    results.push({ request, check, ok, detail });
  };
  const { envelope, problems: shapeProblems } = rebuildEnvelope(message);
  const schemaProblems = [...shapeProblems, ...validateEnvelope(envelope).filter((p) => !/ has unknown field "/.test(p))];
  add('schema', schemaProblems.length === 0, schemaProblems.length === 0 ? 'matches schemas/envelope.schema.json' : schemaProblems.join('; '));
  const unknown = unknownFields(message, envelope);
  add('no unknown fields', unknown.length === 0, unknown.length === 0 ? 'every attribute and data field is part of the envelope' : unknown.join('; '));

  // Read as untrusted: every field may be missing or of the wrong type.
  const typed = envelope as Partial<Omit<Envelope, 'data'>>;
  const data = isObject(envelope.data) ? envelope.data : {};
  add('type', typed.type === ENVELOPE_TYPES.completion, `ce-type ${show(typed.type)}; expected ${ENVELOPE_TYPES.completion}`);
  const batonId = message.attributes[BATON_ID_ATTRIBUTE];
  add(
    'message id',
    typeof typed.id === 'string' && batonId === typed.id,
    batonId === undefined
      ? `no ${BATON_ID_ATTRIBUTE} attribute; publish ${BATON_ID_ATTRIBUTE} = ce-id`
      : `${BATON_ID_ATTRIBUTE} ${batonId}, ce-id ${show(typed.id)}`,
  );
  add(
    'execution id',
    typeof data.execution_id === 'string' && data.execution_id !== '',
    typeof data.execution_id === 'string' ? `data.execution_id ${data.execution_id}` : 'data.execution_id is missing',
  );
  add(
    'processor',
    data.processor_name === contract.processor.name && data.phase === contract.phase.name,
    `processor_name ${show(data.processor_name)}, phase ${show(data.phase)}; expected ${contract.processor.name} in ${contract.phase.name}`,
  );
  add(
    'key',
    typed.subject === sent.key && data.key === sent.key,
    `ce-subject ${show(typed.subject)}, data.key ${show(data.key)}; the trigger was for ${sent.key}`,
  );
  add(
    'correlation id',
    typed.correlationid === sent.correlationId && data.correlation_id === sent.correlationId,
    `ce-correlationid ${show(typed.correlationid)}, data.correlation_id ${show(data.correlation_id)}; the trigger carried ${sent.correlationId}`,
  );
  results.push({ request, ...checkTrace(typed.traceparent, sent.traceparent) });
  const hash = data.pipeline_hash;
  add(
    'pipeline hash',
    hash === pipelineHash,
    hash === undefined ? `pipeline_hash is missing; expected ${pipelineHash}` : `pipeline_hash ${show(hash)}; expected ${pipelineHash}`,
  );
  const statuses = ['success', 'partial', 'no_data', 'failed'];
  add('status', statuses.includes(show(data.status)), `status ${show(data.status)}; one of ${statuses.join(', ')}`);
  if (data.trigger_message_id !== undefined || sent.id !== undefined) {
    add(
      'trigger message id',
      data.trigger_message_id === undefined || data.trigger_message_id === sent.id,
      data.trigger_message_id === undefined ? 'not stated (optional)' : `trigger_message_id ${show(data.trigger_message_id)}; the trigger was ${show(sent.id)}`,
    );
  }
  results.push({ request, ...checkEntities(contract, data, sent.incremental) });
  if (sent.work) {
    add(
      'work item',
      data.batch_id === sent.work.batchId && show(data.entity_id) === show(sent.work.entityId),
      `batch_id ${show(data.batch_id)}, entity_id ${show(data.entity_id)}; the work was ${sent.work.batchId} / ${sent.work.entityId}`,
    );
  }
  return results;
}

/** The envelope as the runtime reads it: `ce-*` attributes + the JSON body as `data`. */
function rebuildEnvelope(message: CapturedMessage): { envelope: Record<string, unknown>; problems: string[] } {
  const envelope: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [field, attribute] of Object.entries(ENVELOPE_ATTRIBUTES)) {
    const value = message.attributes[attribute];
    if (value !== undefined) envelope[field] = value;
  }
  try {
    envelope.data = JSON.parse(message.data) as unknown;
  } catch {
    problems.push('the message body is not JSON');
  }
  return { envelope, problems };
}

const KNOWN_ATTRIBUTES = [...Object.values(ENVELOPE_ATTRIBUTES), BATON_ID_ATTRIBUTE];

/** Attributes and data fields the envelope does not have, each named, with a did-you-mean. */
function unknownFields(message: CapturedMessage, envelope: Record<string, unknown>): string[] {
  const found: string[] = [];
  const hint = (value: string, candidates: readonly string[]): string => {
    const match = closestMatch(value, candidates);
    return match === undefined ? '' : ` (did you mean ${match}?)`;
  };
  for (const attribute of Object.keys(message.attributes)) {
    // Own attributes are the user's business; ce-* and baton_* are Baton's and must be the known ones.
    if ((attribute.startsWith('ce-') || attribute.startsWith('baton_')) && !KNOWN_ATTRIBUTES.includes(attribute)) {
      found.push(`unknown attribute ${attribute}${hint(attribute, KNOWN_ATTRIBUTES)}`);
    }
  }
  const data = envelope.data;
  const known = completionFields().map((f) => f.name);
  if (isObject(data)) {
    for (const field of Object.keys(data)) {
      if (!known.includes(field)) found.push(`unknown field data.${field}${hint(field, known)}`);
    }
  }
  return found;
}

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** The completion's traceparent must start a new span in the trigger's trace. */
function checkTrace(traceparent: string | undefined, parent: string): Omit<CheckResult, 'request'> {
  const check = 'traceparent';
  if (traceparent === undefined) return { check, ok: false, detail: `ce-traceparent is missing; expected a child of ${parent}` };
  const match = TRACEPARENT.exec(traceparent);
  if (match === null) return { check, ok: false, detail: `ce-traceparent ${traceparent} is not a W3C traceparent` };
  if (traceIdOf(traceparent) !== traceIdOf(parent))
    return { check, ok: false, detail: `ce-traceparent ${traceparent} is in another trace; expected trace ${traceIdOf(parent)}` };
  if (match[2] === TRACEPARENT.exec(parent)?.[2])
    return { check, ok: false, detail: `ce-traceparent ${traceparent} reuses the trigger's span id; start a new span` };
  return { check, ok: true, detail: `${traceparent} is a child of ${parent}` };
}

function checkEntities(contract: ProcessorContract, data: Record<string, unknown>, incremental: SentTrigger['incremental']): Omit<CheckResult, 'request'> {
  const check = 'entities_changed';
  const metadata = (isObject(data.metadata) ? data.metadata : {}) as { entities_changed?: unknown; is_incremental?: unknown };
  const changed = metadata.entities_changed;
  const asked =
    incremental === undefined
      ? ''
      : `; the trigger asked to redo ${Object.entries(incremental)
          .map(([type, ids]) => `${ids.length} ${type}`)
          .join(', ')} incrementally`;
  if (changed === undefined && metadata.is_incremental === undefined) {
    if (contract.reportsEntities) {
      return {
        check,
        ok: false,
        detail: `metadata.entities_changed and metadata.is_incremental are missing; a barrier downstream of ${contract.publishes} aggregates them`,
      };
    }
    if (incremental !== undefined) return { check, ok: false, detail: `metadata.entities_changed and metadata.is_incremental are missing${asked}` };
    return { check, ok: true, detail: 'not reported (optional for this processor)' };
  }
  const wellFormed =
    isObject(changed) && Object.values(changed).every((ids) => Array.isArray(ids) && ids.every((id) => typeof id === 'string' || Number.isInteger(id)));
  if (!wellFormed) return { check, ok: false, detail: `metadata.entities_changed must map entity type → array of ids, got ${show(changed)}` };
  if (typeof metadata.is_incremental !== 'boolean') return { check, ok: false, detail: 'metadata.is_incremental must be true or false' };
  const counts = Object.entries(changed as Record<string, unknown[]>).map(([type, ids]) => `${ids.length} ${type}`);
  return { check, ok: true, detail: `${counts.join(', ') || 'none'} changed, is_incremental ${String(metadata.is_incremental)}${asked}` };
}

function idOf(message: CapturedMessage): string | undefined {
  return message.attributes['ce-id'];
}

function executionOf(message: CapturedMessage): unknown {
  try {
    return (JSON.parse(message.data) as { execution_id?: unknown }).execution_id;
  } catch {
    return undefined;
  }
}

/** Two messages are the same completion when their message id and execution id agree. */
function identityOf(message: CapturedMessage): string {
  return JSON.stringify([idOf(message), executionOf(message)]);
}

/** A redelivered trigger may publish nothing, or the same completion again (same ce-id, same execution id). */
function checkDuplicate(contract: ProcessorContract, first: CapturedMessage | undefined, duplicate: RequestOutcome): CheckResult {
  const request = duplicate.request;
  const check = 'no second completion';
  const again = duplicate.published.filter((m) => m.topic === contract.publishes);
  if (again.length === 0) return { request, check, ok: true, detail: 'published nothing again' };
  if (first === undefined)
    return { request, check, ok: false, detail: `published ${again.length} message(s) on the redelivery but none on the first delivery` };
  const different = again.filter((m) => identityOf(m) !== identityOf(first));
  if (different.length === 0)
    return { request, check, ok: true, detail: `published the same completion again (ce-id ${show(idOf(first))}); consumers absorb it` };
  const m = different[0] as CapturedMessage;
  return {
    request,
    check,
    ok: false,
    detail: `a second, different completion: ce-id ${show(idOf(m))}, execution_id ${show(executionOf(m))} (first: ${show(idOf(first))}, ${show(executionOf(first))}); a redelivery must publish the same ids or nothing`,
  };
}
