import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MemoryMessageBus } from '../../../engine/adapters/memory/memory-message-bus.ts';
import { MemoryStateStore } from '../../../engine/adapters/memory/memory-state-store.ts';
import { loadPipeline } from '../../../engine/config/load-pipeline.ts';
import { packageRoot } from '../../../engine/config/package-root.ts';
import { createEntryComponent } from '../../../engine/entry/entry-component.ts';
import { fetchEntityList } from '../../../engine/entry/fetch-entity-list.ts';
import type { PushDelivery } from '../../../engine/entry/parse-push-delivery.ts';
import { FakeClock } from '../../../engine/runtime/fake-clock.ts';
import { coordinatorTrigger } from '../../contract/fixtures.ts';

const loaded = loadPipeline(join(packageRoot(), 'pipeline.yaml'));

function coordinator() {
  if (loaded.pipeline === undefined) throw new Error('the bundled pipeline does not load');
  const clock = new FakeClock();
  const options = {
    pipeline: loaded.pipeline,
    pipelineHash: 'h',
    store: new MemoryStateStore(clock),
    bus: new MemoryMessageBus(clock),
    clock,
    fullList: () => Promise.resolve([]),
  };
  return createEntryComponent({ kind: 'coordinator', name: 'prediction-coordinator' }, options);
}

const delivery = (subscription: string | undefined, type?: string): PushDelivery => ({
  message: { id: 'm', attributes: type === undefined ? {} : { 'ce-type': type }, data: '{}' },
  subscription,
  deliveryAttempt: undefined,
  pubsubMessageId: undefined,
  publishTime: undefined,
});

describe('createEntryComponent', () => {
  it.each([
    ['its ready subscription', delivery('prediction-coordinator--nba-phase5-prediction-ready'), 'nba-phase5-prediction-ready'],
    [
      'its trigger subscription, whatever the type says',
      delivery('prediction-coordinator--nba-phase4-precompute-complete', 'dev.baton.completion.v1'),
      'nba-phase4-precompute-complete',
    ],
    ['a completion envelope when the subscription is unknown', delivery(undefined, 'dev.baton.completion.v1'), 'nba-phase5-prediction-ready'],
    ['a trigger envelope when the subscription is unknown', delivery(undefined, 'dev.baton.trigger.v1'), 'nba-phase4-precompute-complete'],
  ])("tells a coordinator's input by %s", (_name, input, topic) => {
    expect(coordinator().topicOf(input)).toBe(topic);
  });

  it('answers an older trigger delivered after a newer one as outdated, with the reason the log line carries (issue 16 #8)', async () => {
    const component = coordinator();
    const push = (message: PushDelivery['message']): PushDelivery => ({ ...delivery('prediction-coordinator--nba-phase4-precompute-complete'), message });
    expect((await component.handle(push(coordinatorTrigger('t-new', [1], { time: '2025-11-29T12:05:00Z' })))).outcome).toBe('opened');
    const late = await component.handle(push(coordinatorTrigger('t-old', [2], { time: '2025-11-29T12:00:00Z' })));
    expect(late).toMatchObject({ outcome: 'outdated', published: 0, reason: expect.stringMatching(/trigger t-old .* is older than trigger t-new/) as unknown });
  });

  it('refuses a barrier the pipeline does not declare, naming the ones it has', () => {
    if (loaded.pipeline === undefined) throw new Error('the bundled pipeline does not load');
    const clock = new FakeClock();
    const options = {
      pipeline: loaded.pipeline,
      pipelineHash: 'h',
      store: new MemoryStateStore(clock),
      bus: new MemoryMessageBus(clock),
      clock,
      fullList: () => Promise.resolve([]),
    };
    expect(() => createEntryComponent({ kind: 'barrier', name: 'phase9' }, options)).toThrow(/no barrier "phase9" \(have: .*phase2-to-phase3/);
  });
});

describe('fetchEntityList', () => {
  const url = 'https://c.internal/players?game_date={key}';
  const respond =
    (body: unknown, status = 200): typeof fetch =>
    () =>
      Promise.resolve(new Response(JSON.stringify(body), { status }));

  it('fills in the key and accepts an array or {ids}', async () => {
    let asked = '';
    const spy: typeof fetch = (input) => {
      asked = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
      return Promise.resolve(new Response('[1, "2"]'));
    };
    expect(await fetchEntityList({ name: 'c', fullListUrl: url }, spy)('2025-11-28')).toEqual([1, '2']);
    expect(asked).toBe('https://c.internal/players?game_date=2025-11-28');
    expect(await fetchEntityList({ name: 'c', fullListUrl: url }, respond({ ids: [3] }))('k')).toEqual([3]);
  });

  it.each([
    ['an HTTP error', respond([], 503), /HTTP 503/],
    ['a body that is not a list of ids', respond({ players: [1] }), /expected a JSON array of ids/],
  ])('fails on %s', async (_name, impl, error) => {
    await expect(fetchEntityList({ name: 'c', fullListUrl: url }, impl)('k')).rejects.toThrow(error);
  });
});
