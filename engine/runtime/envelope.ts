import { randomFillSync } from 'node:crypto';
import type { ErrorObject } from 'ajv/dist/2020.js';
import type { CompletionStatus } from '../config/pipeline-spec.ts';
import { shippedValidator } from '../config/shipped-validators.ts';
import type { OutgoingMessage } from '../ports/message-bus.ts';
import type { EntityId } from '../ports/state-store.ts';
import { InvalidEnvelopeError } from './errors.ts';

/** Message types Baton publishes. */
export const ENVELOPE_TYPES = { completion: 'dev.baton.completion.v1', trigger: 'dev.baton.trigger.v1', work: 'dev.baton.work.v1' } as const;

export { TARGET_ATTRIBUTE } from '../config/conventions.ts';

/** `data` of a completion: a processor or worker finished work for a key. */
export interface CompletionData {
  processor_name: string;
  phase: string;
  execution_id: string;
  correlation_id: string;
  key: string;
  status: CompletionStatus;
  timestamp: string;
  record_count?: number;
  records_failed?: number;
  duration_seconds?: number;
  parent_processor?: string;
  trigger_source?: 'pubsub' | 'scheduler' | 'manual';
  trigger_message_id?: string;
  entity_id?: EntityId;
  batch_id?: string;
  error_message?: string;
  error_type?: string;
  pipeline_hash?: string;
  metadata?: { entities_changed?: Record<string, EntityId[]>; is_incremental?: boolean; [extra: string]: unknown };
}

/**
 * Why a trigger fired. `all_complete`: every expected member (or entity) counted. A barrier's threshold
 * names itself: `count`, `quorum` or `required`; `deadline`: a deadline tier. A coordinator's
 * `all_reported`: every entity reported, some failed; `stalled`: its stall policy.
 */
export type TriggerReason = 'all_complete' | 'count' | 'quorum' | 'required' | 'deadline' | 'all_reported' | 'stalled';

/** `data` of a trigger: a barrier's threshold (or a coordinator's batch) holds for a key. */
export interface TriggerData {
  key: string;
  correlation_id: string;
  emitter: string;
  target?: string;
  reason: TriggerReason;
  mode?: string;
  deadline_tier?: { tier: number; after: string };
  members_completed: string[];
  members_missing: string[];
  members_failed?: string[];
  entities_changed?: Record<string, { ids: EntityId[]; count: number }>;
  is_incremental?: boolean;
  lineage: string[];
  pipeline_hash?: string;
}

/** `data` of a work message: one entity of a coordinator batch. */
export interface WorkData {
  key: string;
  correlation_id: string;
  coordinator: string;
  batch_id: string;
  entity_type: string;
  entity_id: EntityId;
}

interface DataOf {
  'dev.baton.completion.v1': CompletionData;
  'dev.baton.trigger.v1': TriggerData;
  'dev.baton.work.v1': WorkData;
}

/** An envelope type. */
export type EnvelopeType = keyof DataOf;

/** The one message format (see schemas/envelope.schema.json): CloudEvents 1.0 + correlation + trace. */
export interface Envelope<T extends EnvelopeType = EnvelopeType> {
  specversion: '1.0';
  id: string;
  source: string;
  type: T;
  time: string;
  subject: string;
  correlationid: string;
  traceparent?: string;
  datacontenttype: 'application/json';
  data: DataOf[T];
}

/** What a publisher states; the rest of the envelope is derived. */
export interface EnvelopeInput<T extends EnvelopeType> {
  readonly id: string;
  readonly source: string;
  readonly type: T;
  /** Epoch ms. */
  readonly time: number;
  readonly subject: string;
  readonly correlationId: string;
  /** The traceparent of the message that caused this one; the new message starts a child span in its trace. */
  readonly parentTraceparent?: string | undefined;
  readonly data: DataOf[T];
}

/** Checks a value against the envelope schema; returns the problems, empty when valid. */
export function validateEnvelope(value: unknown): string[] {
  const validate = shippedValidator('envelope');
  if (validate(value)) return [];
  return (validate.errors ?? []).filter((e) => e.keyword !== 'if').map(describeError);
}

function describeError(error: ErrorObject): string {
  // Name the field: a misspelled one (completion_pct for completion_percentage, #14) must say which it is.
  if (error.keyword === 'additionalProperties') {
    return `${error.instancePath || '/'} has unknown field "${String((error.params as { additionalProperty?: unknown }).additionalProperty)}"`;
  }
  return `${error.instancePath || '/'} ${error.message ?? 'is invalid'}`;
}

/** Builds and validates an envelope (#13: a message that would break its consumer is never sent). */
export function buildEnvelope<T extends EnvelopeType>(input: EnvelopeInput<T>): Envelope<T> {
  const envelope = assembleEnvelope(input);
  const problems = validateEnvelope(envelope);
  if (problems.length > 0) throw new InvalidEnvelopeError(`refusing to publish ${input.type} ${input.id}: ${problems.join('; ')}`);
  return envelope;
}

