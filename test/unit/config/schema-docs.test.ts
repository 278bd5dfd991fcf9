import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { schemaPath } from '../../../engine/config/validate-schema.ts';

type Schema = { [key: string]: unknown };

/** Every object schema, with its JSON pointer. */
function objectSchemas(node: unknown, pointer = '#'): [string, Schema][] {
  if (typeof node !== 'object' || node === null) return [];
  const out: [string, Schema][] = [];
  const schema = node as Schema;
  if (schema.type === 'object' || schema.properties !== undefined) out.push([pointer, schema]);
  for (const [key, value] of Object.entries(schema)) {
    if (Array.isArray(value)) value.forEach((item, i) => out.push(...objectSchemas(item, `${pointer}/${key}/${i}`)));
    else if (typeof value === 'object') out.push(...objectSchemas(value, `${pointer}/${key}`));
  }
  return out;
}

describe('schemas/pipeline.schema.json', () => {
  const schema = JSON.parse(readFileSync(schemaPath('pipeline'), 'utf8')) as Schema;
  const defs = schema.$defs as Record<string, Schema>;
  const objects = objectSchemas(schema).filter(([pointer]) => !pointer.includes('/properties/$defs'));

  it('closes every object, so a misspelled key anywhere is an error', () => {
    const open = objects.filter(([, s]) => s.additionalProperties === undefined || s.additionalProperties === true).map(([p]) => p);
    expect(open).toEqual([]);
  });

  it('describes every property, directly or through its $ref', () => {
    const missing: string[] = [];
    for (const [pointer, s] of objects) {
      for (const [name, property] of Object.entries((s.properties ?? {}) as Record<string, Schema>)) {
        const ref = typeof property.$ref === 'string' ? defs[property.$ref.replace('#/$defs/', '')] : undefined;
        if (typeof property.description !== 'string' && typeof ref?.description !== 'string') missing.push(`${pointer}/properties/${name}`);
      }
    }
    expect(missing).toEqual([]);
  });

  it('is draft 2020-12', () => {
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
  });
});
