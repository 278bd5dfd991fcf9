// Data flow: delivered message (push or entry) → readTrigger → ProcessorTrigger (key, correlation, trace, entities) | permanent error.
import { createHash } from 'node:crypto';
import { TARGET_ATTRIBUTE } from '../config/conventions.ts';
import type { OutgoingMessage } from '../ports/message-bus.ts';
import type { EntityId } from '../ports/state-store.ts';
import { checkKey } from '../runtime/check-key.ts';
import { ENVELOPE_TYPES, parseMessage, type CompletionData, type Envelope, type TriggerData, type WorkData } from '../runtime/envelope.ts';
import { InvalidEnvelopeError } from '../runtime/errors.ts';
import type { ProcessorBinding } from './bind-processor.ts';

/** The message that starts a processor of an entry phase (a scheduler or workflow sends it). */
export interface EntryMessage {
  /** The pipeline key, e.g. the game_date. */
  readonly key: string;
  /** The key's run; default a stable id derived from the message id. */
  readonly correlation_id?: string;
  /** Anything else the starter passes (scraper name, options), handed to `handle` as is. */
  readonly [extra: string]: unknown;
}

/** Which entities an execution should process. */
export type ProcessorEntities =
  /** Only these changed upstream: redo them and leave the rest. */
  | { readonly incremental: true; readonly changed: Readonly<Record<string, readonly EntityId[]>> }
  /** Upstream did not say what changed (or asked for everything): process the full set. */
  | { readonly incremental: false };

/** What started an execution, as `handle` sees it. */
export type ProcessorTrigger = {
  /** The trigger message id; with the processor name it fixes the execution id. */
  readonly id: string;
  readonly key: string;
  readonly correlationId: string;
  /** The trigger's W3C traceparent, if it had one. */
  readonly traceparent: string | undefined;
  /** Who published it (`ce-source`), for envelopes. */
  readonly source: string | undefined;
  /** The component whose message started the work: a barrier, coordinator or upstream processor. */
  readonly parent: string | undefined;
  readonly entities: ProcessorEntities;
} & (
  | { readonly type: 'entry'; readonly data: EntryMessage }
  | { readonly type: typeof ENVELOPE_TYPES.completion; readonly data: CompletionData }
  | { readonly type: typeof ENVELOPE_TYPES.trigger; readonly data: TriggerData }
  | { readonly type: typeof ENVELOPE_TYPES.work; readonly data: WorkData }
);

/**
 * Reads a delivered message as this processor's trigger: for an entry processor, an entry message
 * (`{ "key": …, "correlation_id"?: … }` as the message data); otherwise a Baton envelope of a type
 * the graph delivers on the processor's trigger topic, addressed to it when a dependency barrier
 * starts it, with a key that obeys the pipeline's key rule. Throws a permanent error otherwise:
 * redelivering the same message cannot make it valid.
 */
export function readTrigger(binding: ProcessorBinding, message: OutgoingMessage): ProcessorTrigger {
  if (binding.entry) return readEntry(binding, message);
  const envelope = parseMessage(message);
  const { processor } = binding;
  if (!binding.accepts.includes(envelope.type)) {
    throw new InvalidEnvelopeError(
      `message ${message.id}: processor ${processor.name} is started by ${binding.accepts.join(' or ')} on ${binding.triggerTopic ?? '?'}, got ${envelope.type}`,
    );
  }
  const target = message.attributes[TARGET_ATTRIBUTE];
  if (binding.addressed ? target !== processor.name : target !== undefined) {
    throw new InvalidEnvelopeError(
      `message ${message.id}: addressed to ${target === undefined ? 'no processor' : `"${target}"`}, but ${processor.name} ${binding.addressed ? 'takes only triggers addressed to it' : 'takes only unaddressed triggers'}`,
    );
  }
  checkKey(binding.pipeline.key, envelope.subject);
  const common = { id: envelope.id, key: envelope.subject, correlationId: envelope.correlationid, traceparent: envelope.traceparent, source: envelope.source };
  switch (envelope.type) {
    case ENVELOPE_TYPES.completion: {
      const data = (envelope as Envelope<typeof ENVELOPE_TYPES.completion>).data;
      const meta = data.metadata;
      return { ...common, type: envelope.type, data, parent: data.processor_name, entities: entitiesOf(meta?.is_incremental, meta?.entities_changed) };
    }
    case ENVELOPE_TYPES.trigger: {
      const data = (envelope as Envelope<typeof ENVELOPE_TYPES.trigger>).data;
      const changed =
        data.entities_changed === undefined ? undefined : Object.fromEntries(Object.entries(data.entities_changed).map(([t, { ids }]) => [t, ids]));
      return { ...common, type: envelope.type, data, parent: data.emitter, entities: entitiesOf(data.is_incremental, changed) };
    }
    default: {
      const data = (envelope as Envelope<typeof ENVELOPE_TYPES.work>).data;
      return {
        ...common,
        type: ENVELOPE_TYPES.work,
        data,
        parent: data.coordinator,
        entities: { incremental: true, changed: { [data.entity_type]: [data.entity_id] } },
      };
    }
  }
}

function entitiesOf(incremental: boolean | undefined, changed: Record<string, readonly EntityId[]> | undefined): ProcessorEntities {
  return incremental === true && changed !== undefined ? { incremental: true, changed } : { incremental: false };
}

function readEntry(binding: ProcessorBinding, message: OutgoingMessage): ProcessorTrigger {
  let data: unknown;
  try {
    data = JSON.parse(message.data);
  } catch {
    throw new InvalidEnvelopeError(`entry message ${message.id}: body is not JSON`);
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) throw new InvalidEnvelopeError(`entry message ${message.id}: not a JSON object`);
  const entry = data as Record<string, unknown>;
  if (typeof entry.key !== 'string' || entry.key === '') {
    throw new InvalidEnvelopeError(`entry message ${message.id}: needs "key" (the ${binding.pipeline.key.name}) as a string, like {"key": "2025-11-29"}`);
  }
  if (entry.correlation_id !== undefined && (typeof entry.correlation_id !== 'string' || entry.correlation_id === '')) {
    throw new InvalidEnvelopeError(`entry message ${message.id}: correlation_id must be a non-empty string`);
  }
  checkKey(binding.pipeline.key, entry.key);
  const correlationId = entry.correlation_id ?? `corr-${createHash('sha256').update(message.id).digest('hex').slice(0, 16)}`;
  return {
    id: message.id,
    key: entry.key,
    correlationId,
    traceparent: message.attributes['ce-traceparent'] ?? message.attributes.traceparent,
    source: undefined,
    parent: undefined,
    entities: { incremental: false },
    type: 'entry',
    data: entry as EntryMessage,
  };
}
