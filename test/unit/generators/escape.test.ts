import { execFileSync } from 'node:child_process';
import { parse } from '@cdktf/hcl2json';
import { describe, expect, it } from 'vitest';
import { dotHtml, dotString, hclString, markdownCode, markdownInline, mermaidLabel, shellQuote, yamlString } from '../../../generators/escape.ts';
import { parse as parseYaml } from 'yaml';

const HOSTILE = [
  'plain',
  `it's "quoted"`,
  '$(touch /tmp/baton-escape-pwned) `touch /tmp/baton-escape-pwned` ${HOME} %{ if x }',
  'line one\nline two\r\nthree\ttab',
  'back\\slash \\n not-a-newline',
  '<b>tag</b> & #quot; | pipe ]] }} -->',
  '',
];

describe('shellQuote', () => {
  it.each(HOSTILE)('makes bash see %j as one literal word', (value) => {
    const out = execFileSync('bash', ['-c', `printf '%s' ${shellQuote(value)}`], { encoding: 'utf8' });
    expect(out).toBe(value);
  });
});

describe('hclString', () => {
  it.each(HOSTILE)('is a literal HCL string for %j with interpolation and directives doubled', async (value) => {
    const parsed = (await parse('t.tf', `x = ${hclString(value)}\n`)) as { x: string };
    // hcl2json keeps template escapes as written; everything else is decoded.
    expect(parsed.x).toBe(value.replace(/\$\{/g, () => '$${').replace(/%\{/g, () => '%%{'));
  });

  it('doubles every ${ so Terraform never interpolates user text', () => {
    expect(hclString('a ${b} ${c}')).toBe('"a $${b} $${c}"');
    expect(hclString('%{ for x in y }')).toBe('"%%{ for x in y }"');
  });
});

describe('yamlString', () => {
  it.each(HOSTILE)('round-trips %j through a YAML parser', (value) => {
    expect(parseYaml(`title: ${yamlString(value)}\n`)).toEqual({ title: value });
  });
});

describe('mermaidLabel', () => {
  it.each(HOSTILE)('leaves no quote, backtick, angle bracket or newline raw inside the label for %j', (value) => {
    const body = mermaidLabel(value).slice(1, -1);
    expect(body).not.toMatch(/["`\n\r]/);
    expect(body.replace(/<br\/>/g, '')).not.toMatch(/[<>]/);
  });

  it('writes entities Mermaid decodes, including # itself', () => {
    expect(mermaidLabel('a "b" #c')).toBe('"a #quot;b#quot; #35;c"');
  });
});

describe('dotString and dotHtml', () => {
  it('escapes quotes and backslashes and turns newlines into DOT line breaks', () => {
    expect(dotString('say "hi"\\\nnext')).toBe('"say \\"hi\\"\\\\\\nnext"');
  });

  it('turns markup into entities in HTML-like labels', () => {
    expect(dotHtml('<script>"&"</script>')).toBe('&lt;script&gt;&quot;&amp;&quot;&lt;/script&gt;');
  });
});

describe('markdown', () => {
  it('keeps a table cell in its column', () => {
    expect(markdownInline('a | b\nc <x> `y`')).toBe('a \\| b c &lt;x&gt; \\`y\\`');
  });

  it('fences a code span longer than any backtick run inside', () => {
    expect(markdownCode('a `b` c')).toBe('``a `b` c``');
  });
});
