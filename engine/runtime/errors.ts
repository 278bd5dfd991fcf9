/**
 * Runtime errors. Each has a stable `code` and says on purpose whether retrying can help: the
 * subscriber dead-letters a non-retryable error at once with its reason (#17) and redelivers a
 * retryable one, bounded by the subscription's max delivery attempts.
 */
export abstract class BatonError extends Error {
  /** Stable code, `<area>/<what>`. */
  abstract readonly code: string;
  /** Whether redelivering the same message can succeed. */
  abstract readonly retryable: boolean;
}

/** A message does not match `schemas/envelope.schema.json` (or is not JSON). Never retryable. */
export class InvalidEnvelopeError extends BatonError {
  readonly code = 'envelope/invalid';
  readonly retryable = false;
}

/** A completion names a processor that does not publish to the barrier's topic. Never retryable. */
export class UnknownMemberError extends BatonError {
  readonly code = 'barrier/unknown-member';
  readonly retryable = false;
}

/** A key that breaks the pipeline's key rule (e.g. not a YYYY-MM-DD date). Never retryable. */
export class InvalidKeyError extends BatonError {
  readonly code = 'runtime/invalid-key';
  readonly retryable = false;
}

/** No mode profile matches a key, so its expectations are undefined. Never retryable. */
export class NoModeProfileError extends BatonError {
  readonly code = 'barrier/no-mode-profile';
  readonly retryable = false;
}

/** A ready message for a batch or entity the coordinator never opened. Never retryable. */
export class UnknownBatchError extends BatonError {
  readonly code = 'coordinator/unknown-batch';
  readonly retryable = false;
}

/** A second batch for a key whose batch is still active, with `on_active_batch: refuse`. Never retryable. */
export class BatchRefusedError extends BatonError {
  readonly code = 'coordinator/batch-refused';
  readonly retryable = false;
}

/**
 * A coordinator's entity list (full or incremental) holds an id no work message can carry — not a
 * string or integer (e.g. 7.5), or one that makes the work id longer than the envelope allows. The
 * trigger fails before any batch is opened, so the key is not wedged. Never retryable.
 */
export class InvalidEntityListError extends BatonError {
  readonly code = 'coordinator/invalid-entity-list';
  readonly retryable = false;
}

/** A dependency (store, bus, entity list) failed in a way that may pass on retry. */
export class TransientError extends BatonError {
  readonly code = 'runtime/transient';
  readonly retryable = true;
}

/** True for errors that redelivery cannot fix; anything unknown is treated as transient. */
export function isPermanent(error: unknown): error is BatonError {
  return error instanceof BatonError && !error.retryable;
}

/** The reason recorded with a dead letter or a nack. */
export function reasonOf(error: unknown): string {
  if (error instanceof BatonError) return `${error.code}: ${error.message}`;
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
