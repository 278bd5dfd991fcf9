import { describe, expect, it } from 'vitest';
import { TARGET_ATTRIBUTE as GRAPH_TARGET_ATTRIBUTE } from '../../../engine/graph/pipeline-graph.ts';
import { buildEnvelope, childTraceparent, ENVELOPE_TYPES, parseMessage, TARGET_ATTRIBUTE, toMessage, traceIdOf } from '../../../engine/runtime/envelope.ts';
import { InvalidEnvelopeError } from '../../../engine/runtime/errors.ts';
import { completion } from '../../contract/fixtures.ts';

const work = (overrides: Partial<Parameters<typeof buildEnvelope<'dev.baton.work.v1'>>[0]> = {}) =>
  buildEnvelope({
    id: 'work:1',
    source: '//baton/demo/coordinators/c',
    type: ENVELOPE_TYPES.work,
    time: Date.parse('2025-11-29T12:00:00Z'),
    subject: '2025-11-29',
    correlationId: 'run-1',
    data: { key: '2025-11-29', correlation_id: 'run-1', coordinator: 'c', batch_id: 'b', entity_type: 'players', entity_id: 7 },
    ...overrides,
  });

describe('envelope', () => {
  it('puts CloudEvents attributes in Pub/Sub form and the data in the body', () => {
    const message = toMessage(work());
    expect(message.id).toBe('work:1');
    expect(message.attributes).toMatchObject({
      'ce-specversion': '1.0',
      'ce-id': 'work:1',
      'ce-source': '//baton/demo/coordinators/c',
      'ce-type': 'dev.baton.work.v1',
      'ce-time': '2025-11-29T12:00:00.000Z',
      'ce-subject': '2025-11-29',
      'ce-correlationid': 'run-1',
      'content-type': 'application/json',
    });
    expect(JSON.parse(message.data)).toMatchObject({ entity_id: 7 });
  });

  it('round-trips through parse with the correlation id and traceparent intact', () => {
    const envelope = work();
    expect(parseMessage(toMessage(envelope))).toEqual(envelope);
  });

  it('refuses to build a message whose data breaks the schema', () => {
    expect(() => work({ data: { key: '2025-11-29' } as never })).toThrow(InvalidEnvelopeError);
  });

  it.each([
    ['a body that is not JSON', { ...toMessage(work()), data: '{' }, 'not JSON'],
    ['a missing correlation id', { ...toMessage(work()), attributes: { ...toMessage(work()).attributes, 'ce-correlationid': '' } }, 'correlationid'],
    ['an unknown type', { ...toMessage(work()), attributes: { ...toMessage(work()).attributes, 'ce-type': 'dev.other' } }, 'type'],
    ['a subject that differs from data.key', { ...toMessage(work()), attributes: { ...toMessage(work()).attributes, 'ce-subject': '2025-11-30' } }, 'subject'],
    ['a completion missing its status', { ...completion({ member: 'a', key: '2025-11-29' }), data: '{"key":"2025-11-29"}' }, 'status'],
  ])('rejects %s as a permanent error', (_, message, fragment) => {
    let thrown: unknown;
    try {
      parseMessage(message);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(InvalidEnvelopeError);
    expect((thrown as InvalidEnvelopeError).retryable).toBe(false);
    expect((thrown as Error).message).toContain(fragment);
  });

  it('starts a new span in the same trace on every hop', () => {
    const first = childTraceparent();
    const second = childTraceparent(first);
    expect(first).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    expect(traceIdOf(second)).toBe(traceIdOf(first));
    expect(second.split('-')[2]).not.toBe(first.split('-')[2]);
    expect(traceIdOf(work({ parentTraceparent: first }).traceparent)).toBe(traceIdOf(first));
  });

  it('addresses dependency triggers with the same attribute the graph filters on', () => {
    expect(TARGET_ATTRIBUTE).toBe(GRAPH_TARGET_ATTRIBUTE);
  });
});
