import { describe, expect, it } from 'vitest';
import { loadPipeline } from '../../../engine/config/load-pipeline.ts';
import { classify } from '../../../engine/rehearsal/grpc-guard.ts';
import { IamPolicy } from '../../../engine/rehearsal/iam-policy.ts';
import { compileFilter } from '../../../engine/rehearsal/pubsub-filter.ts';
import { tickRoutes } from '../../../engine/rehearsal/rehearse.ts';
import { cronPeriodMs } from '../../../engine/rehearsal/scheduler-timers.ts';
import { ScaledClock } from '../../../engine/runtime/scaled-clock.ts';
import { buildDeployModel } from '../../../generators/deploy-model.ts';

const model = buildDeployModel(loadPipeline(new URL('../../../pipeline.yaml', import.meta.url).pathname));
const policy = new IamPolicy(model);

/** A protobuf message whose field 1 is `text` (what every Pub/Sub request starts with). */
function field1(text: string, rest: number[] = []): Buffer {
  const bytes = Buffer.from(text, 'utf8');
  return Buffer.from([0x0a, bytes.length, ...bytes, ...rest]);
}

describe('the rehearsal IAM policy, read from the rendered bindings', () => {
  it('lets a processor publish to exactly its completion topic and names the binding it lacks elsewhere', () => {
    expect(policy.check('bdl-injuries', { kind: 'publish', topic: 'nba-phase2-raw-complete' })).toEqual({ allowed: true });
    expect(policy.check('bdl-injuries', { kind: 'publish', topic: 'nba-phase3-trigger' })).toEqual({
      allowed: false,
      missing: 'roles/pubsub.publisher on topic nba-phase3-trigger for serviceAccount:bdl-injuries',
    });
  });

  it('lets a barrier dead-letter poison to the dead-letter topic of what it consumes, and keep state in Firestore', () => {
    expect(policy.check('phase2-to-phase3', { kind: 'publish', topic: 'nba-phase2-raw-complete-dlq' })).toEqual({ allowed: true });
    expect(policy.check('phase2-to-phase3', { kind: 'firestore', rpc: 'google.firestore.v1.Firestore/Commit' })).toEqual({ allowed: true });
  });

  it('denies Firestore to processors and topic creation to everyone', () => {
    expect(policy.check('bdl-injuries', { kind: 'firestore', rpc: 'google.firestore.v1.Firestore/Commit' }).allowed).toBe(false);
    const create = policy.check('phase2-to-phase3', { kind: 'other', rpc: 'google.pubsub.v1.Publisher/CreateTopic', resource: 'projects/p/topics/x' });
    expect(create.allowed).toBe(false);
  });

  it('lets the push invoker call exactly the targets it holds run.invoker on', () => {
    const barrier = model.barriers.find((b) => b.name === 'phase2-to-phase3');
    expect(policy.check('pubsub-invoker', { kind: 'invoke', target: barrier!.tick.target })).toEqual({ allowed: true });
    expect(policy.check('bdl-injuries', { kind: 'invoke', target: barrier!.tick.target }).allowed).toBe(false);
  });
});

describe('classify: what a gRPC call asks IAM for', () => {
  it.each([
    [
      '/google.pubsub.v1.Publisher/Publish',
      field1('projects/p/topics/nba-phase2-raw-complete', [0x12, 0x00]),
      { kind: 'publish', topic: 'nba-phase2-raw-complete' },
    ],
    ['/google.pubsub.v1.Subscriber/StreamingPull', field1('projects/p/subscriptions/s-1'), { kind: 'consume', subscription: 's-1', rpc: 'StreamingPull' }],
    ['/google.pubsub.v1.Subscriber/Acknowledge', field1('projects/p/subscriptions/s-1'), { kind: 'consume', subscription: 's-1', rpc: 'Acknowledge' }],
    ['/google.firestore.v1.Firestore/BatchGetDocuments', undefined, { kind: 'firestore', rpc: 'google.firestore.v1.Firestore/BatchGetDocuments' }],
    [
      '/google.pubsub.v1.Publisher/GetTopic',
      field1('projects/p/topics/t'),
      { kind: 'other', rpc: 'google.pubsub.v1.Publisher/GetTopic', resource: 'projects/p/topics/t' },
    ],
  ])('%s', (path, message, expected) => {
    expect(classify(path, message)).toEqual(expected);
  });
});

describe('compileFilter: the rendered subscription filters, evaluated as Pub/Sub would', () => {
  it('matches an addressed dependency trigger only at its target, and an unaddressed one only without the attribute', () => {
    const addressed = compileFilter('attributes.baton_target = "player_composite_factors"');
    expect(addressed({ baton_target: 'player_composite_factors' })).toBe(true);
    expect(addressed({ baton_target: 'ml_feature_store' })).toBe(false);
    const plain = compileFilter('NOT attributes:baton_target');
    expect(plain({})).toBe(true);
    expect(plain({ baton_target: 'x' })).toBe(false);
  });

  it('refuses a filter it cannot evaluate instead of letting everything through', () => {
    expect(() => compileFilter('hasPrefix(attributes.x, "a")')).toThrow(/cannot evaluate the subscription filter/);
  });

  it('evaluates every filter the NBA manifests render', () => {
    for (const subscription of model.subscriptions) if (subscription.filter !== undefined) expect(() => compileFilter(subscription.filter!)).not.toThrow();
  });
});

describe('scheduler timers', () => {
  it('reads the schedules Baton renders and refuses others', () => {
    expect(cronPeriodMs('* * * * *')).toBe(60_000);
    expect(cronPeriodMs('*/5 * * * *')).toBe(300_000);
    expect(() => cronPeriodMs('0 3 * * *')).toThrow(/every-N-minutes/);
  });

  it('gives every barrier and coordinator of the model a tick job with its rendered body and invoker', () => {
    const routes = tickRoutes(model);
    expect(routes.map((r) => r.component).sort()).toEqual([...model.barriers.map((b) => b.name), ...model.coordinators.map((c) => c.name)].sort());
    expect(routes.find((r) => r.component === 'prediction-coordinator')).toMatchObject({ body: '{"coordinator":"prediction-coordinator"}', path: '/tick' });
  });
});

describe('ScaledClock', () => {
  it('runs speed times faster than the wall clock from its origins, and survives the environment round trip', () => {
    let real = 1_000;
    const clock = new ScaledClock(60, 5_000_000, 1_000, () => real);
    real += 1_000;
    expect(clock.now()).toBe(5_060_000);
    expect(clock.realMs(3_600_000)).toBe(60_000);
    expect(ScaledClock.fromEnv(clock.toEnv())).toMatchObject({ speed: 60, simulatedOrigin: 5_000_000, realOrigin: 1_000 });
    expect(ScaledClock.fromEnv('scaled:0:1:1')).toBeUndefined();
  });
});
