import { BatonError } from '../runtime/errors.ts';

/**
 * Thrown by a processor's `handle` when retrying the same trigger cannot help (the input is bad, the
 * source says the data does not exist, a business rule refuses it). The SDK then publishes one
 * `failed` completion with this message and acks the trigger, so Pub/Sub stops redelivering it and
 * the barrier records the failure. Any other error is transient: the trigger is redelivered.
 */
export class PermanentError extends BatonError {
  readonly code: string;
  readonly retryable = false;

  /** `code` becomes the completion's `error_type` (default `processor/permanent`). */
  constructor(message: string, options: { readonly code?: string; readonly cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'PermanentError';
    this.code = options.code ?? 'processor/permanent';
  }
}
