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

/** A shipped schema, parsed. */
export function readSchema(name: SchemaName): object {
  return JSON.parse(readFileSync(schemaPath(name), 'utf8')) as object;
}

/**
 * The validator settings every caller needs: draft 2020-12, every error, strict schema checking,
 * formats. `verbose` keeps each error's schema, which located diagnostics read; `source` keeps the
 * generated code, for compiling to a module (engine/config/precompiled-validators-source.ts).
 */
export function schemaAjv(options: { verbose?: boolean; source?: boolean } = {}): Ajv2020 {
  const ajv = new Ajv2020({
    allErrors: true,
    strict: true,
    allowUnionTypes: true,
    verbose: options.verbose ?? false,
    ...(options.source === true ? { code: { source: true, esm: true } } : {}),
  });
  addFormats(ajv);
  return ajv;
}

/** Compiles a shipped schema with `schemaAjv`'s settings. */
export function compileSchema<T>(name: SchemaName, options: { verbose?: boolean } = {}): ValidateFunction<T> {
  return schemaAjv(options).compile<T>(readSchema(name));
}
