import { describe, expect, it } from 'vitest';
import { MemoryMessageBus } from '../../../engine/adapters/memory/memory-message-bus.ts';
import { InvalidKeyError } from '../../../engine/runtime/errors.ts';
import { parseMessage, validateEnvelope } from '../../../engine/runtime/envelope.ts';
import { FakeClock } from '../../../engine/runtime/fake-clock.ts';
import { InvalidResultError } from '../../../engine/sdk/invalid-result-error.ts';
import { ProcessorConfigError } from '../../../engine/sdk/processor-config-error.ts';
import { publishCompletion } from '../../../engine/sdk/publish-completion.ts';
import { HASH, KEY, PIPELINE, PIPELINE_FILE } from './sdk-fixtures.ts';

async function busWithWatcher() {
  const clock = new FakeClock('2025-11-29T12:00:00Z');
  const bus = new MemoryMessageBus(clock);
  await bus.subscribe({
    name: 'watch',
    topic: 'nba-phase1-scrapers-complete',
    ackDeadlineMs: 60_000,
    maxDeliveryAttempts: 5,
    minBackoffMs: 1000,
    maxBackoffMs: 8000,
  });
  return { bus, clock };
}

describe('publishCompletion, for processors started outside Pub/Sub', () => {
  it('publishes one schema-valid completion to the topic of the processor’s phase', async () => {
    const { bus, clock } = await busWithWatcher();
    const published = await publishCompletion({
      pipeline: PIPELINE_FILE,
      processor: 'nba_scrapers',
      key: KEY,
      correlationId: 'run-workflow-7',
      status: 'success',
      recordCount: 26,
      runId: 'workflows/scrape/executions/7',
      startedAt: clock.now() - 90_000,
      publisher: bus,
      clock,
    });
    expect(published.topic).toBe('nba-phase1-scrapers-complete');
    const [message] = await bus.pull('watch', 10);
    const envelope = parseMessage(message ?? { id: '', attributes: {}, data: '' });
    expect(validateEnvelope(envelope)).toEqual([]);
    expect(envelope.data).toMatchObject({
      processor_name: 'nba_scrapers',
      status: 'success',
      record_count: 26,
      correlation_id: 'run-workflow-7',
      trigger_source: 'scheduler',
      duration_seconds: 90,
      pipeline_hash: HASH,
    });
  });

  it('gives the same message id when the same run is reported twice, so the barrier counts it once', async () => {
    const { bus } = await busWithWatcher();
    const report = () => publishCompletion({ pipeline: PIPELINE, processor: 'nba_scrapers', key: KEY, status: 'success', runId: 'run-1', publisher: bus });
    const first = await report();
    const second = await report();
    expect(second.envelope.id).toBe(first.envelope.id);
    expect(await bus.pull('watch', 10)).toHaveLength(1);
  });

  it('refuses, before publishing anything, an unknown processor, a wrong topic, a bad key and a misspelled field', async () => {
    const { bus } = await busWithWatcher();
    const base = { pipeline: PIPELINE, processor: 'nba_scrapers', key: KEY, status: 'success' as const, publisher: bus };
    await expect(publishCompletion({ ...base, processor: 'nba_scraper' })).rejects.toThrow(/did you mean "nba_scrapers"\?/);
    await expect(publishCompletion({ ...base, processor: 'nba_scraper' })).rejects.toBeInstanceOf(ProcessorConfigError);
    await expect(publishCompletion({ ...base, topic: 'nba-phase2-raw-complete' })).rejects.toThrow(/publishes to "nba-phase1-scrapers-complete"/);
    await expect(publishCompletion({ ...base, key: '2025-13-01' })).rejects.toBeInstanceOf(InvalidKeyError);
    await expect(publishCompletion({ ...base, ...({ recordcount: 3 } as object) })).rejects.toBeInstanceOf(InvalidResultError);
    expect(await bus.pull('watch', 10)).toHaveLength(0);
  });
});
