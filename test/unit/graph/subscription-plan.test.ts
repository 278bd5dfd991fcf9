import { describe, expect, it } from 'vitest';
import { filterExpression } from '../../../engine/adapters/gcp/pubsub-admin.ts';
import { loadPipeline } from '../../../engine/config/load-pipeline.ts';
import { planSubscriptions } from '../../../engine/graph/subscription-plan.ts';

const files = ['../../../pipeline.yaml', '../../fixtures/valid/minimal.yaml', '../../fixtures/generate/small/pipeline.yaml'];

describe('the subscription plan', () => {
  it.each(files)('agrees with the graph (which the manifests render) on every subscription, topic and filter: %s', (file) => {
    const result = loadPipeline(new URL(file, import.meta.url).pathname);
    const fromGraph: string[] = [];
    result.graph?.graph.forEachNode((_key, a) => {
      if (a.kind === 'subscription') fromGraph.push(`${a.name} ${a.topic ?? ''} ${a.filter ?? '-'}`);
    });
    const fromPlan = planSubscriptions(result.pipeline!).map((p) => `${p.name} ${p.topic} ${filterExpression(p.filter) ?? '-'}`);
    expect(fromPlan.sort()).toEqual(fromGraph.sort());
    expect(fromPlan.length).toBeGreaterThan(3);
  });

  it('gives each processor its own settings and every barrier and coordinator the defaults', () => {
    const pipeline = loadPipeline(new URL(files[0] ?? '', import.meta.url).pathname).pipeline!;
    for (const planned of planSubscriptions(pipeline)) {
      const expected =
        planned.role === 'processor' ? pipeline.processors.find((p) => p.name === planned.consumer)?.subscription : pipeline.subscriptionDefaults;
      expect(planned.settings).toBe(expected);
      expect(planned.deadLetterTopic).toBe(`${planned.topic}-dlq`);
    }
  });
});
