import { afterEach, describe, expect, it } from 'vitest';
import { MAX_KEY_LENGTH } from '../../engine/config/conventions.ts';
import type { ResolvedBarrier } from '../../engine/config/resolved-pipeline.ts';
import type { MessageBus } from '../../engine/ports/message-bus.ts';
import type { StateStore } from '../../engine/ports/state-store.ts';
import { CompletionBarrier } from '../../engine/runtime/completion-barrier.ts';
import { TransientError } from '../../engine/runtime/errors.ts';
import { ORPHANED_AFTER_MS } from '../../engine/runtime/trigger-outbox.ts';
import { FakeClock } from '../../engine/runtime/fake-clock.ts';
import { Subscriber } from '../../engine/runtime/subscriber.ts';
import type { TriggerData } from '../../engine/runtime/envelope.ts';
import type { Backend, BackendFactory, BackendTraits } from './backend.ts';
import {
  barrierOf,
  completion,
  DONE_TOPIC,
  memberNames,
  modesBarrierOf,
  pipelineOf,
  seeded,
  shuffle,
  subscriptionOf,
  thresholdOf,
  tierOf,
  TRIGGER_TOPIC,
  Watcher,
} from './fixtures.ts';

const IN = 'gate--work-done';
const WATCH = 'watch--next-phase';

/** A bus that fails exactly once, the first time `when` matches: a process dying at that point. */
function crashOnce(bus: MessageBus, when: (topic: string) => boolean): MessageBus {
  let crashed = false;
  return new Proxy(bus, {
    get(target, property, receiver) {
      if (property !== 'publish') return Reflect.get(target, property, receiver) as unknown;
      return async (topic: string, message: Parameters<MessageBus['publish']>[1]) => {
        if (!crashed && when(topic)) {
          crashed = true;
          throw new Error('process killed before publish');
        }
        return target.publish(topic, message);
      };
    },
  });
}

/** A store whose `markPublished` fails once: killed after the publish, before recording it. */
function crashBeforeMark(store: StateStore): StateStore {
  let crashed = false;
  return new Proxy(store, {
    get(target, property, receiver) {
      if (property !== 'markPublished') return Reflect.get(target, property, receiver) as unknown;
      return async (...args: Parameters<StateStore['markPublished']>) => {
        if (!crashed) {
          crashed = true;
          throw new Error('process killed after publish');
        }
        return target.markPublished(...args);
      };
    },
  });
}

