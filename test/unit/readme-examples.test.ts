import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/run-cli.ts';

/**
 * README examples are produced by the code, not typed: every fenced block preceded by
 * `<!-- example: NAME -->` must equal what the producer of NAME below prints today.
 * `UPDATE_README_EXAMPLES=1 npx vitest run test/unit/readme-examples.test.ts` rewrites them.
 */
const root = new URL('../../', import.meta.url).pathname;
const readmePath = join(root, 'README.md');
const work = mkdtempSync(join(tmpdir(), 'baton-readme-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const nbaPipeline = readFileSync(join(root, 'pipeline.yaml'), 'utf8');

/** Writes an edited copy of pipeline.yaml as <work>/<name>.yaml and returns its path. */
function editedPipeline(name: string, edit: (text: string) => string): string {
  const edited = edit(nbaPipeline);
  if (edited === nbaPipeline) throw new Error(`the ${name} edit changed nothing: pipeline.yaml no longer has what it replaces`);
  const file = join(work, `${name}.yaml`);
  writeFileSync(file, edited);
  return file;
}

const producers: Record<string, () => Promise<string>> = {
  /** The summary `npm start` ends with, for a fixed day and start so it is reproducible. */
  async 'start-summary'() {
    const { code, stdout } = await runCli('run', '--fresh', '--key', '2025-11-29', '--start', '2025-11-30T06:00:00Z', '--state-dir', join(work, 'state'));
    expect(code).toBe(0);
    const summary = stdout.slice(stdout.indexOf('\nkey ') + 1, stdout.indexOf('\nfinished in '));
    return summary.replace(/correlation id run-\S+/, 'correlation id run-…');
  },
  /** One misspelled topic: one located error with a did-you-mean. */
  async typo() {
    const file = editedPipeline('typo', (text) => text.replace('publishes: nba-phase3-analytics-complete', 'publishes: nba-phase3-analytcs-complete'));
    const { code, stderr } = await runCli('validate', file);
    expect(code).toBe(1);
    return stderr.replaceAll(file, 'pipeline.yaml').replace(/\npipeline\.yaml: \d+ errors?, \d+ warnings?\n$/, '');
  },
  /** What validate says after adding one raw processor: 22 processors, the barrier waits for 22. */
  async 'add-processor'() {
    const file = editedPipeline('add-processor', (text) =>
      text.replace('    processors:\n      - bdl_player_boxscores\n', '    processors:\n      - nbac_box_score_v3\n      - bdl_player_boxscores\n'),
    );
    const { code, stdout } = await runCli('validate', file);
    expect(code).toBe(0);
    const lines = stdout.split('\n');
    const barrier = lines.findIndex((l) => l.trimStart().startsWith('phase2-to-phase3:'));
    return [lines.find((l) => /^\s+2\. raw\b/.test(l)), lines[barrier], lines[barrier + 1]].join('\n');
  },
  /** What `baton plan` says the same edit means, and what it does to keys in flight. */
  async 'plan-add-processor'() {
    const file = editedPipeline('plan-add-processor', (text) =>
      text.replace('    processors:\n      - bdl_player_boxscores\n', '    processors:\n      - nbac_box_score_v3\n      - bdl_player_boxscores\n'),
    );
    const { code, stdout } = await runCli('plan', file, '--base', join(root, 'pipeline.yaml'));
    expect(code).toBe(1);
    const lines = stdout.split('\n');
    return lines
      .slice(
        lines.findIndex((l) => l.startsWith('What the edit means')),
        lines.findIndex((l) => l.startsWith('Resources:')) + 1,
      )
      .join('\n');
  },
  /** The monthly cost estimate of pipeline.yaml (planned against itself: no change). */
  async 'plan-cost'() {
    const file = join(root, 'pipeline.yaml');
    const { code, stdout } = await runCli('plan', file, '--base', file);
    expect(code).toBe(0);
    const lines = stdout.split('\n');
    return lines
      .slice(
        lines.findIndex((l) => l.startsWith('Monthly cost estimate')),
        lines.findIndex((l) => l.startsWith('  total:')) + 1,
      )
      .join('\n');
  },
};

/** An example block, possibly indented (inside a list item): indent, name, language, body. */
const EXAMPLE = /^( *)<!-- example: ([\w-]+) -->\n\1```(\w*)\n([\s\S]*?)^\1```/gm;

describe('README examples', () => {
  const readme = readFileSync(readmePath, 'utf8');
  const found = [...readme.matchAll(EXAMPLE)].map((m) => m[2] ?? '');

  it('every example in README.md has a producer and every producer is used', () => {
    expect(found.sort()).toEqual(Object.keys(producers).sort());
  });

  it('every example in README.md is what the code prints today', async () => {
    const produced = new Map<string, string>();
    for (const name of found) produced.set(name, (await producers[name]!()).trimEnd() + '\n');
    const expected = readme.replace(EXAMPLE, (_all, indent: string, name: string, lang: string) => {
      const body = produced.get(name)!.replace(/^(?=.)/gm, indent);
      return `${indent}<!-- example: ${name} -->\n${indent}\`\`\`${lang}\n${body}${indent}\`\`\``;
    });
    if (process.env.UPDATE_README_EXAMPLES === '1') writeFileSync(readmePath, expected);
    else expect(readme).toBe(expected);
  });
});
