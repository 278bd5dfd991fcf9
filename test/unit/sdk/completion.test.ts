import { describe, expect, it } from 'vitest';
import { traceIdOf, validateEnvelope } from '../../../engine/runtime/envelope.ts';
import { createProcessor } from '../../../engine/sdk/create-processor.ts';
import { ProcessorConfigError } from '../../../engine/sdk/processor-config-error.ts';
import {
  CORRELATION,
  HASH,
  KEY,
  PIPELINE,
  PIPELINE_FILE,
  post,
  pushBody,
  setup,
  TRACEPARENT,
  triggerMessage,
  workMessage,
  completionMessage,
} from './sdk-fixtures.ts';

describe('the one completion', () => {
  it('publishes exactly one schema-valid completion to the topic pipeline.yaml names, with every field carried or derived', async () => {
    const { processor, published, topic, calls } = await setup('player_game_summary', (ctx) => {
      ctx.logger.info('summarising');
      return { status: 'partial', entitiesChanged: { players: [3, 1] }, isIncremental: true, recordCount: 2, recordsFailed: 1, metadata: { source_rows: 40 } };
    });
    const trigger = triggerMessage('phase2-to-phase3');
    const reply = await processor.handle(post(pushBody(trigger)));
    expect(reply.status).toBe(200);
    expect(topic).toBe('nba-phase3-analytics-complete');
    const all = await published();
    expect(all).toHaveLength(1);
    const [completion] = all;
    if (completion === undefined) return;
    expect(validateEnvelope(completion)).toEqual([]);
    expect(completion.subject).toBe(KEY);
    expect(completion.correlationid).toBe(CORRELATION);
    expect(completion.source).toBe('//baton/nba-props/processors/player_game_summary');
    expect(traceIdOf(completion.traceparent)).toBe(traceIdOf(TRACEPARENT));
    expect(completion.traceparent).not.toBe(TRACEPARENT);
    expect(completion.traceparent).not.toBe(calls[0]?.traceparent);
    expect(traceIdOf(calls[0]?.traceparent)).toBe(traceIdOf(TRACEPARENT));
    expect(completion.data).toMatchObject({
      processor_name: 'player_game_summary',
      phase: 'analytics',
      execution_id: calls[0]?.executionId,
      correlation_id: CORRELATION,
      key: KEY,
      status: 'partial',
      record_count: 2,
      records_failed: 1,
      trigger_source: 'pubsub',
      trigger_message_id: trigger.id,
      parent_processor: 'phase2-to-phase3',
      pipeline_hash: HASH,
      metadata: { source_rows: 40, entities_changed: { players: [3, 1] }, is_incremental: true },
    });
  });

  it('stamps the execution context on every line the handler logs', async () => {
    const { processor, lines, calls } = await setup('player_game_summary', (ctx) => {
      ctx.logger.info('summarising', { rows: 40 });
      return { status: 'success' };
    });
    await processor.deliver(triggerMessage('phase2-to-phase3'));
    const line = lines.find((l) => l.message === 'summarising');
    expect(line).toMatchObject({
      severity: 'INFO',
      processor: 'player_game_summary',
      key: KEY,
      correlation_id: CORRELATION,
      execution_id: calls[0]?.executionId,
      traceparent: calls[0]?.traceparent,
      rows: 40,
    });
  });

  it('starts an entry-phase processor from an entry message and reports it as started by a scheduler', async () => {
    const { processor, published, calls } = await setup('nba_scrapers');
    const entry = { id: 'sched-2025-11-28', attributes: {}, data: JSON.stringify({ key: KEY, correlation_id: 'run-from-scheduler', scraper: 'injuries' }) };
    const reply = await processor.handle(post(pushBody(entry)));
    expect(reply.status).toBe(200);
    expect(calls[0]).toMatchObject({ key: KEY, correlationId: 'run-from-scheduler', entities: { incremental: false } });
    expect(calls[0]?.trigger).toMatchObject({ type: 'entry', data: { scraper: 'injuries' } });
    const [completion] = await published();
    expect(completion?.data).toMatchObject({ trigger_source: 'scheduler', correlation_id: 'run-from-scheduler', phase: 'scrapers' });
    expect(completion?.data.trigger_message_id).toBeUndefined();
  });

  it('takes a direct POST of an entry message (no push wrapper), and answers 400 to a bad key there', async () => {
    const { processor, published } = await setup('nba_scrapers');
    expect((await processor.handle(post(JSON.stringify({ key: KEY, id: 'workflow-run-1' })))).status).toBe(200);
    expect((await processor.handle(post(JSON.stringify({ key: 'yesterday' })))).status).toBe(400);
    expect(await published()).toHaveLength(1);
  });

  it('runs the same entry request sent twice without an id once (one execution per key and correlation id), and a new correlation id again', async () => {
    const { processor, calls, published } = await setup('nba_scrapers');
    const request = JSON.stringify({ key: KEY, correlation_id: 'nightly-1' });
    expect((await processor.handle(post(request))).status).toBe(200);
    expect((await processor.handle(post(request))).status).toBe(200);
    expect(calls).toHaveLength(1);
    expect(await published()).toHaveLength(1);
    expect((await processor.handle(post(JSON.stringify({ key: KEY, correlation_id: 'rerun-2' })))).status).toBe(200);
    expect(calls).toHaveLength(2);
  });

  it('refuses an entry message without a key, naming the field it needs', async () => {
    const { processor, calls } = await setup('nba_scrapers');
    const reply = await processor.handle(post(pushBody({ id: 'x', attributes: {}, data: '{"game_date":"2025-11-28"}' })));
    expect(reply.body).toMatchObject({ status: 'rejected' });
    expect(String(reply.body.reason)).toMatch(/needs "key"/);
    expect(calls).toHaveLength(0);
  });
});

