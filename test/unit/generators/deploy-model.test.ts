import { describe, expect, it } from 'vitest';
import { loadPipeline } from '../../../engine/config/load-pipeline.ts';
import { buildDeployModel } from '../../../generators/deploy-model.ts';
import { fixturePath, NBA_PIPELINE } from './generate-fixture.ts';

/** What the rehearsal reads from the deploy model: ticks, invokers, DLQ grants, OIDC, package. */
describe('the deploy model of the NBA pipeline', () => {
  const model = buildDeployModel(loadPipeline(NBA_PIPELINE));

  it('ticks the coordinator often enough for its stall policy (10 min), with the body its /tick handler reads', () => {
    const coordinator = model.coordinators.find((c) => c.name === 'prediction-coordinator');
    expect(coordinator?.tick).toEqual({
      job: 'baton-tick-prediction-coordinator',
      tfId: 'tick-prediction-coordinator',
      schedule: '* * * * *',
      timeZone: 'Etc/UTC',
      path: '/tick',
      body: '{"coordinator":"prediction-coordinator"}',
      invoker: 'pubsub-invoker',
      target: { kind: 'coordinator', name: 'prediction-coordinator', tfId: 'prediction-coordinator' },
      purpose: expect.stringContaining('stall policy') as unknown,
    });
  });

  it('ticks every barrier, with or without deadlines (a decided-but-unpublished trigger is only re-published by a tick)', () => {
    for (const barrier of model.barriers) {
      expect(barrier.tick.body).toBe(JSON.stringify({ barrier: barrier.name }));
      expect(barrier.tick.target).toEqual({ kind: 'function', name: barrier.function, tfId: barrier.tfId });
      const invoker = model.invokers.find((i) => i.accountId === barrier.tick.invoker);
      expect(invoker?.targets, barrier.name).toContainEqual(barrier.tick.target);
    }
  });

  it('grants barriers and coordinators publish on the dead-letter topics of what they consume, and processors none', () => {
    for (const account of model.serviceAccounts) {
      const consumed = model.subscriptions.filter((s) => s.consumer === account.component && s.deadLetter).map((s) => s.deadLetter?.name);
      expect(account.deadLetterPublishes, account.component).toEqual(account.kind === 'processor' ? [] : [...new Set(consumed)].sort());
    }
    expect(model.serviceAccounts.find((a) => a.component === 'phase2-to-phase3')?.deadLetterPublishes).toEqual(['nba-phase2-raw-complete-dlq']);
  });

  it('names every invoker of a component in its OIDC settings', () => {
    for (const component of [...model.barriers, ...model.coordinators]) {
      const target = component.tick.target;
      const callers = model.invokers.filter((i) => i.targets.some((t) => t.kind === target.kind && t.name === target.name)).map((i) => i.accountId);
      expect(component.oidc).toEqual({ service: target.name, invokers: callers.sort() });
    }
  });

  it('describes the package, the prerequisites and the ingress', () => {
    expect(model.package).toEqual({ zipVariable: 'baton_package_zip', defaultZip: '../../dist/baton-functions.zip', objectPrefix: 'baton-functions-' });
    expect(model.prerequisites.apis).toContain('cloudscheduler.googleapis.com');
    expect(model.prerequisites.apis).not.toContain('cloudkms.googleapis.com');
    expect(model.ingress).toEqual({ function: 'ALLOW_INTERNAL_ONLY', service: 'INGRESS_TRAFFIC_INTERNAL_ONLY' });
  });
});

describe('the deploy model of a topic with a customer-managed key', () => {
  it('carries the key and needs the Cloud KMS API', () => {
    const model = buildDeployModel(loadPipeline(fixturePath('small/pipeline.yaml')));
    expect(model.topics.find((t) => t.name === 'orders-landed')?.kmsKey).toBe('projects/tiny-shop-prod/locations/europe-west1/keyRings/shop/cryptoKeys/orders');
    expect(model.topics.find((t) => t.name === 'tables-loaded')?.kmsKey).toBeUndefined();
    expect(model.prerequisites.apis).toContain('cloudkms.googleapis.com');
  });
});
