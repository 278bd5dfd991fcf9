import type { CompletionStatus } from '../config/pipeline-spec.ts';
import { closestMatch } from '../config/suggest.ts';
import type { EntityId } from '../ports/state-store.ts';
import { InvalidResultError } from './invalid-result-error.ts';

/** A JSON value, as metadata may hold. */
export type JsonValue = string | number | boolean | null | readonly JsonValue[] | { readonly [key: string]: JsonValue };

/** What a processor's `handle` returns; the SDK turns it into the one completion envelope. */
export interface ProcessorResult {
  /** `success` and `partial` count towards barriers by default; `no_data` and `failed` are recorded. */
  readonly status: CompletionStatus;
  /** Entity ids this execution changed, per entity type (`{ players: [203999, …] }`): downstream redoes only these. */
  readonly entitiesChanged?: Readonly<Record<string, readonly EntityId[]>>;
  /** True when the work covered only changed entities, so downstream may redo only `entitiesChanged`. */
  readonly isIncremental?: boolean;
  /** Records written. */
  readonly recordCount?: number;
  /** Records that failed. */
  readonly recordsFailed?: number;
  /** What went wrong, for `failed` or `partial`. */
  readonly errorMessage?: string;
  /** Class of error, for `failed` or `partial`. */
  readonly errorType?: string;
  /** Extra facts about the work, carried under the completion's `metadata`; names of completion fields are refused. */
  readonly metadata?: Readonly<Record<string, JsonValue>>;
}

const FIELDS = ['status', 'entitiesChanged', 'isIncremental', 'recordCount', 'recordsFailed', 'errorMessage', 'errorType', 'metadata'] as const;
const STATUSES: readonly CompletionStatus[] = ['success', 'partial', 'no_data', 'failed'];
/** Completion fields the SDK fills itself, with the result field that sets each (if any); metadata may not shadow them or their near misses. */
const RESERVED: Readonly<Record<string, string | undefined>> = {
  entities_changed: 'entitiesChanged',
  is_incremental: 'isIncremental',
  status: 'status',
  record_count: 'recordCount',
  records_failed: 'recordsFailed',
  error_message: 'errorMessage',
  error_type: 'errorType',
  processor_name: undefined,
  execution_id: undefined,
  correlation_id: undefined,
  pipeline_hash: undefined,
  trigger_message_id: undefined,
};
const ENTITY_TYPE = /^[a-z][a-z0-9_]{0,62}$/;

/**
 * Checks a value `handle` returned, field by field (TypeScript callers get the same check at compile
 * time, JavaScript callers and `as any` at run time). Throws `InvalidResultError` naming the first
 * problem, with a did-you-mean for a misspelled field.
 */
export function checkProcessorResult(value: unknown): ProcessorResult {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidResultError(`handle must return an object like { status: 'success' }, got ${describe(value)}`);
  }
  const result = value as Record<string, unknown>;
  for (const field of Object.keys(result)) {
    if ((FIELDS as readonly string[]).includes(field)) continue;
    const near = closestMatch(field, FIELDS);
    throw new InvalidResultError(
      `handle returned an unknown field "${field}"${near === undefined ? `; allowed: ${FIELDS.join(', ')}` : `; did you mean "${near}"?`}`,
    );
  }
  if (!STATUSES.includes(result.status as CompletionStatus)) {
    throw new InvalidResultError(`status ${describe(result.status)} is not one of ${STATUSES.join(', ')}`);
  }
  for (const field of ['recordCount', 'recordsFailed'] as const) {
    const count = result[field];
    if (count !== undefined && !(Number.isInteger(count) && (count as number) >= 0)) {
      throw new InvalidResultError(`${field} ${describe(count)} is not a whole number ≥ 0`);
    }
  }
  for (const field of ['errorMessage', 'errorType'] as const) {
    if (result[field] !== undefined && typeof result[field] !== 'string') throw new InvalidResultError(`${field} ${describe(result[field])} is not a string`);
  }
  if (result.isIncremental !== undefined && typeof result.isIncremental !== 'boolean') {
    throw new InvalidResultError(`isIncremental ${describe(result.isIncremental)} is not a boolean`);
  }
  if (result.entitiesChanged !== undefined) checkEntities(result.entitiesChanged);
  if (result.metadata !== undefined) checkMetadata(result.metadata);
  return result as unknown as ProcessorResult;
}

function checkEntities(value: unknown): void {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidResultError(`entitiesChanged must map entity types to id lists, like { players: [1, 2] }; got ${describe(value)}`);
  }
  for (const [type, ids] of Object.entries(value)) {
    if (!ENTITY_TYPE.test(type)) throw new InvalidResultError(`entitiesChanged: entity type "${type}" is not a lower_snake_case name`);
    if (!Array.isArray(ids) || !ids.every((id) => typeof id === 'string' || Number.isInteger(id))) {
      throw new InvalidResultError(`entitiesChanged.${type} must be a list of string or integer ids; got ${describe(ids)}`);
    }
  }
}

function checkMetadata(value: unknown): void {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new InvalidResultError(`metadata must be an object; got ${describe(value)}`);
  for (const [name, fact] of Object.entries(value)) {
    const near = name in RESERVED ? name : closestMatch(name, Object.keys(RESERVED));
    if (near !== undefined) {
      const field = RESERVED[near];
      throw new InvalidResultError(
        `metadata.${name} ${near === name ? 'is' : `looks like "${near}", which is`} a completion field the SDK fills itself${field === undefined ? '' : `; return ${field} instead`}`,
      );
    }
    if (!isJson(fact)) throw new InvalidResultError(`metadata.${name} is not a JSON value`);
  }
}

function isJson(value: unknown): boolean {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return true;
  if (typeof value === 'number') return Number.isFinite(value);
  if (Array.isArray(value)) return value.every(isJson);
  if (typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) return Object.values(value).every(isJson);
  return false;
}

function describe(value: unknown): string {
  try {
    const json = JSON.stringify(value);
    if (json !== undefined) return json.slice(0, 80);
  } catch {
    // Cyclic or BigInt: fall through to the type.
  }
  return value === undefined ? 'undefined' : `a ${typeof value}`;
}
