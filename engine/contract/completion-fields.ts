// Data flow: schemas/envelope.schema.json ($defs.completion) → the completion's field names, required flags and descriptions.
import { readFileSync } from 'node:fs';
import { schemaPath } from '../config/compile-schema.ts';

/** One data field of a completion envelope, as the schema states it. */
export interface CompletionField {
  readonly name: string;
  readonly required: boolean;
  readonly description: string;
}

interface SchemaField {
  readonly description?: string;
  readonly enum?: readonly string[];
  readonly $ref?: string;
}

let fields: readonly CompletionField[] | undefined;

/** The completion's data fields from schemas/envelope.schema.json, required ones first, each group in schema order. */
export function completionFields(): readonly CompletionField[] {
  fields ??= readCompletionFields();
  return fields;
}

function readCompletionFields(): CompletionField[] {
  const schema = JSON.parse(readFileSync(schemaPath('envelope'), 'utf8')) as {
    $defs: Record<string, SchemaField> & { completion: { required: string[]; properties: Record<string, SchemaField> } };
  };
  const { required, properties } = schema.$defs.completion;
  // `{"$ref": "#/$defs/name"}` fields are described where they point.
  const described = (field: SchemaField): SchemaField => (field.$ref?.startsWith('#/$defs/') ? (schema.$defs[field.$ref.slice(8)] ?? field) : field);
  const all = Object.entries(properties).map(([name, field]) => ({
    name,
    required: required.includes(name),
    description: `${field.description ?? described(field).description ?? ''}${field.enum ? ` One of ${field.enum.join(', ')}.` : ''}`,
  }));
  return [...all.filter((f) => f.required), ...all.filter((f) => !f.required)];
}
