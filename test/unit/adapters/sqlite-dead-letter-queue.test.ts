import { describe, expect, it } from 'vitest';
import { openSqliteDatabase } from '../../../engine/adapters/sqlite/open-sqlite-database.ts';
import { SqliteDeadLetterQueue } from '../../../engine/adapters/sqlite/sqlite-dead-letter-queue.ts';
import { SqliteMessageBus } from '../../../engine/adapters/sqlite/sqlite-message-bus.ts';
import { SqliteStateStore } from '../../../engine/adapters/sqlite/sqlite-state-store.ts';
import { CompletionBarrier } from '../../../engine/runtime/completion-barrier.ts';
import { TransientError } from '../../../engine/runtime/errors.ts';
import { FakeClock } from '../../../engine/runtime/fake-clock.ts';
import { Subscriber } from '../../../engine/runtime/subscriber.ts';
import { barrierOf, completion, DONE_TOPIC, pipelineOf, subscriptionOf, TRIGGER_TOPIC, Watcher } from '../../contract/fixtures.ts';

// Issue 12: a dead letter could be seen only in the bus_dead_letters table. The queue lists it, and a
// redrive delivers it once more to the subscription that gave up, with the same id, so the barrier
// records it (or absorbs it, if it had) and a second redrive delivers nothing.

const KEY = '2025-11-28';
const GATE = 'gate-sub';

function setup() {
  const clock = new FakeClock(Date.parse('2025-11-29T12:00:00Z'));
  const db = openSqliteDatabase(':memory:');
  const bus = new SqliteMessageBus(db, clock);
  const store = new SqliteStateStore(db, clock);
  const queue = new SqliteDeadLetterQueue(db, clock);
  const barrier = new CompletionBarrier({ barrier: barrierOf(['a', 'b']), pipeline: pipelineOf(['a', 'b']), store, bus, clock });
  let broken = (_member: string): boolean => false;
  const gate = new Subscriber(bus, GATE, async (message) => {
    const member = (JSON.parse(message.data) as { processor_name: string }).processor_name;
    if (broken(member)) throw new TransientError(`state store unavailable while recording ${member}`);
    return barrier.handle(message);
  });
  const triggers = new Watcher(bus, 'watch-triggers');
  const other = new Watcher(bus, 'other-sub');
  /** Delivers everything due, stepping the clock over every backoff, until the gate's backlog is empty. */
  const settle = async (): Promise<void> => {
    for (let i = 0; i < 20 && (await bus.backlog(GATE)) > 0; i++) {
      await gate.drain();
      clock.advance(60_000);
    }
    await triggers.drain();
    await other.drain();
  };
  const start = async (): Promise<void> => {
    await bus.subscribe(subscriptionOf(GATE, DONE_TOPIC, { deadLetterTopic: `${DONE_TOPIC}-dlq` }));
    await bus.subscribe(subscriptionOf('other-sub', DONE_TOPIC));
    await bus.subscribe(subscriptionOf('watch-triggers', TRIGGER_TOPIC));
  };
  return { clock, db, bus, queue, triggers, other, settle, start, breakWhen: (f: (member: string) => boolean) => (broken = f) };
}

