import { describe, expect, it } from 'vitest';
import { checkProcessorResult } from '../../../engine/sdk/processor-result.ts';
import type { ProcessorResult } from '../../../engine/sdk/processor-result.ts';
import { completionMessage, setup } from './sdk-fixtures.ts';

describe('what handle returns is checked before it can reach the envelope', () => {
  const refused: [string, unknown, RegExp][] = [
    ['an unknown field', { status: 'success', completion_pct: 95 }, /unknown field "completion_pct"; allowed: status, entitiesChanged/],
    [
      'snake_case for a result field',
      { status: 'success', entities_changed: { players: [1] } },
      /unknown field "entities_changed"; did you mean "entitiesChanged"\?/,
    ],
    ['a misspelled field', { status: 'success', recordCont: 3 }, /did you mean "recordCount"\?/],
    ['a status outside the four', { status: 'succeeded' }, /status "succeeded" is not one of success, partial, no_data, failed/],
    ['a negative count', { status: 'success', recordCount: -1 }, /recordCount -1 is not a whole number/],
    ['entity ids that are not ids', { status: 'success', entitiesChanged: { players: [{ id: 1 }] } }, /entitiesChanged\.players must be a list/],
    ['an entity type that is not a name', { status: 'success', entitiesChanged: { Players: [1] } }, /entity type "Players"/],
    ['metadata shadowing entities_changed', { status: 'success', metadata: { entities_changed: { players: [1] } } }, /return entitiesChanged instead/],
    ['metadata with a near miss of a completion field', { status: 'success', metadata: { is_incremntal: true } }, /looks like "is_incremental"/],
    ['metadata that is not JSON', { status: 'success', metadata: { at: new Date(0) } }, /metadata\.at is not a JSON value/],
    ['nothing at all', undefined, /must return an object/],
  ];

  it.each(refused)('refuses %s', (_title, value, message) => {
    expect(() => checkProcessorResult(value)).toThrow(message);
  });

  it('lets user facts under metadata through untouched', () => {
    const result = { status: 'success', metadata: { completion_percentage: 95, source: 'bdl' } };
    expect(checkProcessorResult(result)).toBe(result);
  });

  it('publishes a failed completion naming the misspelled field instead of the result (completion_pct never reaches the envelope)', async () => {
    const { processor, published } = await setup('bdl_injuries', () => ({ status: 'success', completion_pct: 95 }) as unknown as ProcessorResult);
    const outcome = await processor.deliver(completionMessage('nba_scrapers'));
    expect(outcome.status).toBe('completed');
    const [completion] = await published();
    expect(completion?.data).toMatchObject({ status: 'failed', error_type: 'sdk/invalid-result' });
    expect(completion?.data.error_message).toMatch(/completion_pct/);
    expect(JSON.stringify(completion?.data)).not.toMatch(/"completion_pct"/);
  });
});
