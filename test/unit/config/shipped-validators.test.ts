import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ValidateFunction } from 'ajv/dist/2020.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packageRoot } from '../../../engine/config/package-root.ts';
import { precompiledValidatorsSource } from '../../../engine/config/precompiled-validators-source.ts';
import { PRECOMPILED_SCHEMAS, shippedValidator } from '../../../engine/config/shipped-validators.ts';
import { ENVELOPE_TYPES } from '../../../engine/runtime/envelope.ts';
import { completion } from '../../contract/fixtures.ts';

// The CLI and SDK bundles carry the envelope schema compiled to code at build time (bin/bundle.js); a
// process running from source compiles it on first use. Both must accept and refuse exactly the same
// messages, with the same errors.

const KEY = '2025-11-28';

/** A valid completion envelope, as `parseMessage` assembles it from a message. */
function envelope(): Record<string, unknown> {
  const message = completion({ member: 'load_a', key: KEY });
  const a = message.attributes;
  return {
    specversion: a['ce-specversion'],
    id: a['ce-id'],
    source: a['ce-source'],
    type: a['ce-type'],
    time: a['ce-time'],
    subject: a['ce-subject'],
    correlationid: a['ce-correlationid'],
    traceparent: a['ce-traceparent'],
    datacontenttype: a['content-type'],
    data: JSON.parse(message.data) as Record<string, unknown>,
  };
}

function withData(change: (data: Record<string, unknown>) => void): Record<string, unknown> {
  const value = envelope();
  change(value.data as Record<string, unknown>);
  return value;
}

// [what, the value]
const CASES: [string, unknown][] = [
  ['a valid completion', envelope()],
  ['a trigger with a completion’s data', { ...envelope(), type: ENVELOPE_TYPES.trigger }],
  ['an unknown attribute', { ...envelope(), colour: 'red' }],
  ['a missing id', (({ id: _id, ...rest }) => rest)(envelope())],
  ['a time that is not a date-time', { ...envelope(), time: '28/11/2025' }],
  ['an unknown data field', withData((d) => (d.completion_pct = 95))],
  ['a status that is not one of the statuses', withData((d) => (d.status = 'done'))],
  ['a negative record count and an empty processor name', withData((d) => ((d.record_count = -1), (d.processor_name = '')))],
  ['not an object', 'a string'],
];

describe('shipped validators compiled at build time', () => {
  const folder = join(packageRoot(), 'node_modules', '.cache', `baton-test-validators-${process.pid}`);
  let precompiled: { shippedValidator: (name: string) => ValidateFunction; PRECOMPILED_SCHEMAS: readonly string[] };

  beforeAll(async () => {
    // Under node_modules, as in the bundle: the module requires ajv's runtime helpers from where it sits.
    mkdirSync(folder, { recursive: true });
    writeFileSync(join(folder, 'validators.mjs'), precompiledValidatorsSource());
    precompiled = (await import(pathToFileURL(join(folder, 'validators.mjs')).href)) as typeof precompiled;
  });
  afterAll(() => rmSync(folder, { recursive: true, force: true }));

  it('exports the same schemas as the module it replaces', () => {
    expect(precompiled.PRECOMPILED_SCHEMAS).toEqual(PRECOMPILED_SCHEMAS);
  });

  it.each(CASES)('answers %s exactly as the schema compiled at run time does', (_what, value) => {
    const atRunTime = shippedValidator('envelope');
    const atBuildTime = precompiled.shippedValidator('envelope');
    const verdict = atRunTime(value);
    expect(atBuildTime(value)).toBe(verdict);
    expect(atBuildTime.errors ?? null).toEqual(atRunTime.errors ?? null);
    if (_what !== 'a valid completion') expect(verdict).toBe(false);
  });

  it('refuses a schema it was not built with, by name', () => {
    expect(() => precompiled.shippedValidator('pipeline')).toThrow('no precompiled validator for schema pipeline');
  });
});
