import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MemoryMessageBus } from '../../../engine/adapters/memory/memory-message-bus.ts';
import { MemoryStateStore } from '../../../engine/adapters/memory/memory-state-store.ts';
import { packageRoot } from '../../../engine/config/package-root.ts';
import { openEntry } from '../../../engine/entry/open-entry.ts';
import type { OutgoingMessage } from '../../../engine/ports/message-bus.ts';
import { buildEnvelope, ENVELOPE_TYPES, parseMessage, validateEnvelope, type CompletionData, type TriggerData } from '../../../engine/runtime/envelope.ts';
import { InvalidEnvelopeError } from '../../../engine/runtime/errors.ts';
import { FakeClock } from '../../../engine/runtime/fake-clock.ts';
import { pushBody as sdkPushBody, post, setup as setupProcessor, triggerMessage } from '../sdk/sdk-fixtures.ts';
import { completion, subscriptionOf, Watcher } from '../../contract/fixtures.ts';

// #14: a key-name mismatch (`completion_pct` where the reader looked for `completion_percentage`) made a
// phase skip silently. Every Baton message has one closed schema, so an extra or misspelled field is
// refused, by name, where the message is built and where it is read, and never silently ignored.

const KEY = '2025-11-28';

/** A valid completion's data with one field added and (optionally) one removed. */
function completionData(add: Record<string, unknown>, remove?: keyof CompletionData): Record<string, unknown> {
  const data: Record<string, unknown> = { ...(JSON.parse(completion({ member: 'load_a', key: KEY }).data) as CompletionData), record_count: 3 };
  if (remove !== undefined) delete data[remove];
  return { ...data, ...add };
}

// [what, the data, the field the problem must name]
const COMPLETIONS: [string, Record<string, unknown>, string][] = [
  ['an extra field (completion_pct)', completionData({ completion_pct: 95 }), 'completion_pct'],
  ['a misspelled optional field (records_count for record_count)', completionData({ records_count: 3 }, 'record_count'), 'records_count'],
  ['a misspelled required field (processor for processor_name)', completionData({ processor: 'load_a' }, 'processor_name'), 'processor'],
  [
    'an extra field in entities_changed',
    completionData({ metadata: { entities_changed: { players: [1] } }, entities_changed: { players: [1] } }),
    'entities_changed',
  ],
];

const trigger = (extra: Record<string, unknown>): TriggerData => ({
  key: KEY,
  correlation_id: 'run-1',
  emitter: 'ingest-done',
  reason: 'all_complete',
  members_completed: ['load_a'],
  members_missing: [],
  lineage: [],
  ...extra,
});

