import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../../../engine/config/package-root.ts';
import { parsePushDelivery } from '../../../engine/entry/parse-push-delivery.ts';
import { ENVELOPE_ATTRIBUTES, parseMessage, validateEnvelope } from '../../../engine/runtime/envelope.ts';

const DOC = readFileSync(`${packageRoot()}/generated/docs/processors.md`, 'utf8');

/** The JSON code blocks that follow each marker line, in document order. */
function blocksAfter(marker: RegExp, count: number): unknown[][] {
  const lines = DOC.split('\n');
  const found: unknown[][] = [];
  lines.forEach((line, index) => {
    if (!marker.test(line)) return;
    const blocks: unknown[] = [];
    let at = index + 1;
    while (blocks.length < count && at < lines.length) {
      if (lines[at] === '```json') {
        const end = lines.indexOf('```', at + 1);
        blocks.push(JSON.parse(lines.slice(at + 1, end).join('\n')));
        at = end;
      }
      at++;
    }
    found.push(blocks);
  });
  return found;
}

describe('generated/docs/processors.md', () => {
  it('shows, for every phase, an example completion that validates against schemas/envelope.schema.json', () => {
    const examples = blocksAfter(/^What it publishes to /, 2);
    expect(examples).toHaveLength(5);
    for (const [attributes, data] of examples as [Record<string, string>, unknown][]) {
      const envelope: Record<string, unknown> = { data };
      for (const [field, attribute] of Object.entries(ENVELOPE_ATTRIBUTES)) if (attributes[attribute] !== undefined) envelope[field] = attributes[attribute];
      expect(validateEnvelope(envelope)).toEqual([]);
      expect(attributes.baton_id).toBe(attributes['ce-id']);
    }
  });

  it('shows push bodies the runtime accepts, whose data decodes to the decoded envelope shown beside them', () => {
    const examples = blocksAfter(/ — the push body:$/, 2);
    expect(examples.length).toBeGreaterThanOrEqual(4);
    for (const [body, decoded] of examples) {
      const delivery = parsePushDelivery(body);
      expect(parseMessage(delivery.message).data).toEqual(decoded);
    }
  });
});