describe('entities to process', () => {
  it('gives the changed entities of an incremental, entity-aware trigger', async () => {
    const { processor, calls } = await setup('team_defense_zone_analysis');
    expect(processor.binding.entityAware).toBe(true);
    await processor.deliver(triggerMessage('phase3-to-phase4', { entities: { players: [7, 9], teams: [2] }, incremental: true }));
    expect(calls[0]?.entities).toEqual({ incremental: true, changed: { players: [7, 9], teams: [2] } });
  });

  it('asks for everything when the trigger is not incremental', async () => {
    const { processor, calls } = await setup('team_defense_zone_analysis');
    await processor.deliver(triggerMessage('phase3-to-phase4', { entities: { players: [7] }, incremental: false }));
    expect(calls[0]?.entities).toEqual({ incremental: false });
  });

  it('gives a prediction worker its one entity and reports the batch and entity in the completion', async () => {
    const { processor, calls, published } = await setup('prediction_worker', () => ({ status: 'success', recordCount: 1 }));
    await processor.deliver(workMessage(203999));
    expect(calls[0]?.entities).toEqual({ incremental: true, changed: { players: [203999] } });
    const [completion] = await published();
    expect(completion?.data).toMatchObject({ batch_id: 'batch-1', entity_id: 203999, parent_processor: 'prediction-coordinator', phase: 'predictions' });
  });
});

describe('start-up checks derived from pipeline.yaml', () => {
  const handle = () => ({ status: 'success' as const });

  it('refuses an unknown processor name with a did-you-mean', () => {
    expect(() => createProcessor({ pipeline: PIPELINE, name: 'bdl_injurys', handle })).toThrow(
      new ProcessorConfigError('"bdl_injurys" is not a processor of pipeline nba-props; did you mean "bdl_injuries"?'),
    );
  });

  it('refuses a topic that is not the one the processor publishes to, with a did-you-mean', () => {
    expect(() => createProcessor({ pipeline: PIPELINE_FILE, name: 'player_game_summary', topic: 'nba-phase3-analytcs-complete', handle })).toThrow(
      /publishes to "nba-phase3-analytics-complete" \(phases\.analytics\.publishes\), not "nba-phase3-analytcs-complete"; did you mean "nba-phase3-analytics-complete"\?/,
    );
  });

  it('loads pipeline.yaml from a path, hashes it and binds topics from the graph', () => {
    const processor = createProcessor({ pipeline: PIPELINE_FILE, name: 'bdl_injuries', handle, env: {} });
    expect(processor.binding).toMatchObject({
      pipelineHash: HASH,
      triggerTopic: 'nba-phase1-scrapers-complete',
      publishes: 'nba-phase2-raw-complete',
      entry: false,
      accepts: ['dev.baton.completion.v1'],
      addressed: false,
    });
  });

  it('refuses a pipeline file that does not load, naming the problem', () => {
    expect(() => createProcessor({ pipeline: '/nonexistent/pipeline.yaml', name: 'bdl_injuries', handle })).toThrow(ProcessorConfigError);
  });

  it('accepts a raw processor completion whose upstream said nothing about entities as a full run', async () => {
    const { processor, calls } = await setup('bdl_injuries');
    await processor.deliver(completionMessage('nba_scrapers'));
    expect(calls[0]?.entities).toEqual({ incremental: false });
    expect(calls[0]?.trigger.parent).toBe('nba_scrapers');
  });
});
