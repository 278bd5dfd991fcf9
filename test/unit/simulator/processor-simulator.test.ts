import { describe, expect, it } from 'vitest';
import { MemoryMessageBus } from '../../../engine/adapters/memory/memory-message-bus.ts';
import { MemoryStateStore } from '../../../engine/adapters/memory/memory-state-store.ts';
import { runtimeSubscriptions } from '../../../engine/cli/stored-run.ts';
import type { OutgoingMessage } from '../../../engine/ports/message-bus.ts';
import { ENVELOPE_TYPES, parseMessage, validateEnvelope, type CompletionData } from '../../../engine/runtime/envelope.ts';
import { PipelineRuntime } from '../../../engine/runtime/pipeline-runtime.ts';
import { executionIdsOf } from '../../../engine/sdk/execution-ids.ts';
import { ProcessorSimulator } from '../../../engine/simulator/processor-simulator.ts';
import { runSimulation } from '../../../engine/simulator/simulated-run.ts';
import { VirtualClock } from '../../../engine/simulator/virtual-clock.ts';
import { HASH, PIPELINE } from '../sdk/sdk-fixtures.ts';

/** Runs one key on the memory backend; returns every completion the simulated processors published, in order. */
async function simulate(runId: string): Promise<{ topic: string; message: OutgoingMessage }[]> {
  const start = Date.parse('2025-11-30T06:00:00Z');
  const clock = new VirtualClock(start);
  const bus = new MemoryMessageBus(clock);
  const store = new MemoryStateStore(clock);
  const published: { topic: string; message: OutgoingMessage }[] = [];
  const publish = bus.publish.bind(bus);
  bus.publish = (topic, message) => {
    if (message.attributes['ce-type'] === ENVELOPE_TYPES.completion) published.push({ topic, message });
    return publish(topic, message);
  };
  const subscriptions = runtimeSubscriptions(PIPELINE);
  const simulator = new ProcessorSimulator(PIPELINE, bus, clock, subscriptions, { runId, full: false, overrides: {}, pipelineHash: HASH });
  const runtime = new PipelineRuntime({
    pipeline: PIPELINE,
    subscriptions,
    store,
    bus,
    clock,
    fullList: () => () => Promise.resolve(simulator.fullList('players')),
  });
  await runtime.start();
  simulator.startKeys(['2025-11-29']);
  expect(await runSimulation({ pipeline: PIPELINE, runtime, simulator, subscriptions, bus, store, clock, limitAt: start + 48 * 3_600_000 })).toBe('finished');
  return published;
}

describe('simulated processors of baton run', () => {
  it('publish every completion through the SDK: schema-valid, to the processor’s topic, with the SDK’s deterministic ids and the pipeline hash', async () => {
    const published = await simulate('run-sdk-test');
    const names = new Set(published.map(({ message }) => (parseMessage(message).data as CompletionData).processor_name));
    expect([...names].sort()).toEqual(PIPELINE.processors.map((p) => p.name).sort());
    for (const { topic, message } of published) {
      const envelope = parseMessage(message);
      const data = envelope.data as CompletionData;
      expect(validateEnvelope(envelope)).toEqual([]);
      expect(topic).toBe(PIPELINE.processors.find((p) => p.name === data.processor_name)?.publishes.name);
      expect(data.pipeline_hash).toBe(HASH);
      const triggerId = data.trigger_message_id ?? `entry:run-sdk-test:${data.key}`;
      const ids = executionIdsOf(data.processor_name, triggerId);
      expect(data.execution_id).toBe(ids.executionId);
      // Simulated duplicate deliveries repeat the completion under a second message id.
      expect([ids.completionId, `${ids.completionId}:again`]).toContain(message.id);
    }
  });

  it('repeats the same ids and choices for the same run id', async () => {
    const ids = (run: { message: OutgoingMessage }[]) => run.map(({ message }) => `${message.id} ${(parseMessage(message).data as CompletionData).status}`);
    expect(ids(await simulate('run-same'))).toEqual(ids(await simulate('run-same')));
  });
});
