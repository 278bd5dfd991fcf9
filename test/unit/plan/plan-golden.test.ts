import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../../helpers/run-cli.ts';

/**
 * Golden plans: each folder under test/fixtures/plan/ holds an `edit.json` (text replacements applied
 * to the frozen `base.yaml`, and the exit code the plan must give) beside the exact plan it must print
 * in each format. `BATON_UPDATE_GOLDEN=1 npx vitest run test/unit/plan/plan-golden.test.ts` rewrites them.
 */
const fixtures = new URL('../../fixtures/plan/', import.meta.url).pathname;
const base = readFileSync(join(fixtures, 'base.yaml'), 'utf8');
const cases = readdirSync(fixtures).filter((name) => statSync(join(fixtures, name)).isDirectory());
const work = mkdtempSync(join(tmpdir(), 'baton-plan-golden-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

interface Edit {
  readonly description: string;
  readonly exit: number;
  readonly replace: readonly [string, string][];
}

const FORMATS = [
  ['text', 'expected.txt'],
  ['markdown', 'expected.md'],
  ['json', 'expected.json'],
] as const;

describe('golden plans', () => {
  it('covers the edits the issue names, and a comment-only edit', () => {
    expect(cases.sort()).toEqual(
      [
        'add-processor',
        'change-quorum',
        'change-stall',
        'change-tier',
        'no-change',
        'remove-barrier',
        'remove-processor',
        'remove-tiered-member',
        'rename-barrier',
        'rename-processor',
      ].sort(),
    );
  });

  it.each(cases)('%s prints exactly its expected plan in every format, with its exit code', async (name) => {
    const edit = JSON.parse(readFileSync(join(fixtures, name, 'edit.json'), 'utf8')) as Edit;
    let head = base;
    for (const [from, to] of edit.replace) {
      expect(head.includes(from), `${name}: base.yaml no longer contains ${JSON.stringify(from)}`).toBe(true);
      head = head.replace(from, to);
    }
    const dir = join(work, name);
    rmSync(dir, { recursive: true, force: true });
    const { mkdirSync } = await import('node:fs');
    mkdirSync(dir);
    writeFileSync(join(dir, 'base.yaml'), base);
    writeFileSync(join(dir, 'pipeline.yaml'), head);
    for (const [format, expectedFile] of FORMATS) {
      const { code, stdout, stderr } = await runCli('plan', join(dir, 'pipeline.yaml'), '--base', join(dir, 'base.yaml'), '--format', format);
      expect(stderr).toBe('');
      expect(code, `${name} --format ${format}`).toBe(edit.exit);
      const output = stdout.replaceAll(`${dir}/`, '');
      const path = join(fixtures, name, expectedFile);
      if (process.env.BATON_UPDATE_GOLDEN === '1') writeFileSync(path, output);
      else expect(output).toBe(readFileSync(path, 'utf8'));
    }
  });
});
