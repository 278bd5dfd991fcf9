import { parse } from '@cdktf/hcl2json';
import { beforeAll, describe, expect, it } from 'vitest';
import { fileOf, fixturePath, generated } from './generate-fixture.ts';

const BARRIER = 'barrier "all" $(touch /tmp/baton-pwned-barrier) `touch /tmp/baton-pwned-barrier2` ${google_project.x.id} %{ for x in y }\nline two | pipe';
/** How hcl2json reports a literal HCL string: decoded, with template escapes kept doubled. */
const asParsed = (text: string): string => text.replace(/\$\{/g, () => '$${').replace(/%\{/g, () => '%%{');

describe('outputs of a pipeline whose free text is hostile', () => {
  let files: Map<string, string>;
  beforeAll(async () => {
    ({ files } = await generated(fixturePath('hostile/pipeline.yaml')));
  });

  it('parses as HCL, and the barrier description comes back as inert text', async () => {
    const compute = (await parse('compute.tf', fileOf(files, 'terraform/compute.tf'))) as {
      resource: { google_cloudfunctions2_function: Record<string, [{ description: string }]> };
    };
    expect(compute.resource.google_cloudfunctions2_function['all-work']?.[0].description).toBe(asParsed(BARRIER));
    for (const [path, content] of files) if (path.endsWith('.tf')) await expect(parse(path, content)).resolves.toBeTypeOf('object');
  });

  it('never leaves a user-written ${ or %{ where Terraform would evaluate it', () => {
    for (const [path, content] of files) {
      if (!path.endsWith('.tf')) continue;
      for (const line of content.split('\n')) {
        // Only Baton's own references may interpolate, and they never contain spaces, quotes or `$`.
        for (const m of line.matchAll(/(?<!\$)\$\{([^}]*)\}/g)) expect(m[1], `${path}: ${line}`).toMatch(/^[\w.[\]-]+$/);
        expect(line, path).not.toMatch(/(?<!%)%\{/);
      }
    }
  });

  it('keeps Markdown tables and headings intact', () => {
    for (const path of ['docs/topics.md', 'docs/barriers.md', 'docs/runbook.md', 'ARCHITECTURE.md']) {
      const content = fileOf(files, path);
      expect(content, path).not.toContain('<script>');
      const tables = content.split('\n\n').filter((block) => block.startsWith('|'));
      for (const table of tables) {
        const columns = table
          .trim()
          .split('\n')
          .map((row) => row.replace(/\\\|/g, '').split('|').length);
        expect(new Set(columns).size, `${path}:\n${table}`).toBe(1);
      }
    }
    expect(fileOf(files, 'docs/barriers.md')).toContain(
      'barrier "all" $(touch /tmp/baton-pwned-barrier) \\`touch /tmp/baton-pwned-barrier2\\` ${google_project.x.id} %{ for x in y } line two \\| pipe',
    );
  });
});
