import { BatonError } from '../runtime/errors.ts';

/**
 * What a processor's `handle` returned cannot become a completion envelope: an unknown or misspelled
 * field (`completion_pct`, `entities_changed` for `entitiesChanged`), a status outside
 * success | partial | no_data | failed, a negative count, metadata that shadows a completion field.
 * The SDK publishes a `failed` completion naming the problem instead (a programming error is not
 * fixed by redelivery), so the barrier shows the processor as failed rather than waiting forever.
 */
export class InvalidResultError extends BatonError {
  readonly code = 'sdk/invalid-result';
  readonly retryable = false;
}
