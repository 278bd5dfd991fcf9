import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadPipelineBytes } from '../../../engine/config/load-pipeline.ts';

const folder = new URL('../../fixtures/invalid/', import.meta.url).pathname;

interface HintCase {
  readonly fixture: string;
  readonly code: string;
  /** Text the hint must contain: the edit below is what it tells the reader to do. */
  readonly says: string;
  readonly apply: (text: string) => string;
}

/** Replaces exactly one occurrence, so a fixture edit cannot silently miss. */
function replaceOnce(text: string, from: string | RegExp, to: string): string {
  const next = text.replace(from, to);
  expect(next, `edit ${String(from)}`).not.toBe(text);
  return next;
}

const cases: HintCase[] = [
  {
    fixture: 'dependency-not-upstream',
    code: 'graph/dependency-not-upstream',
    says: 'remove "build_x" from the depends_on of "load_b"',
    apply: (text) => replaceOnce(text, '      - name: load_b\n        depends_on: [build_x]\n', '      - name: load_b\n'),
  },
  {
    fixture: 'dependency-not-guaranteed',
    code: 'graph/dependency-not-guaranteed',
    says: 'add "load_c" to barriers.ingest-done.threshold.required',
    apply: (text) => replaceOnce(text, 'threshold: { count: 2 }', 'threshold: { count: 2, required: [load_c] }'),
  },
  {
    fixture: 'modes-need-date-key',
    code: 'graph/modes-need-date-key',
    says: 'set "type: date" under key and remove its pattern',
    apply: (text) => replaceOnce(text, / {2}type: string\n {2}pattern: .*\n/, '  type: date\n'),
  },
  {
    fixture: 'mode-cases-uncovered',
    code: 'graph/mode-cases-uncovered',
    says: 'add "after_today: { when: after_today }" under barriers.ingest-done.modes.profiles',
    apply: (text) => replaceOnce(text, '      profiles:\n', '      profiles:\n        after_today: { when: after_today }\n'),
  },
  {
    fixture: 'mode-case-duplicated',
    code: 'graph/mode-case-duplicated',
    says: 'remove barriers.ingest-done.modes.profiles.next_day',
    apply: (text) => replaceOnce(text, '        next_day:\n          when: after_today\n          threshold: { count: 1 }\n', ''),
  },
  {
    fixture: 'unknown-entity-type',
    code: 'graph/unknown-entity-type',
    says: 'did you mean "stores"?',
    apply: (text) => replaceOnce(replaceOnce(text, 'type: shops', 'type: stores'), 'changes: { stoers: 1.0 }', 'changes: { stores: 1.0 }'),
  },
  {
    fixture: 'entity-types-undeclared',
    code: 'graph/unknown-entity-type',
    says: 'add "entities: { stores: {} }" at the top level',
    apply: (text) => `${text}entities: { stores: {} }\n`,
  },
];

/** Each semantic rule's hint, followed literally, leaves a pipeline with no problem left. */
describe('semantic rule hints', () => {
  it.each(cases)('$code: following its hint in fixture $fixture yields a valid pipeline', ({ fixture, code, says, apply }) => {
    const text = readFileSync(`${folder}${fixture}.yaml`, 'utf8');
    const before = loadPipelineBytes(`${fixture}.yaml`, Buffer.from(text));
    const finding = before.diagnostics.find((d) => d.code === code);
    expect(finding?.hint).toContain(says);
    const after = loadPipelineBytes(`${fixture}.yaml`, Buffer.from(apply(text)));
    expect(after.diagnostics).toEqual([]);
  });
});