/** What `buildEnvelope` would refuse in `input`, without throwing; empty when it would build. */
export function envelopeProblems<T extends EnvelopeType>(input: EnvelopeInput<T>): string[] {
  return validateEnvelope(assembleEnvelope(input));
}

function assembleEnvelope<T extends EnvelopeType>(input: EnvelopeInput<T>): Envelope<T> {
  return {
    specversion: '1.0',
    id: input.id,
    source: input.source,
    type: input.type,
    time: new Date(input.time).toISOString(),
    subject: input.subject,
    correlationid: input.correlationId,
    traceparent: childTraceparent(input.parentTraceparent),
    datacontenttype: 'application/json',
    data: input.data,
  };
}

/** Pub/Sub attribute of each envelope field (CloudEvents binary mode); `data` travels as the message body. */
export const ENVELOPE_ATTRIBUTES = {
  specversion: 'ce-specversion',
  id: 'ce-id',
  source: 'ce-source',
  type: 'ce-type',
  time: 'ce-time',
  subject: 'ce-subject',
  correlationid: 'ce-correlationid',
  traceparent: 'ce-traceparent',
  datacontenttype: 'content-type',
} as const;

/** Pub/Sub form (CloudEvents binary mode): attributes `ce-*`, `data` as the JSON body. */
export function toMessage(envelope: Envelope, extraAttributes: Readonly<Record<string, string>> = {}): OutgoingMessage {
  const attributes: Record<string, string> = { ...extraAttributes };
  for (const [field, attribute] of Object.entries(ENVELOPE_ATTRIBUTES)) {
    const value = envelope[field as keyof typeof ENVELOPE_ATTRIBUTES];
    if (value !== undefined) attributes[attribute] = value;
  }
  return { id: envelope.id, attributes, data: JSON.stringify(envelope.data) };
}

/** Reads and validates a received message (#13, #14); throws a permanent `InvalidEnvelopeError`. */
export function parseMessage(message: Pick<OutgoingMessage, 'id' | 'attributes' | 'data'>): Envelope {
  let data: unknown;
  try {
    data = JSON.parse(message.data);
  } catch {
    throw new InvalidEnvelopeError(`message ${message.id}: body is not JSON`);
  }
  const value: Record<string, unknown> = { data };
  for (const [field, attribute] of Object.entries(ENVELOPE_ATTRIBUTES)) {
    const attributeValue = message.attributes[attribute];
    if (attributeValue !== undefined) value[field] = attributeValue;
  }
  const problems = validateEnvelope(value);
  if (problems.length > 0) throw new InvalidEnvelopeError(`message ${message.id}: ${problems.join('; ')}`);
  const envelope = value as unknown as Envelope;
  if (envelope.id !== message.id) throw new InvalidEnvelopeError(`message ${message.id}: ce-id "${envelope.id}" differs from the message id`);
  const key = (envelope.data as { key?: unknown }).key;
  if (key !== envelope.subject) throw new InvalidEnvelopeError(`message ${message.id}: subject "${envelope.subject}" differs from data.key "${String(key)}"`);
  return envelope;
}

/** Narrows an envelope to one type, or throws a permanent error naming what was expected. */
export function expectType<T extends EnvelopeType>(envelope: Envelope, type: T): Envelope<T> {
  if (envelope.type !== type) throw new InvalidEnvelopeError(`message ${envelope.id}: expected ${type}, got ${envelope.type}`);
  return envelope as Envelope<T>;
}

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** A W3C traceparent for the next hop: same trace and flags as the parent, a new span id; a new trace without a parent. */
export function childTraceparent(parent?: string): string {
  const match = parent === undefined ? null : TRACEPARENT.exec(parent);
  const traceId = match?.[1] ?? nonZeroHex(16);
  const flags = match?.[3] ?? '01';
  return `00-${traceId}-${nonZeroHex(8)}-${flags}`;
}

// Random bytes are drawn a pool at a time: one call into the CSPRNG per 256 ids, not one per id.
const randomPool = Buffer.alloc(4096);
let randomPoolAt = randomPool.length;

function nonZeroHex(bytes: number): string {
  // All-zero ids are invalid in W3C trace context.
  for (;;) {
    if (randomPoolAt + bytes > randomPool.length) {
      randomFillSync(randomPool);
      randomPoolAt = 0;
    }
    const hex = randomPool.toString('hex', randomPoolAt, (randomPoolAt += bytes));
    if (/[1-9a-f]/.test(hex)) return hex;
  }
}

/** The trace id of a traceparent, if it is one. */
export function traceIdOf(traceparent: string | undefined): string | undefined {
  return traceparent === undefined ? undefined : TRACEPARENT.exec(traceparent)?.[1];
}
