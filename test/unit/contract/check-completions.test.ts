import { describe, expect, it } from 'vitest';
import { loadPipeline } from '../../../engine/config/load-pipeline.ts';
import { packageRoot } from '../../../engine/config/package-root.ts';
import type { ResolvedPipeline } from '../../../engine/config/resolved-pipeline.ts';
import { checkCompletions, type CapturedMessage, type CheckInput, type CheckResult } from '../../../engine/contract/check-completions.ts';
import { exampleCompletion, exampleContext, exampleTrigger } from '../../../engine/contract/example-messages.ts';
import { processorContract, type ProcessorContract } from '../../../engine/contract/processor-contract.ts';
import { publishedAttributes } from '../../../engine/contract/push-body.ts';
import { toMessage, validateEnvelope, type Envelope, type WorkData } from '../../../engine/runtime/envelope.ts';

const loaded = loadPipeline(`${packageRoot()}/pipeline.yaml`);
const pipeline = loaded.pipeline as ResolvedPipeline;
const hash = loaded.hash ?? '';
const context = exampleContext(pipeline, hash);

function contractOf(name: string): ProcessorContract {
  const contract = processorContract(pipeline, name);
  if (contract === undefined) throw new Error(`no processor ${name}`);
  return contract;
}

/** A well-behaved processor's answers to the check's requests, for `name`. */
async function goodInput(name: string): Promise<CheckInput> {
  const contract = contractOf(name);
  const trigger = await exampleTrigger(context, contract.processor);
  const message = toMessage(exampleCompletion(context, contract.processor, { trigger: trigger?.envelope }));
  const completion: CapturedMessage = { topic: contract.publishes, attributes: publishedAttributes(message), data: message.data };
  return {
    contract,
    pipelineHash: hash,
    sent: {
      key: context.key,
      id: trigger?.message.id,
      correlationId: context.correlationId,
      traceparent: trigger?.envelope.traceparent ?? context.traceparent,
      ...workOf(trigger?.envelope),
    },
    trigger: { request: 'trigger', status: 200, published: [completion], publishedBeforeAnswer: 1 },
    duplicate: { request: 'duplicate', status: 200, published: [completion] },
    malformed: [{ request: 'not-json', status: 400, published: [] }],
  };
}

function workOf(trigger: Envelope | undefined): { work?: { batchId: string; entityId: string | number } } {
  if (trigger?.type !== 'dev.baton.work.v1') return {};
  const data = trigger.data as WorkData;
  return { work: { batchId: data.batch_id, entityId: data.entity_id } };
}

function failures(results: readonly CheckResult[]): string[] {
  return results.filter((r) => !r.ok).map((r) => `${r.request}/${r.check}`);
}

/** Rewrites the first completion's data (a JSON object). */
function withData(input: CheckInput, edit: (data: Record<string, unknown>) => void): CheckInput {
  const [first] = input.trigger.published;
  if (first === undefined) throw new Error('no completion');
  const data = JSON.parse(first.data) as Record<string, unknown>;
  edit(data);
  return { ...input, trigger: { ...input.trigger, published: [{ ...first, data: JSON.stringify(data) }] } };
}

function withAttributes(input: CheckInput, edit: (attributes: Record<string, string>) => void): CheckInput {
  const [first] = input.trigger.published;
  if (first === undefined) throw new Error('no completion');
  const attributes = { ...first.attributes };
  edit(attributes);
  return { ...input, trigger: { ...input.trigger, published: [{ ...first, attributes }] } };
}

