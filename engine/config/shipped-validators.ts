// schemas/<name>.schema.json → compiled here on first use (from source) | compiled to code when the CLI or SDK is bundled (bin/bundle.js) → validator
import type { ValidateFunction } from 'ajv/dist/2020.js';
import { compileSchema } from './compile-schema.ts';

/** The shipped schemas every message passes through, which the CLI and SDK bundles carry compiled. */
export type PrecompiledSchema = 'envelope';

/** Every `PrecompiledSchema`. */
export const PRECOMPILED_SCHEMAS: readonly PrecompiledSchema[] = ['envelope'];

const compiled = new Map<PrecompiledSchema, ValidateFunction>();

/**
 * The validator of a shipped schema, compiled once per process. Compiling the envelope schema costs
 * tens of milliseconds, paid by the first message a process builds or reads; so when bin/bundle.js
 * bundles the CLI or the SDK it replaces this module with the same schemas compiled to code at build
 * time with the same settings (`precompiledValidatorsSource`), and a bundled process compiles nothing.
 * A test holds the two to the same answers.
 */
export function shippedValidator(name: PrecompiledSchema): ValidateFunction {
  let validator = compiled.get(name);
  if (validator === undefined) {
    validator = compileSchema(name);
    compiled.set(name, validator);
  }
  return validator;
}
