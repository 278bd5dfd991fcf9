import { BatonError } from '../runtime/errors.ts';

/**
 * A processor cannot start: its pipeline.yaml does not load, its name is not a processor of the
 * pipeline (the message carries a did-you-mean), or its environment is inconsistent. Thrown by
 * `createProcessor` and `publishCompletion` before any message is handled. Fixing the code or the
 * deployment fixes it; retrying does not.
 */
export class ProcessorConfigError extends BatonError {
  readonly code = 'sdk/config';
  readonly retryable = false;
}
