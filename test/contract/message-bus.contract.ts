import { afterEach, describe, expect, it } from 'vitest';
import { DEAD_LETTER_ATTRIBUTES, type OutgoingMessage } from '../../engine/ports/message-bus.ts';
import { FakeClock } from '../../engine/runtime/fake-clock.ts';
import type { Backend, BackendFactory, BackendTraits } from './backend.ts';
import { subscriptionOf } from './fixtures.ts';

const message = (id: string, attributes: Record<string, string> = {}): OutgoingMessage => ({ id, attributes, data: JSON.stringify({ id }) });

/** The MessageBus contract: every adapter runs it. */
export function messageBusContract(name: string, factory: BackendFactory, traits: BackendTraits = {}): void {
  describe(`MessageBus contract: ${name}`, { timeout: traits.testTimeoutMs }, () => {
    // Steering leases, backoff or cross-pull order with the fake clock needs a bus whose timers follow it.
    const clockTimers = it.skipIf(traits.brokerTimers === true);
    let backend: Backend;
    let clock: FakeClock;
    const setup = async (overrides: Parameters<typeof subscriptionOf>[2] = {}): Promise<Backend> => {
      clock = new FakeClock();
      backend = factory(clock);
      await backend.bus.subscribe(subscriptionOf('sub', 'topic', { deadLetterTopic: 'topic-dlq', ...overrides }));
      await backend.bus.subscribe(subscriptionOf('dlq-watch', 'topic-dlq'));
      return backend;
    };
    afterEach(() => backend.dispose());
    /** Moves the test clock, and lets a broker's own timers pass in real time where it has them. */
    const elapse = async (ms: number): Promise<void> => {
      clock.advance(ms);
      await backend.wait?.(ms);
    };

    it('delivers a published message once with delivery attempt 1 and never again after ack', async () => {
      const { bus } = await setup();
      await bus.publish('topic', message('a', { k: 'v' }));
      const [first, ...rest] = await bus.pull('sub', 10);
      expect(rest).toEqual([]);
      expect(first).toMatchObject({ id: 'a', attributes: { k: 'v' }, deliveryAttempt: 1, topic: 'topic', subscription: 'sub' });
      await bus.ack(first?.ackId ?? '');
      clock.advance(3_600_000);
      expect(await bus.pull('sub', 10)).toEqual([]);
      expect(await bus.backlog('sub')).toBe(0);
    });

    it('absorbs a second publish of the same id on the same topic', async () => {
      const { bus } = await setup();
      expect(await bus.publish('topic', message('a'))).toEqual({ id: 'a', duplicate: false });
      expect(await bus.publish('topic', message('a'))).toEqual({ id: 'a', duplicate: true });
      expect(await bus.pull('sub', 10)).toHaveLength(1);
    });

    clockTimers('redelivers a message whose ack deadline expired, with the next attempt number, and ignores the stale ack', async () => {
      const { bus } = await setup();
      await bus.publish('topic', message('a'));
      const [first] = await bus.pull('sub', 10);
      expect(await bus.pull('sub', 10)).toEqual([]);
      clock.advance(60_000);
      const [second] = await bus.pull('sub', 10);
      expect(second?.deliveryAttempt).toBe(2);
      await bus.ack(first?.ackId ?? '');
      expect(await bus.backlog('sub')).toBe(1);
      await bus.ack(second?.ackId ?? '');
      expect(await bus.backlog('sub')).toBe(0);
    });

    clockTimers('redelivers a nacked message only after its exponential backoff', async () => {
      const { bus } = await setup();
      await bus.publish('topic', message('a'));
      const [first] = await bus.pull('sub', 10);
      await bus.nack(first?.ackId ?? '', 'flaky');
      clock.advance(999);
      expect(await bus.pull('sub', 10)).toEqual([]);
      clock.advance(1);
      const [second] = await bus.pull('sub', 10);
      await bus.nack(second?.ackId ?? '', 'flaky');
      clock.advance(1_999);
      expect(await bus.pull('sub', 10)).toEqual([]);
      clock.advance(1);
      expect((await bus.pull('sub', 10))[0]?.deliveryAttempt).toBe(3);
    });

    it('dead-letters a message after max delivery attempts with the last reason, onto the dead-letter topic', async () => {
      const { bus } = await setup({ maxDeliveryAttempts: 3 });
      await bus.publish('topic', message('a'));
      for (let attempt = 1; attempt <= 3; attempt++) {
        const [delivery] = await bus.pull('sub', 10);
        expect(delivery?.deliveryAttempt).toBe(attempt);
        await bus.nack(delivery?.ackId ?? '', `boom ${attempt}`);
        await elapse(10_000);
      }
      expect(await bus.pull('sub', 10)).toEqual([]);
      const [dead] = await bus.deadLetters('sub');
      expect(dead).toMatchObject({ subscription: 'sub', topic: 'topic', deliveryAttempts: 3, message: { id: 'a' } });
      expect(dead?.reason).toContain('boom 3');
      const [onDlq] = await bus.pull('dlq-watch', 10);
      expect(onDlq?.attributes[DEAD_LETTER_ATTRIBUTES.reason]).toContain('boom 3');
      expect(onDlq?.data).toBe(JSON.stringify({ id: 'a' }));
    });

    clockTimers('dead-letters a message whose lease keeps expiring once attempts run out', async () => {
      const { bus } = await setup({ maxDeliveryAttempts: 2 });
      await bus.publish('topic', message('a'));
      await bus.pull('sub', 10);
      clock.advance(60_000);
      await bus.pull('sub', 10);
      clock.advance(60_000);
      expect(await bus.pull('sub', 10)).toEqual([]);
      expect((await bus.deadLetters('sub'))[0]?.reason).toContain('ack deadline expired');
    });

    it('dead-letters at once with the reason given for a permanent error', async () => {
      const { bus } = await setup();
      await bus.publish('topic', message('a'));
      const [delivery] = await bus.pull('sub', 10);
      await bus.deadLetter(delivery?.ackId ?? '', 'envelope/invalid: bad');
      expect(await bus.deadLetters()).toMatchObject([{ reason: 'envelope/invalid: bad', deliveryAttempts: 1 }]);
      expect(await bus.backlog('sub')).toBe(0);
    });

    it('answers several pulls at once as pulling each in turn would, leasing each delivery (when the bus takes several at once)', async (test) => {
      const { bus } = await setup();
      if (bus.pullEach === undefined) return test.skip();
      await bus.subscribe(subscriptionOf('other', 'topic'));
      await bus.subscribe(subscriptionOf('quiet', 'elsewhere'));
      for (const id of ['a', 'b', 'c']) await bus.publish('topic', message(id));
      const [sub, quiet, other] = await bus.pullEach([
        { subscription: 'sub', max: 2 },
        { subscription: 'quiet', max: 10 },
        { subscription: 'other', max: 10 },
      ]);
      expect(sub?.map((m) => m.id)).toEqual(['a', 'b']);
      expect(quiet).toEqual([]);
      expect(other?.map((m) => [m.id, m.subscription, m.deliveryAttempt])).toEqual([
        ['a', 'other', 1],
        ['b', 'other', 1],
        ['c', 'other', 1],
      ]);
      // Leased: not handed out again until the lease ends; what is left comes next.
      expect((await bus.pull('sub', 10)).map((m) => m.id)).toEqual(['c']);
      expect(await bus.pull('other', 10)).toEqual([]);
      await bus.ack(other?.[0]?.ackId ?? '');
      expect(await bus.backlog('other')).toBe(2);
      expect(await bus.pullEach([{ subscription: 'quiet', max: 1 }])).toEqual([[]]);
      await expect(async () => bus.pullEach?.([{ subscription: 'nope', max: 1 }])).rejects.toThrow('nope');
    });

    it('filters on an attribute value or its absence', async () => {
      const { bus } = await setup();
      await bus.subscribe(subscriptionOf('only-x', 'topic', { filter: { attribute: 'baton_target', equals: 'x' } }));
      await bus.subscribe(subscriptionOf('untargeted', 'topic', { filter: { attribute: 'baton_target', absent: true } }));
      await bus.publish('topic', message('to-x', { baton_target: 'x' }));
      await bus.publish('topic', message('to-y', { baton_target: 'y' }));
      await bus.publish('topic', message('plain'));
      expect((await bus.pull('only-x', 10)).map((m) => m.id)).toEqual(['to-x']);
      expect((await bus.pull('untargeted', 10)).map((m) => m.id)).toEqual(['plain']);
      expect(await bus.pull('sub', 10)).toHaveLength(3);
    });

    it('does not deliver to a subscription created after the publish, as Pub/Sub does', async () => {
      const { bus } = await setup();
      await bus.publish('topic', message('early'));
      await bus.subscribe(subscriptionOf('late', 'topic'));
      expect(await bus.pull('late', 10)).toEqual([]);
    });

    clockTimers('keeps published and leased messages across a restart', async () => {
      const { bus } = await setup();
      await bus.publish('topic', message('a'));
      await bus.publish('topic', message('b'));
      await bus.pull('sub', 1);
      const after = backend.restart();
      backend = after;
      const [b] = await after.bus.pull('sub', 10);
      expect(b?.id).toBe('b');
      await after.bus.ack(b?.ackId ?? '');
      clock.advance(60_000);
      expect((await after.bus.pull('sub', 10)).map((m) => [m.id, m.deliveryAttempt])).toEqual([['a', 2]]);
      expect(await after.bus.publish('topic', message('a'))).toMatchObject({ duplicate: true });
    });

    clockTimers('delivers in publish order and respects the pull limit', async () => {
      const { bus } = await setup();
      for (const id of ['1', '2', '3', '4']) await bus.publish('topic', message(id));
      expect((await bus.pull('sub', 3)).map((m) => m.id)).toEqual(['1', '2', '3']);
      expect((await bus.pull('sub', 3)).map((m) => m.id)).toEqual(['4']);
    });
  });
}