describe('SqliteDeadLetterQueue', () => {
  it('redrives a completion dead-lettered during an outage, so the barrier fires exactly once', async () => {
    const t = setup();
    await t.start();
    t.breakWhen((member) => member === 'b');
    await t.bus.publish(DONE_TOPIC, completion({ member: 'a', key: KEY }));
    await t.bus.publish(DONE_TOPIC, completion({ member: 'b', key: KEY }));
    await t.settle();
    expect(t.triggers.deliveries).toHaveLength(0);

    const [dead, ...rest] = await t.queue.list();
    expect(rest).toHaveLength(0);
    expect(dead).toMatchObject({
      id: '1',
      messageId: `c:b:${KEY}:e1`,
      topic: DONE_TOPIC,
      subscription: GATE,
      deliveryAttempts: 5,
      path: 'pull',
      redrive: undefined,
    });
    expect(dead?.reason).toContain('gave up after 5 delivery attempts: runtime/transient: state store unavailable while recording b');
    expect(dead?.firstAttemptAt).toBeLessThan(dead?.lastAttemptAt ?? 0);

    t.breakWhen(() => false);
    expect(await t.queue.redrive(['1'])).toEqual([{ id: '1', outcome: 'redriven', note: `delivered to ${GATE} again` }]);
    await t.settle();
    expect(t.triggers.deliveries).toHaveLength(1);
    expect((await t.queue.get('1'))?.redrive?.result).toBe(`delivered to ${GATE} again`);

    const again = await t.queue.redrive(['1']);
    expect(again[0]?.outcome).toBe('already-redriven');
    expect(again[0]?.note).toMatch(/^already redriven at 2025-11-29T\d\d:\d\d:\d\d\.\d{3}Z \(delivered to gate-sub again\)$/);
    expect(await t.bus.backlog(GATE)).toBe(0);
    await t.settle();
    expect(t.triggers.deliveries).toHaveLength(1);
    // The other subscription of the topic saw each completion once: a redrive is not a publish.
    expect(t.other.deliveries.map((m) => m.id)).toEqual([`c:a:${KEY}:e1`, `c:b:${KEY}:e1`]);
  });

  it('lets the barrier absorb a redriven completion it had already recorded', async () => {
    const t = setup();
    await t.start();
    await t.bus.publish(DONE_TOPIC, completion({ member: 'a', key: KEY }));
    await t.bus.publish(DONE_TOPIC, completion({ member: 'b', key: KEY }));
    await t.settle();
    expect(t.triggers.deliveries).toHaveLength(1);
    // A copy dead-lettered after the barrier recorded it (its ack was lost): redriving it fires nothing.
    await t.bus.publish(DONE_TOPIC, completion({ member: 'b', key: KEY, execution: 'e2' }));
    const [delivery] = await t.bus.pull(GATE, 1);
    await t.bus.deadLetter(delivery?.ackId ?? '', 'lost ack');
    const [dead] = await t.queue.list();
    await t.queue.redrive([dead?.id ?? '']);
    await t.settle();
    expect(t.triggers.deliveries).toHaveLength(1);
    expect(await t.bus.backlog(GATE)).toBe(0);
  });

  it('lists by topic and time, changes nothing on a dry run, and purges only what it is given', async () => {
    const t = setup();
    await t.start();
    await t.bus.subscribe(subscriptionOf('late-sub', 'late-topic'));
    t.breakWhen(() => true);
    await t.bus.publish(DONE_TOPIC, completion({ member: 'a', key: KEY }));
    await t.settle();
    const cutoff = t.clock.now();
    await t.bus.publish('late-topic', completion({ member: 'b', key: KEY }));
    const [late] = await t.bus.pull('late-sub', 1);
    await t.bus.deadLetter(late?.ackId ?? '', 'body refused');

    expect((await t.queue.list()).map((d) => d.topic)).toEqual([DONE_TOPIC, 'late-topic']);
    expect((await t.queue.list({ topic: 'late-topic' })).map((d) => d.reason)).toEqual(['body refused']);
    expect((await t.queue.list({ since: cutoff })).map((d) => d.id)).toEqual(['2']);
    expect((await t.queue.list({ since: cutoff + 1 })).map((d) => d.id)).toEqual([]);

    expect(await t.queue.redrive(['2', '9'], { dryRun: true })).toEqual([
      { id: '2', outcome: 'would-redrive', note: `would deliver c:b:${KEY}:e1 to late-sub again` },
      { id: '9', outcome: 'not-found', note: 'no such dead letter' },
    ]);
    expect(await t.bus.backlog('late-sub')).toBe(0);
    expect((await t.queue.get('2'))?.redrive).toBeUndefined();

    expect(await t.queue.purge(['2', 'nope'])).toBe(1);
    expect((await t.queue.list()).map((d) => d.id)).toEqual(['1']);
    expect(await t.queue.get('2')).toBeUndefined();
  });
});
