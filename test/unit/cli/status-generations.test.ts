import { describe, expect, it } from 'vitest';
import { MemoryMessageBus } from '../../../engine/adapters/memory/memory-message-bus.ts';
import { MemoryStateStore } from '../../../engine/adapters/memory/memory-state-store.ts';
import { formatKey } from '../../../engine/cli/status-command.ts';
import { PLAIN } from '../../../engine/config/format-diagnostics.ts';
import type { ResolvedPipeline } from '../../../engine/config/resolved-pipeline.ts';
import { CompletionBarrier } from '../../../engine/runtime/completion-barrier.ts';
import { FakeClock } from '../../../engine/runtime/fake-clock.ts';
import { inspectKey } from '../../../engine/runtime/inspect-key.ts';
import type { PipelineRuntime } from '../../../engine/runtime/pipeline-runtime.ts';
import { completion, modesBarrierOf, pipelineOf } from '../../contract/fixtures.ts';

// Issue 16 #1: a key of a barrier with modes runs once per mode (tomorrow on D-1, the overnight rebuild
// on D+1); `baton status` shows every generation, not only the first.
describe('baton status for a barrier with modes', () => {
  it('shows each generation of a key: the fired tomorrow run and the open overnight rebuild', async () => {
    const clock = new FakeClock('2025-11-28T18:00:00Z');
    const store = new MemoryStateStore(clock);
    const config = modesBarrierOf();
    const barrier = new CompletionBarrier({ barrier: config, pipeline: pipelineOf(['a', 'b', 'c']), store, bus: new MemoryMessageBus(clock), clock });
    const key = '2025-11-29';
    await barrier.handle(completion({ member: 'b', key, execution: 'tomorrow', time: clock.now() }));
    clock.advance(Date.parse('2025-11-30T15:00:00Z') - clock.now());
    await barrier.handle(completion({ member: 'a', key, execution: 'overnight', time: clock.now() }));

    const pipeline = { barriers: [config], coordinators: [] } as unknown as ResolvedPipeline;
    const runtime = { barriers: new Map([[barrier.name, barrier]]), coordinators: new Map() } as unknown as PipelineRuntime;
    const view = await inspectKey(pipeline, runtime, key);
    expect(view.barriers[0]?.generations.map((g) => [g.snapshot.mode, g.trigger?.message.id])).toEqual([
      ['tomorrow', `trigger:gate:${key}~tomorrow`],
      ['overnight', undefined],
    ]);
    expect(view.barriers[0]?.status?.snapshot.mode).toBe('overnight');
    expect(formatKey(pipeline, view, clock.now(), PLAIN).split('\n')).toEqual([
      `key ${key}  correlation id run-${key}`,
      '  gate  fired all_complete 1/1 [tomorrow], 0 ms after the first completion',
      '  gate  open 1/3 [overnight], needs all 3',
      '        missing: b, c',
      '        no deadline: waits until the threshold holds',
    ]);
  });
});
