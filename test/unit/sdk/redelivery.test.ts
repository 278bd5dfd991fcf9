import { describe, expect, it } from 'vitest';
import { executionIdsOf } from '../../../engine/sdk/execution-ids.ts';
import { MemoryExecutionStore } from '../../../engine/sdk/memory-execution-store.ts';
import { completionMessage, post, pushBody, setup } from './sdk-fixtures.ts';

describe('redelivery is absorbed', () => {
  it('runs handle once for a trigger delivered twice, and answers the second with the first completion id', async () => {
    const { processor, calls, published } = await setup('bdl_injuries');
    const message = completionMessage('nba_scrapers');
    const first = await processor.handle(post(pushBody(message, 1)));
    const second = await processor.handle(post(pushBody(message, 2)));
    expect(calls).toHaveLength(1);
    expect(first.body.status).toBe('completed');
    expect(second.body).toMatchObject({ status: 'duplicate', completionId: (first.body.completion as { id: string }).id });
    expect(await published()).toHaveLength(1);
  });

  it('shares one execution between two concurrent deliveries of the same trigger', async () => {
    const { processor, calls, published } = await setup('bdl_injuries', async () => {
      await new Promise((resolve) => setTimeout(resolve, 10));
      return { status: 'success' };
    });
    const message = completionMessage('nba_scrapers');
    const replies = await Promise.all([processor.handle(post(pushBody(message))), processor.handle(post(pushBody(message)))]);
    expect(replies.map((r) => r.status)).toEqual([200, 200]);
    expect(calls).toHaveLength(1);
    expect(await published()).toHaveLength(1);
  });

  it('after a restart (its memory lost) redoes the work but publishes the same message id, which the bus absorbs', async () => {
    const message = completionMessage('nba_scrapers');
    const before = await setup('bdl_injuries');
    const first = await before.processor.deliver(message);
    // A new instance: fresh execution memory, same bus.
    const after = await setup('bdl_injuries', undefined, { publisher: before.bus, executions: new MemoryExecutionStore() });
    const again = await after.processor.deliver(message);
    expect(after.calls).toHaveLength(1);
    expect(first.status === 'completed' && again.status === 'completed').toBe(true);
    if (first.status !== 'completed' || again.status !== 'completed') return;
    expect(again.completion.id).toBe(first.completion.id);
    expect(again.executionId).toBe(first.executionId);
    expect(await before.published()).toHaveLength(1);
  });

  it('derives execution ids from the processor and the trigger id only', () => {
    expect(executionIdsOf('bdl_injuries', 't-1')).toEqual(executionIdsOf('bdl_injuries', 't-1'));
    expect(executionIdsOf('bdl_injuries', 't-1').executionId).not.toBe(executionIdsOf('bdl_injuries', 't-2').executionId);
    expect(executionIdsOf('bdl_injuries', 't-1').completionId).not.toBe(executionIdsOf('espn_boxscores', 't-1').completionId);
  });

  it('runs a trigger again once a bounded memory has forgotten it (still the same completion id)', async () => {
    const { processor, calls } = await setup('bdl_injuries', undefined, { executions: new MemoryExecutionStore(1) });
    const a = completionMessage('nba_scrapers', 'completion:nba_scrapers:a');
    const b = completionMessage('nba_scrapers', 'completion:nba_scrapers:b');
    const first = await processor.deliver(a);
    await processor.deliver(b);
    const again = await processor.deliver(a);
    expect(calls).toHaveLength(3);
    expect(again.status === 'completed' && first.status === 'completed' && again.completion.id === first.completion.id).toBe(true);
  });

  it('answers 500 without running the work when the execution store cannot be read', async () => {
    const executions = { get: () => Promise.reject(new Error('redis: connection refused')), set: () => Promise.resolve() };
    const { processor, calls, published } = await setup('bdl_injuries', undefined, { executions });
    expect((await processor.deliver(completionMessage('nba_scrapers'))).status).toBe('retry');
    expect(calls).toHaveLength(0);
    expect(await published()).toHaveLength(0);
  });

  it('still acks when the completion is out but the execution store cannot remember it, with a WARNING', async () => {
    const executions = { get: () => Promise.resolve(undefined), set: () => Promise.reject(new Error('redis: timeout')) };
    const { processor, published, lines } = await setup('bdl_injuries', undefined, { executions });
    expect((await processor.deliver(completionMessage('nba_scrapers'))).status).toBe('completed');
    expect(await published()).toHaveLength(1);
    expect(lines.find((l) => l.baton_event === 'processor.execution_store_failed')?.severity).toBe('WARNING');
  });
});