describe('checkCompletions', () => {
  it.each(['nba_scrapers', 'bdl_injuries', 'player_game_summary', 'ml_feature_store', 'prediction_worker'])(
    'passes every check for the example completion of %s',
    async (name) => {
      expect(failures(checkCompletions(await goodInput(name)))).toEqual([]);
    },
  );

  const cases: [string, (input: CheckInput) => CheckInput, string[]][] = [
    [
      '500 on a good trigger, nothing published',
      (i) => ({ ...i, trigger: { ...i.trigger, status: 500, published: [] } }),
      ['trigger/http', 'trigger/one completion', 'duplicate/no second completion'],
    ],
    [
      'no answer at all',
      (i) => ({ ...i, trigger: { request: 'trigger', status: undefined, error: 'ECONNREFUSED', published: [] } }),
      ['trigger/http', 'trigger/one completion', 'duplicate/no second completion'],
    ],
    [
      'the completion on another topic',
      (i) => ({
        ...i,
        trigger: { ...i.trigger, published: i.trigger.published.map((m) => ({ ...m, topic: 'nba-phase3-trigger' })) },
        duplicate: { ...i.duplicate, published: [] },
      }),
      ['trigger/topic', 'trigger/one completion'],
    ],
    ['a 2xx before the completion reached the topic', (i) => ({ ...i, trigger: { ...i.trigger, publishedBeforeAnswer: 0 } }), ['trigger/ack after publish']],
    ['an unknown data field (completion_pct)', (i) => withData(i, (d) => (d.completion_pct = 100)), ['trigger/no unknown fields']],
    ['an unknown ce- attribute', (i) => withAttributes(i, (a) => (a['ce-correlation_id'] = 'x')), ['trigger/no unknown fields']],
    ['a status outside the enum', (i) => withData(i, (d) => (d.status = 'done')), ['trigger/schema', 'trigger/status']],
    ['no execution id', (i) => withData(i, (d) => delete d.execution_id), ['trigger/schema', 'trigger/execution id', 'duplicate/no second completion']],
    ['a correlation id not carried', (i) => withAttributes(i, (a) => (a['ce-correlationid'] = 'new-run')), ['trigger/correlation id']],
    ['no traceparent', (i) => withAttributes(i, (a) => delete a['ce-traceparent']), ['trigger/traceparent']],
    [
      'a traceparent in a new trace',
      (i) => withAttributes(i, (a) => (a['ce-traceparent'] = '00-11111111111111111111111111111111-2222222222222222-01')),
      ['trigger/traceparent'],
    ],
    ["the trigger's own traceparent", (i) => withAttributes(i, (a) => (a['ce-traceparent'] = i.sent.traceparent)), ['trigger/traceparent']],
    ['no baton_id', (i) => withAttributes(i, (a) => delete a.baton_id), ['trigger/message id']],
    ['a stale pipeline hash', (i) => withData(i, (d) => (d.pipeline_hash = 'abc')), ['trigger/pipeline hash']],
    ['another key', (i) => withData(i, (d) => (d.key = '2025-11-28')), ['trigger/key']],
    ['a processor name of another processor', (i) => withData(i, (d) => (d.processor_name = 'team_offense_game_summary')), ['trigger/processor']],
    ['entities_changed left out where a barrier aggregates them', (i) => withData(i, (d) => (d.metadata = {})), ['trigger/entities_changed']],
    [
      'entities_changed as a list',
      (i) => withData(i, (d) => (d.metadata = { entities_changed: [1, 2], is_incremental: true })),
      ['trigger/schema', 'trigger/entities_changed'],
    ],
    [
      'a second, different completion on the redelivery',
      (i) => {
        const [first] = i.trigger.published;
        if (first === undefined) throw new Error('no completion');
        const data = { ...(JSON.parse(first.data) as object), execution_id: 'exec-other' };
        return {
          ...i,
          duplicate: {
            ...i.duplicate,
            published: [{ ...first, attributes: { ...first.attributes, 'ce-id': 'x', baton_id: 'x' }, data: JSON.stringify(data) }],
          },
        };
      },
      ['duplicate/no second completion'],
    ],
    ['2xx on a malformed body', (i) => ({ ...i, malformed: [{ request: 'not-json', status: 200, published: [] }] }), ['not-json/http']],
    [
      'a completion published for a malformed body',
      (i) => ({ ...i, malformed: [{ request: 'not-json', status: 400, published: i.trigger.published }] }),
      ['not-json/nothing published'],
    ],
  ];

  it.each(cases)('reports %s', async (_title, breakIt, expected) => {
    expect(failures(checkCompletions(breakIt(await goodInput('player_game_summary'))))).toEqual(expected);
  });

  it('accepts the same completion published twice for one delivery, and reports two different ones', async () => {
    const input = await goodInput('bdl_injuries');
    const [completion] = input.trigger.published;
    if (completion === undefined) throw new Error('no completion');
    const twice = { ...input, trigger: { ...input.trigger, published: [completion, completion] } };
    expect(failures(checkCompletions(twice))).toEqual([]);
    const other = { ...completion, attributes: { ...completion.attributes, 'ce-id': 'completion:other', baton_id: 'completion:other' } };
    const results = checkCompletions({ ...input, trigger: { ...input.trigger, published: [completion, other] } });
    expect(failures(results)).toEqual(['trigger/one completion']);
    expect(results.find((r) => r.check === 'one completion')?.detail).toBe('2 different completions on nba-phase2-raw-complete; expected exactly one');
  });

  it('names an unknown field with a did-you-mean', async () => {
    const input = withData(await goodInput('bdl_injuries'), (d) => (d.execution_idd = 'x'));
    const line = checkCompletions(input).find((r) => r.check === 'no unknown fields');
    expect(line?.detail).toBe('unknown field data.execution_idd (did you mean execution_id?)');
  });

  it('requires entities_changed and is_incremental after an incremental trigger, even where no barrier aggregates them', async () => {
    const input = await goodInput('bdl_injuries');
    expect(failures(checkCompletions(input))).toEqual([]);
    const results = checkCompletions({ ...input, sent: { ...input.sent, incremental: { players: [1001, 1007] } } });
    expect(failures(results)).toEqual(['trigger/entities_changed']);
    expect(results.find((r) => r.check === 'entities_changed')?.detail).toBe(
      'metadata.entities_changed and metadata.is_incremental are missing; the trigger asked to redo 2 players incrementally',
    );
  });

  it('requires a coordinator worker to echo the batch and entity of its work', async () => {
    const input = await goodInput('prediction_worker');
    const withWork = { ...input, sent: { ...input.sent, work: { batchId: 'batch:other', entityId: 1001 } } };
    expect(failures(checkCompletions(withWork))).toEqual(['trigger/work item']);
  });
});

describe('exampleCompletion', () => {
  it('validates against schemas/envelope.schema.json for every processor of pipeline.yaml', async () => {
    for (const processor of pipeline.processors) {
      const trigger = await exampleTrigger(context, processor);
      expect(validateEnvelope(exampleCompletion(context, processor, { trigger: trigger?.envelope })), processor.name).toEqual([]);
    }
  });
});
