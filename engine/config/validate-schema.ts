import type { ErrorObject, ValidateFunction } from 'ajv/dist/2020.js';
import { compileSchema } from './compile-schema.ts';
import type { DocPath, Finding } from './diagnostic.ts';
import { closestMatch, suggestHint } from './suggest.ts';
import type { PipelineSpec } from './pipeline-spec.ts';

export { schemaPath } from './compile-schema.ts';

let compiled: ValidateFunction<PipelineSpec> | undefined;

function pipelineValidator(): ValidateFunction<PipelineSpec> {
  compiled ??= compileSchema<PipelineSpec>('pipeline', { verbose: true });
  return compiled;
}

/** The result of schema validation: typed data when valid, findings either way. */
export interface SchemaResult {
  readonly findings: readonly Finding[];
  /** Set when the only findings are unknown keys: the data is safe to resolve, since resolve reads known keys only. */
  readonly spec?: PipelineSpec;
}

/**
 * Stage 2: checks the data against `schemas/pipeline.schema.json`, reporting every error at once.
 *
 * Error recovery, so one run reports everything: a misspelled required key (`listen:` for `listens:`)
 * is one finding, not "unknown key" plus "missing key", and checking continues as if it were spelled
 * right. When what remains are unknown keys only, the data is safe to resolve (resolve reads known
 * keys only) and the graph checks run too.
 */
export function validateSchema(data: unknown): SchemaResult {
  const validate = pipelineValidator();
  if (validate(data)) return { findings: [], spec: data };
  const findings = dedupe(pruneAnyOf(validate.errors ?? []).map((error) => toFinding(error, data)));
  const renames = misspelledRequiredKeys(findings);
  const merged = findings.filter((f) => !renames.some((r) => r.missing === f)).map((f) => renames.find((r) => r.unknown === f)?.merged ?? f);
  if (!merged.every((f) => f.code === 'schema/unknown-key')) return { findings: merged };
  if (renames.length === 0) return { findings: merged, spec: data as PipelineSpec };
  const repaired = structuredClone(data);
  for (const { unknown, key } of renames) renameKey(repaired, unknown.path, key);
  if (validate(repaired)) return { findings: merged, spec: repaired };
  const rest = pruneAnyOf(validate.errors ?? []).every((e) => e.keyword === 'additionalProperties');
  return rest ? { findings: merged, spec: repaired as PipelineSpec } : { findings: merged };
}

interface Rename {
  readonly unknown: Finding;
  readonly missing: Finding;
  readonly key: string;
  readonly merged: Finding;
}

/** Pairs each missing required key with an unknown key beside it that is a likely misspelling of it. */
function misspelledRequiredKeys(findings: readonly Finding[]): Rename[] {
  const renames: Rename[] = [];
  for (const missing of findings.filter((f) => f.code === 'schema/missing-key')) {
    const key = missing.key ?? '';
    const parent = missing.path.join('\u0000');
    const unknown = findings.find(
      (f) => f.code === 'schema/unknown-key' && f.path.slice(0, -1).join('\u0000') === parent && closestMatch(String(f.path.at(-1)), [key]) === key,
    );
    if (unknown && !renames.some((r) => r.unknown === unknown)) {
      renames.push({ unknown, missing, key, merged: { ...unknown, hint: `did you mean "${key}"? (it is required)` } });
    }
  }
  return renames;
}

function renameKey(data: unknown, path: DocPath, key: string): void {
  let node = data as Record<string | number, unknown>;
  for (const segment of path.slice(0, -1)) node = node[segment] as Record<string | number, unknown>;
  const old = path.at(-1) ?? '';
  node[key] = node[old];
  delete node[old];
}

/**
 * Of the errors a failed `anyOf` produces, keeps those of the branch the value was evidently written
 * for: when some error below the value is about its content (an unknown key, a bad pattern), the
 * "wrong type" errors of the other branches and the anyOf itself are noise. When every error is a type
 * mismatch, the anyOf's own message (with its description) says it best.
 */
function pruneAnyOf(errors: readonly ErrorObject[]): ErrorObject[] {
  let kept = errors.filter((e) => e.keyword !== 'propertyNames');
  const isTypeLevel = (e: ErrorObject, at: string): boolean => e.instancePath === at && (e.keyword === 'type' || e.keyword === 'const' || e.keyword === 'enum');
  for (const anyOf of errors.filter((e) => e.keyword === 'anyOf')) {
    const at = anyOf.instancePath;
    const below = kept.filter((e) => e !== anyOf && (e.instancePath === at || e.instancePath.startsWith(`${at}/`)));
    const content = below.filter((e) => !isTypeLevel(e, at) && e.keyword !== 'anyOf');
    kept =
      content.length > 0
        ? kept.filter((e) => e !== anyOf && !(below.includes(e) && isTypeLevel(e, at)))
        : kept.filter((e) => !below.includes(e) || e.keyword === 'anyOf');
  }
  return kept;
}

function dedupe(findings: Finding[]): Finding[] {
  const seen = new Set<string>();
  return findings.filter((f) => {
    const id = `${f.code}|${f.path.join('.')}|${f.message}`;
    if (seen.has(id)) return false;
    seen.add(id);
    return true;
  });
}

