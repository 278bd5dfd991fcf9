import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadPipelineBytes } from '../../../engine/config/load-pipeline.ts';

/** mulberry32: a tiny seeded PRNG, so every run mutates the same 1,000 ways. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const source = readFileSync(new URL('../../../pipeline.yaml', import.meta.url), 'utf8');
const TOKENS = [
  '',
  ' ',
  '\t',
  ':',
  '-',
  '- ',
  '[',
  ']',
  '{',
  '}',
  '&a',
  '*a',
  '"',
  "'",
  '#',
  '\n',
  '---',
  'null',
  '0',
  '-1',
  '1e400',
  'all',
  'true',
  '~',
  '!!str',
  '|',
  '>',
  '%',
  '@',
  'é',
  '\u0000',
  'x'.repeat(80),
];

function mutate(text: string, next: () => number): string {
  const lines = text.split('\n');
  const pick = (n: number): number => Math.floor(next() * n);
  const operations = 1 + pick(3);
  for (let i = 0; i < operations; i++) {
    const at = pick(lines.length);
    const line = lines[at] ?? '';
    switch (pick(8)) {
      case 0: // delete a line
        lines.splice(at, 1);
        break;
      case 1: // duplicate a line elsewhere
        lines.splice(pick(lines.length), 0, line);
        break;
      case 2: // insert a token inside a line
        lines[at] = line.slice(0, pick(line.length + 1)) + (TOKENS[pick(TOKENS.length)] ?? '') + line.slice(pick(line.length + 1));
        break;
      case 3: // swap two characters (a typo)
        if (line.length > 2) {
          const c = pick(line.length - 1);
          lines[at] = line.slice(0, c) + line.charAt(c + 1) + line.charAt(c) + line.slice(c + 2);
        }
        break;
      case 4: // change indentation
        lines[at] = next() < 0.5 ? `  ${line}` : line.replace(/^ {1,2}/, '');
        break;
      case 5: // truncate the file
        lines.length = Math.max(1, at);
        break;
      case 6: // replace a value with a token
        lines[at] = line.replace(/:\s.*$/, `: ${TOKENS[pick(TOKENS.length)] ?? ''}`);
        break;
      default:
        {
          // swap two lines
          const other = pick(lines.length);
          lines[at] = lines[other] ?? '';
          lines[other] = line;
        }
        break;
    }
  }
  return lines.join('\n');
}

describe('pipeline.yaml under 1,000 seeded mutations', () => {
  it('never crashes, and every problem is a located diagnostic', () => {
    const next = random(20251129);
    let invalid = 0;
    for (let i = 0; i < 1000; i++) {
      const text = mutate(source, next);
      const result = loadPipelineBytes('pipeline.yaml', new TextEncoder().encode(text));
      for (const diagnostic of result.diagnostics) {
        expect(diagnostic.line, `case ${i}: ${diagnostic.code}`).toBeGreaterThanOrEqual(1);
        expect(diagnostic.column).toBeGreaterThanOrEqual(1);
        expect(diagnostic.code).toMatch(/^(source|yaml|schema|graph)\/[a-z-]+$/);
        expect(diagnostic.message.length).toBeGreaterThan(0);
      }
      if (result.diagnostics.some((d) => d.severity === 'error')) invalid++;
    }
    // The mutations are real: most of them break the file, and each such break was reported.
    expect(invalid).toBeGreaterThan(500);
  });
});
