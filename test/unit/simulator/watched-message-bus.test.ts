import { describe, expect, it } from 'vitest';
import { MemoryMessageBus } from '../../../engine/adapters/memory/memory-message-bus.ts';
import type { MessageBus, ReceivedMessage, SubscriptionConfig } from '../../../engine/ports/message-bus.ts';
import { VirtualClock } from '../../../engine/simulator/virtual-clock.ts';
import { WatchedMessageBus } from '../../../engine/simulator/watched-message-bus.ts';

const T0 = Date.parse('2025-12-01T06:00:00Z');
const SUB: SubscriptionConfig = { name: 'work-sub', topic: 'work', ackDeadlineMs: 60_000, maxDeliveryAttempts: 5, minBackoffMs: 10_000, maxBackoffMs: 60_000 };

/** A watched memory bus with one subscription, counting the pulls that reach the bus. */
async function setup(): Promise<{ clock: VirtualClock; inner: MemoryMessageBus; bus: WatchedMessageBus; pulls: () => number }> {
  const clock = new VirtualClock(T0);
  const inner = new MemoryMessageBus(clock);
  await inner.subscribe(SUB);
  let pulls = 0;
  const pull = inner.pull.bind(inner);
  inner.pull = (subscription, max) => {
    pulls++;
    return pull(subscription, max);
  };
  return { clock, inner, bus: new WatchedMessageBus(inner, clock, [SUB]), pulls: () => pulls };
}

const message = (id: string) => ({ id, attributes: {}, data: '{}' });
const ids = (messages: readonly ReceivedMessage[]) => messages.map((m) => m.id);