/** The barrier contract: the exactly-once and nothing-lost guarantees, on every backend. */
export function barrierContract(name: string, factory: BackendFactory, traits: BackendTraits = {}): void {
  describe(`CompletionBarrier contract: ${name}`, { timeout: traits.testTimeoutMs }, () => {
    let backend: Backend;
    let clock: FakeClock;
    const setup = async (start = '2025-11-29T12:00:00Z'): Promise<Backend> => {
      clock = new FakeClock(start);
      backend = factory(clock);
      await backend.bus.subscribe(subscriptionOf(IN, DONE_TOPIC, { deadLetterTopic: `${DONE_TOPIC}-dlq` }));
      await backend.bus.subscribe(subscriptionOf(WATCH, TRIGGER_TOPIC));
      return backend;
    };
    const gate = (config: ResolvedBarrier, on: Pick<Backend, 'bus' | 'store'> = backend, processors = config.members.map((m) => m.name)): CompletionBarrier =>
      new CompletionBarrier({ barrier: config, pipeline: pipelineOf(processors), store: on.store, bus: on.bus, clock });
    afterEach(() => backend.dispose());

    it('fires exactly one trigger for 500 concurrent completions of one key across two barrier instances', async () => {
      const { bus } = await setup();
      const members = memberNames(100);
      const config = barrierOf(members, { threshold: thresholdOf('count', { count: 60 }) });
      const [first, second] = [gate(config), gate(config)];
      const messages = shuffle(
        members.flatMap((m) => [1, 2, 3, 4, 5].map((n) => completion({ member: m, key: '2025-11-28', execution: n <= 3 ? 'e1' : `e${n}` }))),
        seeded(1),
      );
      const outcomes = await Promise.all(messages.map((message, i) => (i % 2 === 0 ? first : second).handle(message)));
      expect(outcomes.filter((o) => o.fired)).toHaveLength(1);
      expect(outcomes.filter((o) => o.outcome === 'duplicate')).toHaveLength(200);
      const watcher = new Watcher(bus, WATCH);
      await watcher.drain();
      expect(watcher.deliveries).toHaveLength(1);
      const data = watcher.unique()[0]?.data as TriggerData;
      // Which completion tips it depends on interleaving; that it fires once does not.
      expect(['count', 'all_complete']).toContain(data.reason);
      expect(data.members_completed.length).toBeGreaterThanOrEqual(60);
    });

    it('publishes and marks a trigger once when 300 concurrent completions on two instances find it decided (issue 11: each re-published it)', async () => {
      await setup();
      const members = memberNames(20);
      const config = barrierOf(members, { threshold: thresholdOf('count', { count: 5 }) });
      let publishes = 0;
      let marks = 0;
      const bus = new Proxy(backend.bus, {
        get(target, property, receiver) {
          if (property !== 'publish') return Reflect.get(target, property, receiver) as unknown;
          return (topic: string, message: Parameters<MessageBus['publish']>[1]) => {
            if (topic === TRIGGER_TOPIC) publishes++;
            return target.publish(topic, message);
          };
        },
      });
      const store = new Proxy(backend.store, {
        get(target, property, receiver) {
          if (property !== 'markPublished') return Reflect.get(target, property, receiver) as unknown;
          return (...args: Parameters<StateStore['markPublished']>) => {
            marks++;
            return target.markPublished(...args);
          };
        },
      });
      const [first, second] = [gate(config, { bus, store }), gate(config, { bus, store })];
      const messages = shuffle(
        members.flatMap((m) => Array.from({ length: 15 }, (_, n) => completion({ member: m, key: '2025-11-28', execution: `e${String(n % 10)}` }))),
        seeded(11),
      );
      const outcomes = await Promise.all(messages.map((message, i) => (i % 2 === 0 ? first : second).handle(message)));
      expect(outcomes.filter((o) => o.fired)).toHaveLength(1);
      expect(outcomes.filter((o) => o.published).map((o) => o.published?.why)).toEqual(['decided']);
      expect([publishes, marks]).toEqual([1, 1]);
      expect(await backend.store.listUnpublished()).toEqual([]);
    });

    it('fires once per key when every message is delivered 1–3 times in shuffled order through the bus', async () => {
      const { bus } = await setup();
      const members = memberNames(7);
      const barrier = gate(barrierOf(members));
      const random = seeded(7);
      const keys = ['2025-11-01', '2025-11-02', '2025-11-03', '2025-11-04', '2025-11-05'];
      for (const message of shuffle(
        keys.flatMap((key) => members.map((member) => completion({ member, key }))),
        random,
      ))
        await bus.publish(DONE_TOPIC, message);
      // Each message fails transiently 0–2 times before it is handled, so it is delivered 1–3 times.
      const failures = new Map<string, number>();
      const attempts = new Map<string, number>();
      const subscriber = new Subscriber(bus, IN, async (message) => {
        if (!failures.has(message.id)) failures.set(message.id, Math.floor(random() * 3));
        attempts.set(message.id, message.deliveryAttempt);
        if (message.deliveryAttempt <= (failures.get(message.id) ?? 0)) throw new TransientError('flaky downstream');
        return barrier.handle(message);
      });
      let handled = 0;
      for (let round = 0; round < 10 && (await bus.backlog(IN)) > 0; round++) {
        handled += (await subscriber.drain(13)).acked;
        clock.advance(10_000);
        await backend.wait?.(10_000);
      }
      expect(handled).toBe(35);
      expect(new Set(attempts.values())).toEqual(new Set([1, 2, 3]));
      const watcher = new Watcher(bus, WATCH);
      await watcher.drain();
      const triggers = watcher.unique();
      expect(watcher.deliveries).toHaveLength(5);
      expect(triggers.map((t) => t.subject).sort()).toEqual(keys);
      expect(triggers.every((t) => (t.data as TriggerData).lineage.length === 7)).toBe(true);
      expect(await bus.deadLetters()).toEqual([]);
    });

    it('recovers a trigger decided before a crash by the tick, with the same id; the redelivered completion leaves it, and the consumer sees it once', async () => {
      await setup();
      const members = memberNames(3);
      const config = barrierOf(members);
      const crashing = gate(config, { bus: crashOnce(backend.bus, (topic) => topic === TRIGGER_TOPIC), store: backend.store });
      await crashing.handle(completion({ member: 'm000', key: '2025-11-29' }));
      await crashing.handle(completion({ member: 'm001', key: '2025-11-29' }));
      const last = completion({ member: 'm002', key: '2025-11-29' });
      await expect(crashing.handle(last)).rejects.toThrow('process killed');
      expect(await backend.store.listUnpublished()).toHaveLength(1);

      backend = backend.restart();
      const revived = gate(config);
      // The completion was never acked, so it is redelivered: it did not decide the trigger, so it leaves it.
      const outcome = await revived.handle(last);
      expect(outcome).toMatchObject({ outcome: 'duplicate', fired: undefined, published: undefined });
      const watcher = new Watcher(backend.bus, WATCH);
      await watcher.drain();
      expect(watcher.deliveries).toEqual([]);
      // The tick is the one recovery path.
      expect((await revived.tick()).published.map((p) => p.why)).toEqual(['re-published by tick']);
      await watcher.drain();
      expect(watcher.deliveries.map((m) => m.id)).toEqual([revived.triggerId('2025-11-29')]);
      expect(await backend.store.listUnpublished()).toEqual([]);
    });

    it('publishes a trigger whose decider failed to publish it when a completion is redelivered after the orphan grace, once; within the grace a redelivery leaves it', async () => {
      await setup();
      const config = barrierOf(memberNames(2));
      const crashing = gate(config, { bus: crashOnce(backend.bus, (topic) => topic === TRIGGER_TOPIC), store: backend.store });
      await crashing.handle(completion({ member: 'm000', key: '2025-11-29' }));
      const last = completion({ member: 'm001', key: '2025-11-29' });
      await expect(crashing.handle(last)).rejects.toThrow('process killed');

      const live = gate(config);
      // A fresh decision is its decider's to publish (a concurrent completion of the same round leaves it).
      expect(await live.handle(last)).toMatchObject({ outcome: 'duplicate', published: undefined });
      clock.advance(ORPHANED_AFTER_MS);
      await backend.wait?.(ORPHANED_AFTER_MS);
      // The redelivery after the retry backoff finds it orphaned and publishes it, with the same id.
      expect((await live.handle(last)).published?.why).toBe('recovered on redelivery');
      expect(await backend.store.listUnpublished()).toEqual([]);
      expect((await live.handle(last)).published).toBeUndefined();
      const watcher = new Watcher(backend.bus, WATCH);
      await watcher.drain();
      expect(watcher.deliveries.map((m) => m.id)).toEqual([live.triggerId('2025-11-29')]);
    });

    it('absorbs the re-publish of a trigger that reached the bus before the crash recorded it', async () => {
      await setup();
      const config = barrierOf(memberNames(2));
      const crashing = gate(config, { bus: backend.bus, store: crashBeforeMark(backend.store) });
      await crashing.handle(completion({ member: 'm000', key: '2025-11-29' }));
      await expect(crashing.handle(completion({ member: 'm001', key: '2025-11-29' }))).rejects.toThrow('after publish');

      backend = backend.restart();
      // The tick publishes it again (the bus absorbs the same id) and says so.
      const report = await gate(config).tick();
      expect(report).toMatchObject({ fired: [], failures: [] });
      expect(report.published.map((p) => p.why)).toEqual(['re-published by tick']);
      const watcher = new Watcher(backend.bus, WATCH);
      await watcher.drain();
      expect(watcher.deliveries).toHaveLength(1);
      expect(await backend.store.listUnpublished()).toEqual([]);
    });

    it('fires a deadline tier from a tick with no traffic, naming the missing members', async () => {
      const { bus } = await setup();
      const members = memberNames(5);
      const barrier = gate(barrierOf(members, { deadlines: [tierOf('1h', 4), tierOf('2h', 3), tierOf('4h', 1)] }));
      for (const member of members.slice(0, 3)) await barrier.handle(completion({ member, key: '2025-11-29' }));
      clock.advance(3_600_000);
      expect((await barrier.tick()).fired).toEqual([]);
      clock.advance(3_600_000);
      const [fired] = (await barrier.tick()).fired;
      expect(fired?.reason).toBe('deadline');
      expect((await barrier.tick()).fired).toEqual([]);
      await barrier.handle(completion({ member: 'm003', key: '2025-11-29' }));
      const watcher = new Watcher(bus, WATCH);
      await watcher.drain();
      expect(watcher.deliveries).toHaveLength(1);
      const data = watcher.unique()[0]?.data as TriggerData;
      expect(data).toMatchObject({ reason: 'deadline', deadline_tier: { tier: 2, after: '2h' }, members_missing: ['m003', 'm004'] });
    });

    it('holds deadline tiers for a missing required member, and fires the tier that ignores it, as stored (issue 10: a retail day closed without payments)', async () => {
      await setup();
      const members = ['orders', 'payments', 'inventory', 'returns'];
      const threshold = thresholdOf('count', { count: 3, required: ['payments'] });
      const barrier = gate(barrierOf(members, { threshold, deadlines: [tierOf('1h', 2), tierOf('4h', 2, true)] }));
      for (const member of ['orders', 'inventory', 'returns']) await barrier.handle(completion({ member, key: '2025-11-29' }));
      clock.advance(2 * 3_600_000);
      expect((await barrier.tick()).fired).toEqual([]);
      clock.advance(2 * 3_600_000);
      const [fired] = (await barrier.tick()).fired;
      expect(fired?.reason).toBe('deadline');
      expect(JSON.parse(fired?.message.data ?? '{}')).toMatchObject({ deadline_tier: { tier: 2, after: '4h' }, members_missing: ['payments'] });
    });

    it("measures a deadline from the store's time, not a skewed instance's clock (#16.6: a 10 min slow instance fired a 1 h tier 10 min early)", async () => {
      await setup();
      const members = memberNames(3);
      const config = barrierOf(members, { deadlines: [tierOf('1h', 1)] });
      const slowClock = new FakeClock(clock.now() - 10 * 60_000);
      const slow = new CompletionBarrier({ barrier: config, pipeline: pipelineOf(members), store: backend.store, bus: backend.bus, clock: slowClock });
      const storeTime = await backend.store.now();
      await slow.handle(completion({ member: 'm000', key: '2025-11-29' }));
      const firstCompletionAt = (await backend.store.readKey('gate', '2025-11-29'))?.snapshot.firstCompletionAt ?? 0;
      // The store's time (Firestore: the server's, to within a round trip), never the slow clock's.
      expect(Math.abs(firstCompletionAt - storeTime)).toBeLessThan(60_000);
      clock.advance(55 * 60_000);
      expect((await gate(config).tick()).fired).toEqual([]);
      clock.advance(6 * 60_000);
      const [fired] = (await gate(config).tick()).fired;
      expect(fired?.reason).toBe('deadline');
    });

    it('fires exactly once for each of 1,000 interleaved keys', async () => {
      const { bus } = await setup();
      const members = memberNames(3);
      const barrier = gate(barrierOf(members));
      const keys = Array.from({ length: 1000 }, (_, i) => new Date(Date.UTC(2020, 0, 1) + i * 86_400_000).toISOString().slice(0, 10));
      const messages = shuffle(
        keys.flatMap((key) => members.map((member) => completion({ member, key }))),
        seeded(1000),
      );
      const fired = new Set<string>();
      for (let i = 0; i < messages.length; i += 50) {
        const outcomes = await Promise.all(messages.slice(i, i + 50).map((m) => barrier.handle(m)));
        for (const o of outcomes) if (o.fired) fired.add(o.fired.scope);
      }
      expect(fired.size).toBe(1000);
      const watcher = new Watcher(bus, WATCH);
      await watcher.drain();
      expect(watcher.deliveries).toHaveLength(1000);
      expect(new Set(watcher.deliveries.map((m) => m.id)).size).toBe(1000);
    });

    it('dead-letters permanent errors with their reason and never retries them', async () => {
      const { bus } = await setup();
      const barrier = gate(barrierOf(memberNames(2)));
      await bus.publish(DONE_TOPIC, { id: 'junk', attributes: {}, data: 'not json' });
      await bus.publish(DONE_TOPIC, completion({ member: 'stranger', key: '2025-11-29' }));
      await bus.publish(DONE_TOPIC, completion({ member: 'm000', key: '2025-13-45' }));
      const result = await new Subscriber(bus, IN, (m) => barrier.handle(m)).drain();
      expect(result).toEqual({ acked: 0, nacked: 0, deadLettered: 3 });
      const reasons = (await bus.deadLetters(IN)).map((d) => d.reason.split(':')[0]);
      expect(reasons).toEqual(['envelope/invalid', 'barrier/unknown-member', 'runtime/invalid-key']);
    });

    it('ticks every other key when one key fails (#16.4: one poison key stopped every deadline)', async () => {
      await setup();
      const members = memberNames(3);
      const config = barrierOf(members, { deadlines: [tierOf('1h', 1)] });
      for (const key of ['2025-11-28', '2025-11-29', '2025-11-30']) await gate(config).handle(completion({ member: 'm000', key }));
      clock.advance(3_600_000);
      const poisoned = new Proxy(backend.store, {
        get(target, property, receiver) {
          if (property !== 'decideTrigger') return Reflect.get(target, property, receiver) as unknown;
          return (...args: Parameters<StateStore['decideTrigger']>) =>
            args[1] === '2025-11-29' ? Promise.reject(new TransientError('document too large')) : target.decideTrigger(...args);
        },
      });
      const report = await gate(config, { bus: backend.bus, store: poisoned }).tick();
      expect(report.fired.map((t) => t.scope).sort()).toEqual(['2025-11-28', '2025-11-30']);
      expect(report.published.map((p) => p.why)).toEqual(['decided', 'decided']);
      expect(report.failures).toEqual([{ component: 'gate', key: '2025-11-29', reason: 'runtime/transient: document too large', permanent: false }]);
      // The poison clears: the next tick fires the key it skipped.
      expect((await gate(config).tick()).fired.map((t) => t.scope)).toEqual(['2025-11-29']);
    });

    it('reports a trigger the tick re-published after a crash between decide and publish (#16.10)', async () => {
      await setup();
      const config = barrierOf(memberNames(1));
      const crashing = gate(config, { bus: crashOnce(backend.bus, (topic) => topic === TRIGGER_TOPIC), store: backend.store });
      await expect(crashing.handle(completion({ member: 'm000', key: '2025-11-29' }))).rejects.toThrow('process killed');
      backend = backend.restart();
      const report = await gate(config).tick();
      expect(report.fired).toEqual([]);
      expect(report.published.map((p) => [p.trigger.message.id, p.why])).toEqual([['trigger:gate:2025-11-29', 're-published by tick']]);
    });

    it('refuses a key longer than the key rule allows as a permanent error (#16.4)', async () => {
      await setup();
      const rule = { ...pipelineOf(['m000']), key: { name: 'run_id', type: 'string' as const, pattern: undefined } };
      const barrier = new CompletionBarrier({ barrier: barrierOf(['m000']), pipeline: rule, store: backend.store, bus: backend.bus, clock });
      await expect(barrier.handle(completion({ member: 'm000', key: 'k'.repeat(MAX_KEY_LENGTH) }))).resolves.toMatchObject({ outcome: 'recorded' });
      await expect(barrier.handle(completion({ member: 'm000', key: 'k'.repeat(MAX_KEY_LENGTH + 1) }))).rejects.toMatchObject({
        code: 'runtime/invalid-key',
        retryable: false,
      });
    });

    it('fires a non-incremental trigger without the union when the entity union is too large to store (#16.4)', async () => {
      const { bus } = await setup();
      const members = memberNames(2);
      const barrier = gate(barrierOf(members));
      // Two members with 12,000 distinct 12-character ids each: a ~330 KB union, over the cap.
      const ids = (member: string): string[] => Array.from({ length: 12_000 }, (_, i) => `${member}-${String(i).padStart(7, '0')}`);
      for (const member of members) await barrier.handle(completion({ member, key: '2025-11-29', entities: { players: ids(member) }, incremental: true }));
      const watcher = new Watcher(bus, WATCH);
      await watcher.drain();
      const data = watcher.unique()[0]?.data as TriggerData;
      expect(data.is_incremental).toBe(false);
      expect(data.entities_changed).toBeUndefined();
    });

    it('fires each mode of a key as its own generation: tomorrow on D-1, then the overnight rebuild on D+1, each once (issue 16 #1)', async () => {
      // D-1 (Nov 28 in New York): the tomorrow run needs only b; delivered twice.
      const { bus } = await setup('2025-11-28T18:00:00Z');
      const key = '2025-11-29';
      const barrier = gate(modesBarrierOf());
      const watcher = new Watcher(bus, WATCH);
      for (let i = 0; i < 2; i++) await barrier.handle(completion({ member: 'b', key, execution: 'tomorrow', time: clock.now() }));
      // D+1 (Nov 30 in New York): the overnight rebuild, every member, every completion delivered twice.
      clock.advance(Date.parse('2025-11-30T15:00:00Z') - clock.now());
      for (const member of ['a', 'b', 'c', 'a', 'b', 'c']) await barrier.handle(completion({ member, key, execution: 'overnight', time: clock.now() }));
      // A late redelivery of the tomorrow completion (its own time is D-1) fires nothing new.
      await barrier.handle(completion({ member: 'b', key, execution: 'tomorrow', time: Date.parse('2025-11-28T18:00:00Z') }));
      const report = await barrier.tick();
      expect(report.fired).toEqual([]);
      expect(report.published).toEqual([]);
      await watcher.drain();
      expect(watcher.deliveries.map((m) => m.id)).toEqual([`trigger:gate:${key}~tomorrow`, `trigger:gate:${key}~overnight`]);
      const data = watcher.unique().map((e) => e.data as TriggerData);
      expect(data.map((d) => [d.key, d.mode, d.members_completed])).toEqual([
        [key, 'tomorrow', ['b']],
        [key, 'overnight', ['a', 'b', 'c']],
      ]);
      expect((await barrier.inspectGenerations(key)).map((g) => [g.snapshot.mode, g.trigger?.message.id])).toEqual([
        ['tomorrow', `trigger:gate:${key}~tomorrow`],
        ['overnight', `trigger:gate:${key}~overnight`],
      ]);
    });

    it('counts a completion in the mode of its own time: a same-day completion handled 20 s after midnight in New York (issue 16 #1)', async () => {
      // Its own time is 23:59:40 on Nov 28 in New York; the barrier handles it at 00:00:20 on Nov 29.
      const { bus } = await setup('2025-11-29T05:00:20Z');
      const key = '2025-11-28';
      const outcome = await gate(modesBarrierOf()).handle(completion({ member: 'c', key, time: Date.parse('2025-11-29T04:59:40Z') }));
      expect(outcome.fired?.message.id).toBe(`trigger:gate:${key}~same_day`);
      const watcher = new Watcher(bus, WATCH);
      await watcher.drain();
      expect(watcher.unique().map((e) => [(e.data as TriggerData).mode, (e.data as TriggerData).members_completed])).toEqual([['same_day', ['c']]]);
    });
  });
}
