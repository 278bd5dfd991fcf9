import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MemoryMessageBus } from '../../../engine/adapters/memory/memory-message-bus.ts';
import { MemoryStateStore } from '../../../engine/adapters/memory/memory-state-store.ts';
import { loadPipeline } from '../../../engine/config/load-pipeline.ts';
import { packageRoot } from '../../../engine/config/package-root.ts';
import { FakeClock } from '../../../engine/runtime/fake-clock.ts';
import { PipelineRuntime, type RuntimeEvent } from '../../../engine/runtime/pipeline-runtime.ts';
import { completion } from '../../contract/fixtures.ts';

/** A store that cannot list one barrier's keys, like a component whose state is unreadable. */
class BrokenListStore extends MemoryStateStore {
  constructor(private readonly broken: string) {
    super();
  }
  override listKeys(barrier: string, openOnly: boolean): Promise<string[]> {
    if (barrier === this.broken) return Promise.reject(new Error('14 UNAVAILABLE: listing failed'));
    return super.listKeys(barrier, openOnly);
  }
}

describe('PipelineRuntime.tick (#16.4: one failing component stopped every tick)', () => {
  it('ticks every other component when one cannot list its keys, and reports which failed', async () => {
    const { pipeline } = loadPipeline(join(packageRoot(), 'test/fixtures/entry/deadline.yaml'));
    if (pipeline === undefined) throw new Error('fixture does not load');
    const clock = new FakeClock('2025-11-29T12:00:00Z');
    const bus = new MemoryMessageBus(clock);
    // ingest-done ticks first and cannot list its keys; stage-done, after it, has a trigger to re-publish.
    const store = new BrokenListStore('ingest-done');
    const events: RuntimeEvent[] = [];
    const runtime = new PipelineRuntime({
      pipeline,
      subscriptions: [],
      store,
      bus,
      clock,
      fullList: () => () => Promise.resolve([]),
      onEvent: (event) => events.push(event),
    });
    const publish = bus.publish.bind(bus);
    bus.publish = (topic, message) => (topic === 'done' ? Promise.reject(new Error('process killed before publish')) : publish(topic, message));
    await expect(runtime.barriers.get('stage-done')?.handle(completion({ member: 'build_x', key: '2025-11-28' }))).rejects.toThrow('process killed');
    bus.publish = publish;

    const report = await runtime.tick();
    expect(report.failures).toEqual([{ component: 'ingest-done', key: undefined, reason: 'Error: 14 UNAVAILABLE: listing failed', permanent: false }]);
    expect(report.published.map((p) => [p.trigger.emitter, p.trigger.scope, p.why])).toEqual([['stage-done', '2025-11-28', 're-published by tick']]);
    expect(events).toEqual([{ kind: 'published', publication: report.published[0] }]);
  });
});