function pathOf(instancePath: string, data: unknown): (string | number)[] {
  const segments: (string | number)[] = [];
  let node: unknown = data;
  for (const raw of instancePath.split('/').slice(1)) {
    const segment = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(node)) {
      const index = Number(segment);
      segments.push(index);
      node = node[index];
    } else {
      segments.push(segment);
      node = typeof node === 'object' && node !== null ? (node as Record<string, unknown>)[segment] : undefined;
    }
  }
  return segments;
}

function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return typeof value === 'number' || typeof value === 'boolean' ? String(value) : typeof value;
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'number') return Number.isInteger(value) ? 'an integer' : 'a number';
  return `a ${typeof value}`;
}

function expected(type: unknown): string {
  const names: Record<string, string> = {
    object: 'a mapping',
    array: 'a list',
    string: 'a string',
    integer: 'an integer',
    number: 'a number',
    boolean: 'true or false',
    null: 'null',
  };
  const list = Array.isArray(type) ? type : [type];
  return list.map((t) => names[String(t)] ?? String(t)).join(' or ');
}

function toFinding(error: ErrorObject, data: unknown): Finding {
  const path: DocPath = pathOf(error.instancePath, data);
  const parent = (error.parentSchema ?? {}) as { description?: string; properties?: Record<string, unknown> };
  const params = error.params as Record<string, unknown>;
  const what = parent.description ? ` (${lowerFirst(parent.description)})` : '';
  const fail = (code: string, message: string, hint?: string, at: DocPath = path, atKey = false): Finding => ({
    code: `schema/${code}`,
    severity: 'error',
    message,
    path: at,
    hint,
    atKey,
  });
  if (error.propertyName !== undefined) {
    // A map key (topic, phase, barrier name…) that breaks its naming rule.
    return fail('invalid-name', `name ${show(error.propertyName)} is not allowed${what}`, undefined, [...path, error.propertyName], true);
  }
  switch (error.keyword) {
    case 'additionalProperties': {
      const key = String(params.additionalProperty);
      const allowed = Object.keys(parent.properties ?? {});
      return fail('unknown-key', `unknown key ${show(key)}`, suggestHint(key, allowed, 'allowed keys'), [...path, key], true);
    }
    case 'required': {
      const key = String(params.missingProperty);
      return { ...fail('missing-key', `required key ${show(key)} is missing`, describeProperty(parent, key), path, path.length > 0), key };
    }
    case 'enum': {
      const allowed = (params.allowedValues as unknown[]).map(String);
      return fail(
        'invalid-value',
        `${show(error.data)} is not allowed; expected one of ${allowed.map((v) => `"${v}"`).join(', ')}`,
        typeof error.data === 'string' ? closestHint(error.data, allowed) : undefined,
      );
    }
    case 'const': {
      const allowed = String(params.allowedValue);
      return fail(
        'invalid-value',
        `${show(error.data)} is not allowed; expected ${show(params.allowedValue)}`,
        typeof error.data === 'string' ? closestHint(error.data, [allowed]) : undefined,
      );
    }
    case 'type':
      return fail('wrong-type', `expected ${expected(params.type)}, got ${typeName(error.data)}${error.data === null ? ' (nothing after the colon)' : ''}`);
    case 'anyOf': {
      const branches = (error.parentSchema as { anyOf?: { const?: unknown }[] } | undefined)?.anyOf ?? [];
      const constants = branches.flatMap((b) => (typeof b.const === 'string' ? [b.const] : []));
      return fail('wrong-type', `${show(error.data)} is not allowed${what}`, typeof error.data === 'string' ? closestHint(error.data, constants) : undefined);
    }
    case 'pattern':
      return fail('invalid-format', `${show(error.data)} is not allowed${what}`);
    case 'format':
      return fail('invalid-format', `${show(error.data)} is not a valid ${String(params.format)}${what}`);
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
      return fail('out-of-range', `${show(error.data)} is out of range: must be ${String(params.comparison)} ${String(params.limit)}${what}`);
    case 'minItems':
      return fail('too-few', `list needs at least ${String(params.limit)} item${params.limit === 1 ? '' : 's'}, got ${(error.data as unknown[]).length}`);
    case 'minProperties':
      return fail('too-few', `needs at least ${String(params.limit)} entr${params.limit === 1 ? 'y' : 'ies'}, got ${Object.keys(error.data as object).length}`);
    case 'maxLength':
      return fail('too-long', `${show(error.data)} is longer than ${String(params.limit)} characters`);
    case 'minLength':
      return fail('too-short', `value must not be empty${what}`);
    case 'uniqueItems':
      return fail('duplicate-item', `items ${String(params.j)} and ${String(params.i)} are the same; each may appear once`);
    default:
      return fail(error.keyword, `${error.message ?? 'is invalid'}${what}`);
  }
}

function closestHint(value: string, allowed: readonly string[]): string | undefined {
  const hint = suggestHint(value, allowed);
  return hint?.startsWith('did you mean') ? hint : undefined;
}

function describeProperty(parent: { properties?: Record<string, unknown> }, key: string): string | undefined {
  const property = parent.properties?.[key] as { description?: string } | undefined;
  return property?.description ? `${key}: ${property.description}` : undefined;
}

function lowerFirst(text: string): string {
  const first = text.split(/\.\s+(?=[A-Z`])/)[0] ?? text;
  return (first.charAt(0).toLowerCase() + first.slice(1)).replace(/\.$/, '');
}
