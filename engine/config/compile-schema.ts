import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { packageRoot } from './package-root.ts';

// ajv-formats is CommonJS; under Node's ESM interop its default export is the plugin itself.
const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020;

/** The schemas Baton ships. */
export type SchemaName = 'pipeline' | 'envelope';

/** Absolute path of a schema shipped with Baton (works from source and from the bundled CLI). */
export function schemaPath(name: SchemaName): string {
  return join(packageRoot(), 'schemas', `${name}.schema.json`);
}

/**
 * Compiles a shipped schema with the settings every caller needs: draft 2020-12, every error, strict
 * schema checking, formats. `verbose` keeps each error's schema, which located diagnostics read.
 */
export function compileSchema<T>(name: SchemaName, options: { verbose?: boolean } = {}): ValidateFunction<T> {
  const ajv = new Ajv2020({ allErrors: true, strict: true, allowUnionTypes: true, verbose: options.verbose ?? false });
  addFormats(ajv);
  return ajv.compile<T>(JSON.parse(readFileSync(schemaPath(name), 'utf8')) as object);
}
