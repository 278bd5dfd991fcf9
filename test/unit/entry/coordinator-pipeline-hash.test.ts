import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MemoryMessageBus } from '../../../engine/adapters/memory/memory-message-bus.ts';
import { MemoryStateStore } from '../../../engine/adapters/memory/memory-state-store.ts';
import { packageRoot } from '../../../engine/config/package-root.ts';
import { openEntry } from '../../../engine/entry/open-entry.ts';
import type { PushDelivery } from '../../../engine/entry/parse-push-delivery.ts';
import type { OutgoingMessage } from '../../../engine/ports/message-bus.ts';
import type { TriggerData } from '../../../engine/runtime/envelope.ts';
import { FakeClock } from '../../../engine/runtime/fake-clock.ts';
import { completion, subscriptionOf, Watcher } from '../../contract/fixtures.ts';
import { KEY, triggerMessage } from '../sdk/sdk-fixtures.ts';

// #23: the wrong code ran on a service. The coordinator's deployment, like a barrier's, checks the hash its
// manifests were generated from (BATON_PIPELINE_HASH) against the pipeline it loaded, and stamps the
// hash it runs on the phase completion it publishes.

const delivery = (message: OutgoingMessage, topic: string): PushDelivery => ({
  message,
  subscription: `prediction-coordinator--${topic}`,
  deliveryAttempt: 1,
  pubsubMessageId: undefined,
  publishTime: undefined,
});

async function open(env: Record<string, string> = {}) {
  const clock = new FakeClock('2025-11-29T12:00:00Z');
  const bus = new MemoryMessageBus(clock);
  await bus.subscribe(subscriptionOf('watch-work', 'nba-phase5-prediction-requests'));
  await bus.subscribe(subscriptionOf('watch-done', 'nba-phase5-predictions-complete'));
  const lines: Record<string, unknown>[] = [];
  const entry = await openEntry({
    env: { BATON_COORDINATOR: 'prediction-coordinator', BATON_PIPELINE: join(packageRoot(), 'pipeline.yaml'), GOOGLE_CLOUD_PROJECT: 'demo', ...env },
    backend: { bus, store: new MemoryStateStore(clock) },
    clock,
    fullList: () => Promise.resolve([]),
    writeLog: (line) => lines.push(JSON.parse(line) as Record<string, unknown>),
  });
  return { entry, lines, work: new Watcher(bus, 'watch-work'), done: new Watcher(bus, 'watch-done') };
}

describe('the coordinator and the pipeline hash (#23)', () => {
  it('stamps the hash it runs on the phase completion it publishes', async () => {
    const { entry, work, done } = await open();
    const opened = await entry.handler.deliver(
      delivery(triggerMessage('phase4-complete', { entities: { players: [7] }, incremental: true }), 'nba-phase4-precompute-complete'),
    );
    expect(opened).toMatchObject({ status: 'ack' });
    await work.drain();
    const batchId = (work.unique()[0]?.data as { batch_id?: string } | undefined)?.batch_id ?? '';
    const ready = completion({ member: 'prediction_worker', key: KEY, batchId, entityId: 7 });
    expect(await entry.handler.deliver(delivery(ready, 'nba-phase5-prediction-ready'))).toMatchObject({ status: 'ack' });
    await done.drain();
    const [completed] = done.unique();
    expect(completed?.data as TriggerData).toMatchObject({ emitter: 'prediction-coordinator', reason: 'all_complete', pipeline_hash: entry.pipelineHash });
  });

  it('warns when BATON_PIPELINE_HASH differs from the pipeline it loaded, and answers with both hashes', async () => {
    const { entry, lines } = await open({ BATON_PIPELINE_HASH: '000000000000' });
    expect(lines[0]).toMatchObject({
      severity: 'WARNING',
      baton_event: 'entry.pipeline_hash_mismatch',
      coordinator: 'prediction-coordinator',
      pipeline_hash: entry.pipelineHash,
      deployed_pipeline_hash: '000000000000',
    });
    expect((await entry.handler.tick()).body).toMatchObject({ pipeline_hash: entry.pipelineHash, deployed_pipeline_hash: '000000000000' });
  });

  it('says nothing when the hashes agree', async () => {
    const first = await open();
    const { lines } = await open({ BATON_PIPELINE_HASH: first.entry.pipelineHash });
    expect(lines.some((l) => l.baton_event === 'entry.pipeline_hash_mismatch')).toBe(false);
  });
});
