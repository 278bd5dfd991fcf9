import { describe, expect, it } from 'vitest';
import { loadPipeline } from '../../../engine/config/load-pipeline.ts';
import type { ResolvedPipeline, ResolvedProcessor } from '../../../engine/config/resolved-pipeline.ts';
import { completionIds, exampleContext, exampleTrigger, triggerOrigin } from '../../../engine/contract/example-messages.ts';
import type { TriggerData } from '../../../engine/runtime/envelope.ts';

const fixture = (name: string): string => new URL(`../../fixtures/${name}`, import.meta.url).pathname;

function load(file: string): { pipeline: ResolvedPipeline; hash: string } {
  const result = loadPipeline(file);
  if (result.pipeline === undefined || result.hash === undefined) throw new Error(`${file} did not load`);
  return { pipeline: result.pipeline, hash: result.hash };
}

function processor(pipeline: ResolvedPipeline, name: string): ResolvedProcessor {
  const found = pipeline.processors.find((p) => p.name === name);
  if (found === undefined) throw new Error(`no processor ${name}`);
  return found;
}

describe('exampleTrigger', () => {
  const { pipeline, hash } = load(fixture('contract/after-coordinator.yaml'));
  const context = exampleContext(pipeline, hash);

  it.each([
    ['exporter', 'entry', undefined],
    ['load_orders', 'completion', 'dev.baton.completion.v1'],
    ['daily_totals', 'barrier', 'dev.baton.trigger.v1'],
    ['store_rank', 'barrier', 'dev.baton.trigger.v1'],
    ['report_writer', 'coordinator', 'dev.baton.work.v1'],
    ['mailer', 'batch', 'dev.baton.trigger.v1'],
  ])('gives %s the trigger its %s origin sends', async (name, kind, type) => {
    expect(triggerOrigin(pipeline, processor(pipeline, name)).kind).toBe(kind);
    expect((await exampleTrigger(context, processor(pipeline, name)))?.envelope.type).toBe(type);
  });

  it("produces a coordinator's batch completion by running every worker's report through it", async () => {
    const trigger = await exampleTrigger(context, processor(pipeline, 'mailer'));
    const data = trigger?.envelope.data as TriggerData;
    expect(trigger?.message.id).toBe('done:batch:report-coordinator:trigger:rolled-up:2025-11-29');
    expect(data).toMatchObject({ emitter: 'report-coordinator', reason: 'all_complete', members_missing: [], pipeline_hash: hash });
  });

  it('addresses a dependency trigger to its processor with baton_target', async () => {
    const trigger = await exampleTrigger(context, processor(pipeline, 'store_rank'));
    expect(trigger?.message.attributes.baton_target).toBe('store_rank');
    expect((trigger?.envelope.data as TriggerData).target).toBe('store_rank');
  });
});

describe('completionIds', () => {
  it('derives the same ids from the same trigger, and different ids from another', () => {
    expect(completionIds('p', '2025-11-29', 'trigger:b:2025-11-29')).toEqual(completionIds('p', '2025-11-29', 'trigger:b:2025-11-29'));
    expect(completionIds('p', '2025-11-29', 'trigger:b:2025-11-29').executionId).not.toBe(completionIds('p', '2025-11-29', 'other').executionId);
    expect(completionIds('p', '2025-11-29', 'x').messageId).toMatch(/^completion:p:2025-11-29:exec-[0-9a-f]{16}$/);
  });
});