describe('WatchedMessageBus (the run loop pulls only subscriptions that may have work)', () => {
  it('asks the bus again only after a publish to the subscription, not at every pull of the same instant', async () => {
    const { bus, pulls } = await setup();
    expect(await bus.pull(SUB.name, 10)).toEqual([]);
    expect(await bus.pull(SUB.name, 10)).toEqual([]);
    expect(pulls()).toBe(1);
    await bus.publish('work', message('m1'));
    expect(ids(await bus.pull(SUB.name, 10))).toEqual(['m1']);
    expect(pulls()).toBe(2);
    expect(bus.pullCounts).toEqual({ made: 2, skipped: 1 });
  });

  it('says a subscription is idle exactly when its pull would be answered empty without asking the bus', async () => {
    const { bus, clock, pulls } = await setup();
    // Not pulled yet: what an earlier process left is unknown.
    expect(bus.idle(SUB.name)).toBe(false);
    expect(await bus.pull(SUB.name, 10)).toEqual([]);
    expect(bus.idle(SUB.name)).toBe(true);
    await bus.publish('work', message('m1'));
    expect(bus.idle(SUB.name)).toBe(false);
    const [delivery] = await bus.pull(SUB.name, 10);
    expect(bus.idle(SUB.name)).toBe(true);
    // Its lease ends: it may come back.
    clock.advanceTo(T0 + SUB.ackDeadlineMs);
    expect(bus.idle(SUB.name)).toBe(false);
    expect(ids(await bus.pull(SUB.name, 10))).toEqual([delivery?.id]);
    // A subscription it was not told of is never idle.
    expect(bus.idle('elsewhere')).toBe(false);
    expect(pulls()).toBe(3);
  });

  it('pulls several subscriptions in one call to the bus, asking only those that may have work, and tracks them as pull does', async () => {
    const clock = new VirtualClock(T0);
    const inner: MessageBus = new MemoryMessageBus(clock);
    const OTHER: SubscriptionConfig = { ...SUB, name: 'other-sub', topic: 'other' };
    for (const config of [SUB, OTHER]) await inner.subscribe(config);
    const calls: string[][] = [];
    // A bus that takes several pulls at once, answering as pulling each in turn.
    inner.pullEach = async (requests) => {
      calls.push(requests.map((r) => r.subscription));
      const answers: ReceivedMessage[][] = [];
      for (const { subscription, max } of requests) answers.push(await inner.pull(subscription, max));
      return answers;
    };
    const bus = new WatchedMessageBus(inner, clock, [SUB, OTHER]);
    const pullBoth = () =>
      bus.pullEach([
        { subscription: SUB.name, max: 10 },
        { subscription: OTHER.name, max: 10 },
      ]);
    expect(await pullBoth()).toEqual([[], []]);
    await bus.publish('work', message('m1'));
    const [work, other] = await pullBoth();
    expect([ids(work ?? []), other]).toEqual([['m1'], []]);
    // Only the subscription something was published to was asked again; then neither.
    expect(await pullBoth()).toEqual([[], []]);
    expect(calls).toEqual([[SUB.name, OTHER.name], [SUB.name]]);
    // The lease is tracked: when it ends, the subscription is asked again and the delivery comes back.
    clock.advanceTo(T0 + SUB.ackDeadlineMs);
    expect(ids((await pullBoth())[0] ?? [])).toEqual(['m1']);
    expect(calls).toHaveLength(3);
  });

  it('keeps asking while a pull comes back full: more may be waiting', async () => {
    const { bus, pulls } = await setup();
    for (const id of ['m1', 'm2', 'm3']) await bus.publish('work', message(id));
    expect(ids(await bus.pull(SUB.name, 2))).toEqual(['m1', 'm2']);
    expect(ids(await bus.pull(SUB.name, 2))).toEqual(['m3']);
    expect(await bus.pull(SUB.name, 2)).toEqual([]);
    expect(pulls()).toBe(2);
  });

  it('leaves a settled, empty subscription alone when the clock moves', async () => {
    const { bus, clock, pulls } = await setup();
    await bus.publish('work', message('m1'));
    const [delivery] = await bus.pull(SUB.name, 10);
    await bus.ack(delivery?.ackId ?? '');
    expect(await bus.pull(SUB.name, 10)).toEqual([]);
    const asked = pulls();
    clock.advanceTo(T0 + 3_600_000);
    expect(await bus.pull(SUB.name, 10)).toEqual([]);
    expect(pulls()).toBe(asked);
  });

  it('asks again when a lease it holds ends, and gets the delivery back', async () => {
    const { bus, clock, pulls } = await setup();
    await bus.publish('work', message('m1'));
    await bus.pull(SUB.name, 10);
    expect(await bus.pull(SUB.name, 10)).toEqual([]);
    const asked = pulls();
    clock.advanceTo(T0 + SUB.ackDeadlineMs - 1);
    expect(await bus.pull(SUB.name, 10)).toEqual([]);
    expect(pulls()).toBe(asked);
    clock.advanceTo(T0 + SUB.ackDeadlineMs);
    expect((await bus.pull(SUB.name, 10)).map((m) => [m.id, m.deliveryAttempt])).toEqual([['m1', 2]]);
  });

  it('asks again once a nacked delivery’s shortest backoff ends', async () => {
    const { bus, clock } = await setup();
    await bus.publish('work', message('m1'));
    const [delivery] = await bus.pull(SUB.name, 10);
    await bus.nack(delivery?.ackId ?? '', 'transient');
    expect(await bus.pull(SUB.name, 10)).toEqual([]);
    clock.advanceTo(T0 + SUB.minBackoffMs);
    expect(ids(await bus.pull(SUB.name, 10))).toEqual(['m1']);
  });

  it('asks at every move of the clock while a process that died may hold deliveries, until the backlog is all its own', async () => {
    const { inner, bus, clock, pulls } = await setup();
    // A process that died leased m1 a moment ago; this one does not know of it.
    await inner.publish('work', message('m1'));
    await inner.pull(SUB.name, 10);
    const before = pulls();
    expect(await bus.pull(SUB.name, 10)).toEqual([]);
    clock.advanceTo(T0 + 1_000);
    expect(await bus.pull(SUB.name, 10)).toEqual([]);
    expect(pulls()).toBe(before + 2);
    clock.advanceTo(T0 + SUB.ackDeadlineMs);
    expect(ids(await bus.pull(SUB.name, 10))).toEqual(['m1']);
  });

  it('asks again when the loop finds a backlog larger than what it holds', async () => {
    const { inner, bus, clock, pulls } = await setup();
    expect(await bus.pull(SUB.name, 10)).toEqual([]);
    clock.advanceTo(T0 + 1_000);
    // Published behind its back (not through this bus): only the backlog shows it.
    await inner.publish('work', message('m1'));
    expect(await bus.pull(SUB.name, 10)).toEqual([]);
    expect(await bus.backlog(SUB.name)).toBe(1);
    expect(ids(await bus.pull(SUB.name, 10))).toEqual(['m1']);
    expect(pulls()).toBe(2);
  });

  it('always asks for a subscription it was not told of', async () => {
    const { bus, inner, pulls } = await setup();
    await inner.subscribe({ ...SUB, name: 'other' });
    await bus.pull('other', 10);
    await bus.pull('other', 10);
    expect(pulls()).toBe(2);
  });
});