describe('an extra or misspelled envelope field (#14)', () => {
  describe('at publish: buildEnvelope and validateEnvelope refuse it, naming the field', () => {
    it.each(COMPLETIONS)('a completion with %s', (_what, data, field) => {
      const input = {
        id: 'c-1',
        source: '//baton/demo/processors/load_a',
        type: ENVELOPE_TYPES.completion,
        time: Date.parse('2025-11-29T12:00:00Z'),
        subject: KEY,
        correlationId: 'run-1',
        data: data as unknown as CompletionData,
      };
      expect(() => buildEnvelope(input)).toThrow(InvalidEnvelopeError);
      expect(() => buildEnvelope(input)).toThrow(`/data has unknown field "${field}"`);
    });

    it.each([
      ['an extra field (completion_pct)', { completion_pct: 100 }, '/data has unknown field "completion_pct"'],
      ['a misspelled field (member_missing for members_missing)', { member_missing: [] }, '/data has unknown field "member_missing"'],
      ['an extra field in a deadline tier', { deadline_tier: { tier: 1, after: '1h', min: 2 } }, '/data/deadline_tier has unknown field "min"'],
    ])('a trigger with %s', (_what, extra, problem) => {
      const envelope = { ...JSON.parse(JSON.stringify(triggerEnvelope())), data: trigger(extra) } as unknown;
      expect(validateEnvelope(envelope)).toContain(problem);
    });

    it('refuses an extra CloudEvents attribute on the envelope itself', () => {
      expect(validateEnvelope({ ...triggerEnvelope(), completion_pct: 1 })).toContain('/ has unknown field "completion_pct"');
    });
  });

  describe('at receive: parseMessage refuses it as a permanent error, naming the field', () => {
    it.each(COMPLETIONS)('a completion with %s', (_what, data, field) => {
      const message = { ...completion({ member: 'load_a', key: KEY }), data: JSON.stringify(data) };
      let thrown: unknown;
      try {
        parseMessage(message);
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(InvalidEnvelopeError);
      expect((thrown as InvalidEnvelopeError).retryable).toBe(false);
      expect((thrown as Error).message).toContain(`/data has unknown field "${field}"`);
    });

    it('the same completion with the field spelled right is accepted (the table above fails only on the field)', () => {
      expect(parseMessage({ ...completion({ member: 'load_a', key: KEY }), data: JSON.stringify(completionData({})) }).data).toMatchObject({
        record_count: 3,
      });
    });
  });

  describe('at the barrier entry point: dead-lettered with the field in its reason, nothing recorded', () => {
    it.each(COMPLETIONS)('a completion with %s', async (_what, data, field) => {
      const clock = new FakeClock('2025-11-29T12:00:00Z');
      const bus = new MemoryMessageBus(clock);
      const store = new MemoryStateStore(clock);
      await bus.subscribe(subscriptionOf('watch-dlq', 'ingest-complete-dlq'));
      const entry = await openEntry({
        env: { BATON_BARRIER: 'ingest-done', BATON_PIPELINE: join(packageRoot(), 'test/fixtures/entry/deadline.yaml'), GOOGLE_CLOUD_PROJECT: 'demo' },
        backend: { bus, store },
        clock,
        writeLog: () => undefined,
      });
      const message: OutgoingMessage = { ...completion({ member: 'load_a', key: KEY }), data: JSON.stringify(data) };
      const result = await entry.handler.deliver({
        message,
        subscription: 'projects/demo/subscriptions/ingest-done--ingest-complete',
        deliveryAttempt: 1,
        pubsubMessageId: undefined,
        publishTime: undefined,
      });
      expect(result).toMatchObject({ status: 'dead-lettered', deadLetterTopic: 'ingest-complete-dlq' });
      expect(result.status === 'dead-lettered' ? result.reason : '').toContain(`unknown field "${field}"`);
      const letters = new Watcher(bus, 'watch-dlq');
      await letters.drain();
      expect(letters.deliveries).toHaveLength(1);
      expect(letters.deliveries[0]?.attributes.baton_dead_letter_reason).toContain(`unknown field "${field}"`);
      expect((await store.readKey('ingest-done', KEY))?.members ?? []).toEqual([]);
    });
  });

  describe('in the processor SDK', () => {
    it('answers 400 (dead-lettered by its subscription) to a trigger with an extra field, and never calls handle', async () => {
      const { processor, calls } = await setupProcessor('player_game_summary');
      const good = triggerMessage('phase2-to-phase3');
      const bad = { ...good, data: JSON.stringify({ ...(JSON.parse(good.data) as object), completion_pct: 100 }) };
      const reply = await processor.handle(post(sdkPushBody(bad)));
      expect(reply.status).toBe(400);
      expect(String(reply.body.reason)).toContain('unknown field "completion_pct"');
      expect(calls).toHaveLength(0);
    });
    // The publish side: test/unit/sdk/processor-result.test.ts refuses `completion_pct` in what a handler
    // returns, and publishes a failed completion naming it instead.
  });
});

function triggerEnvelope() {
  return buildEnvelope({
    id: 'trigger:ingest-done:2025-11-28',
    source: '//baton/demo/barriers/ingest-done',
    type: ENVELOPE_TYPES.trigger,
    time: Date.parse('2025-11-29T12:00:00Z'),
    subject: KEY,
    correlationId: 'run-1',
    data: trigger({}),
  });
}
