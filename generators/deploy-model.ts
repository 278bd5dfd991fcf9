import { holdSubscriptionName } from '../engine/config/conventions.ts';
import type { LoadResult } from '../engine/config/load-pipeline.ts';
import type { ResolvedPipeline } from '../engine/config/resolved-pipeline.ts';
import { describeBarrier, describeCoordinator, describeTierRequirement } from '../engine/graph/describe.ts';
import { publishersOf } from '../engine/graph/queries.ts';
import { planSubscriptions, type PlannedSubscription } from '../engine/graph/subscription-plan.ts';
import { filterExpression } from '../engine/ports/message-bus.ts';
import { labelValue, tfId } from './escape.ts';
import { serviceAccountId } from './service-account-id.ts';
import { buildAlerts, completionAbsenceWindow } from './alerts.ts';
import { STATE_LAYOUT } from './state-layout.ts';
import {
  REQUIRED_APIS,
  type BarrierModel,
  type ComponentKind,
  type CoordinatorModel,
  type DeployModel,
  type InvokerModel,
  type OidcModel,
  type PushTarget,
  type ServiceAccountModel,
  type SubscriptionModel,
  type TickModel,
  type TopicModel,
} from './deploy-model-types.ts';

// The model's types live in deploy-model-types.ts; importers read them from here as before.
export { REQUIRED_APIS } from './deploy-model-types.ts';
export type {
  AlertModel,
  ComponentKind,
  PushTarget,
  TopicModel,
  SubscriptionModel,
  ServiceAccountModel,
  InvokerModel,
  TickModel,
  OidcModel,
  BarrierModel,
  CoordinatorModel,
  PackageModel,
  PrerequisitesModel,
  DeployModel,
} from './deploy-model-types.ts';

const byName = <T extends { readonly name: string }>(a: T, b: T): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
const unique = (values: Iterable<string>): string[] => [...new Set(values)].sort();

/** Builds the deploy model from a loaded pipeline; throws when the pipeline did not load (check diagnostics first). */
export function buildDeployModel(result: LoadResult): DeployModel {
  return deployModelOf(deploySourceOf(result));
}

/**
 * What the deploy model reads from a loaded pipeline: the resolved pipeline, its hash, and the one
 * thing it asks the graph — who publishes each topic. Holding this instead of the `LoadResult` lets the
 * graph go before the model is built (at 30,000 processors the graph is ~70 MB and the model ~40 MB).
 */
export interface DeploySource {
  readonly pipeline: ResolvedPipeline;
  readonly hash: string;
  /** Names of the components publishing to each topic, as the graph's `publishes` edges say. */
  readonly publishers: ReadonlyMap<string, readonly string[]>;
}

/** The deploy model's source of a loaded pipeline; throws when the pipeline did not load (check diagnostics first). */
export function deploySourceOf(result: LoadResult): DeploySource {
  const { pipeline, graph, hash } = result;
  if (!pipeline || !graph || hash === undefined) throw new Error(`${result.file} did not load; fix its diagnostics before generating`);
  return { pipeline, hash, publishers: new Map(pipeline.topics.map((topic) => [topic.name, publishersOf(graph, topic.name)])) };
}

/** Builds the deploy model from its source (see `DeploySource`). */
export function deployModelOf(source: DeploySource): DeployModel {
  const { pipeline, hash } = source;
  const defaults = pipeline.subscriptionDefaults;
  // Pushes Baton owns are signed by the default invoker; a pipeline without one gets its own.
  const fallbackInvoker = defaults.invoker ?? serviceAccountId(`${pipeline.name}-invoker`);

  const processors = new Map(pipeline.processors.map((p) => [p.name, p]));
  const barriers = new Map(pipeline.barriers.map((b) => [b.name, b]));
  const coordinators = new Map(pipeline.coordinators.map((c) => [c.name, c]));
  const kindOf = (name: string): ComponentKind => (processors.has(name) ? 'processor' : barriers.has(name) ? 'barrier' : 'coordinator');
  const targetOf = (name: string): PushTarget => {
    const processor = processors.get(name);
    if (processor) return { kind: 'service', name: processor.service, tfId: tfId(processor.service) };
    const barrier = barriers.get(name);
    if (barrier) return { kind: 'function', name: barrier.function, tfId: tfId(barrier.function) };
    const service = coordinators.get(name)?.service ?? name;
    return { kind: 'coordinator', name: service, tfId: tfId(service) };
  };

  // The subscriptions the runtime and provisioning use (one plan, #6, #18), grouped by topic once.
  const planned = planSubscriptions(pipeline);
  const plannedOn = new Map<string, PlannedSubscription[]>();
  for (const s of planned) {
    const list = plannedOn.get(s.topic);
    if (list === undefined) plannedOn.set(s.topic, [s]);
    else list.push(s);
  }

  const topics: TopicModel[] = pipeline.topics.map((topic) => {
    const publishers = unique(source.publishers.get(topic.name) ?? []);
    const subscribers = unique((plannedOn.get(topic.name) ?? []).map((s) => s.consumer));
    return {
      name: topic.name,
      tfId: tfId(topic.name),
      description: topic.description,
      kmsKey: topic.kmsKey,
      publishers,
      subscribers,
      externalPublishers: topic.externalPublishers,
      externalConsumers: topic.externalConsumers,
      deadLetter: topic.deadLetter.enabled
        ? {
            name: topic.deadLetter.topic,
            tfId: tfId(topic.deadLetter.topic),
            holdSubscription: holdSubscriptionName(topic.deadLetter.topic),
            holdTfId: tfId(holdSubscriptionName(topic.deadLetter.topic)),
          }
        : undefined,
      deadLetterDisabledReason: topic.deadLetter.enabled ? undefined : (topic.deadLetter.reason ?? ''),
      // The final output (#25): a barrier or coordinator publishes it and no subscription reads it.
      terminal: subscribers.length === 0 && publishers.some((p) => barriers.has(p) || coordinators.has(p)),
    };
  });
  topics.sort(byName);
  const topicByName = new Map(topics.map((t) => [t.name, t]));

  const subscriptions: SubscriptionModel[] = pipeline.topics
    .flatMap((topic) => plannedOn.get(topic.name) ?? [])
    .map(({ name, topic, consumer, filter, settings }) => {
      const invoker = settings.invoker ?? fallbackInvoker;
      const dlq = topicByName.get(topic)?.deadLetter;
      return {
        name,
        tfId: tfId(name),
        topic,
        topicTfId: tfId(topic),
        consumer,
        consumerKind: kindOf(consumer),
        filter: filterExpression(filter),
        settings,
        push: settings.delivery === 'push' ? { target: targetOf(consumer), invoker } : undefined,
        deadLetter: dlq ? { name: dlq.name, tfId: dlq.tfId } : undefined,
        stuckAfterSeconds: settings.deadLetterAfterAttempts * (settings.ackDeadlineSeconds + settings.maxBackoffSeconds),
      };
    })
    .sort(byName);

  const publishes = new Map<string, Set<string>>();
  for (const topic of topics) for (const p of topic.publishers) publishes.set(p, (publishes.get(p) ?? new Set()).add(topic.name));
  // Index the subscriptions by consumer once: a lookup per component keeps the model linear in processors.
  const consumed = new Map<string, SubscriptionModel[]>();
  for (const s of subscriptions) {
    const list = consumed.get(s.consumer);
    if (list === undefined) consumed.set(s.consumer, [s]);
    else list.push(s);
  }
  const pulls = (component: string): string[] => (consumed.get(component) ?? []).filter((s) => !s.push).map((s) => s.name);
  // Baton's own handler (barriers, coordinators) republishes poison messages to the consumed topic's DLQ itself.
  const deadLetterPublishes = (component: string, kind: ComponentKind): string[] =>
    kind === 'processor' ? [] : unique((consumed.get(component) ?? []).flatMap((s) => (s.deadLetter ? [s.deadLetter.name] : [])));
  const account = (component: string, kind: ComponentKind, description: string): ServiceAccountModel => {
    const accountId = serviceAccountId(component);
    return {
      component,
      kind,
      accountId,
      tfId: tfId(accountId),
      description,
      publishes: unique(publishes.get(component) ?? []),
      deadLetterPublishes: deadLetterPublishes(component, kind),
      stateful: kind !== 'processor',
      pulls: pulls(component),
    };
  };
  const serviceAccounts = [
    ...pipeline.processors.map((p) => account(p.name, 'processor', p.description)),
    ...pipeline.barriers.map((b) => account(b.name, 'barrier', b.description)),
    ...pipeline.coordinators.map((c) => account(c.name, 'coordinator', c.description)),
  ].sort((a, b) => (a.accountId < b.accountId ? -1 : 1));

  // The invoker of a component's first push subscription (by name), indexed once.
  const pushInvoker = new Map<string, string>();
  for (const s of subscriptions) if (s.push && !pushInvoker.has(s.consumer)) pushInvoker.set(s.consumer, s.push.invoker);
  const invokerOf = (component: string): string => pushInvoker.get(component) ?? fallbackInvoker;
  // Every 5 minutes, or every minute when a deadline or stall window is 20 minutes or less (#15).
  const scheduleFor = (shortestMs: number): string => (shortestMs <= 20 * 60_000 ? '* * * * *' : '*/5 * * * *');
  const tickOf = (kind: 'barrier' | 'coordinator', name: string, shortestMs: number, purpose: string): TickModel => {
    const target = targetOf(name);
    return {
      job: `baton-tick-${target.name}`,
      tfId: tfId(`tick-${target.name}`),
      schedule: scheduleFor(shortestMs),
      timeZone: 'Etc/UTC',
      path: '/tick',
      body: JSON.stringify({ [kind]: name }),
      invoker: invokerOf(name),
      target,
      purpose,
    };
  };
  const barrierTicks = new Map(
    pipeline.barriers.map((b) => {
      const shortest = Math.min(...b.deadlines.map((d) => d.afterMs));
      const purpose =
        b.deadlines.length > 0 ? 'fires deadline tiers and re-publishes decided-but-unpublished triggers' : 're-publishes decided-but-unpublished triggers';
      return [b.name, tickOf('barrier', b.name, shortest, purpose)] as const;
    }),
  );
  const coordinatorTicks = new Map(
    pipeline.coordinators.map((c) => {
      const purpose = c.stall
        ? 'completes stalled batches (stall policy) and re-publishes decided-but-unpublished messages'
        : 're-publishes decided-but-unpublished messages';
      return [c.name, tickOf('coordinator', c.name, c.stall?.noProgressForMs ?? Infinity, purpose)] as const;
    }),
  );
  const ticks = [...barrierTicks.values(), ...coordinatorTicks.values()];

  const invokerTargets = new Map<string, Map<string, PushTarget>>();
  const addInvoker = (invoker: string, target: PushTarget): void => {
    const targets = invokerTargets.get(invoker) ?? new Map<string, PushTarget>();
    targets.set(`${target.kind}:${target.name}`, target);
    invokerTargets.set(invoker, targets);
  };
  for (const s of subscriptions) if (s.push) addInvoker(s.push.invoker, s.push.target);
  for (const tick of ticks) addInvoker(tick.invoker, tick.target);
  const invokers: InvokerModel[] = [...invokerTargets]
    .map(([accountId, targets]) => ({ accountId, tfId: tfId(accountId), targets: [...targets.values()].sort(byName) }))
    .sort((a, b) => (a.accountId < b.accountId ? -1 : 1));
  assertDistinctAccounts(serviceAccounts, invokers);
  const callersOf = new Map<string, string[]>();
  for (const [accountId, targets] of invokerTargets) {
    for (const key of targets.keys()) {
      const callers = callersOf.get(key);
      if (callers === undefined) callersOf.set(key, [accountId]);
      else callers.push(accountId);
    }
  }
  const oidcOf = (name: string): OidcModel => {
    const target = targetOf(name);
    return { service: target.name, invokers: unique(callersOf.get(`${target.kind}:${target.name}`) ?? []) };
  };

  const services = [
    ...new Map(subscriptions.flatMap((s) => (s.push?.target.kind === 'service' ? [[s.push.target.name, s.push.target] as const] : []))).values(),
  ].sort(byName);

  const barrierModels: BarrierModel[] = pipeline.barriers
    .map((barrier) => ({
      name: barrier.name,
      kind: barrier.kind,
      function: barrier.function,
      tfId: tfId(barrier.function),
      description: barrier.description,
      listens: barrier.listens.name,
      publishes: barrier.publishes.name,
      target: barrier.target,
      members: barrier.members.map((m) => m.name),
      rule: describeBarrier(barrier),
      deadlines: barrier.deadlines.map((d) => ({ after: d.after, minMembers: d.minMembers, requirement: describeTierRequirement(barrier, d) })),
      serviceAccount: serviceAccountId(barrier.name),
      tick: required(barrierTicks.get(barrier.name), `tick of ${barrier.name}`),
      oidc: oidcOf(barrier.name),
      environment: { BATON_BARRIER: barrier.name, BATON_PIPELINE: pipeline.name, BATON_PIPELINE_HASH: hash },
    }))
    .sort(byName);

  const coordinatorModels: CoordinatorModel[] = pipeline.coordinators
    .map((c) => ({
      name: c.name,
      service: c.service,
      tfId: tfId(c.service),
      description: c.description,
      rule: describeCoordinator(c),
      listens: c.listens.name,
      workTopic: c.workTopic.name,
      readyTopic: c.readyTopic.name,
      publishes: c.publishes?.name,
      serviceAccount: serviceAccountId(c.name),
      tick: required(coordinatorTicks.get(c.name), `tick of ${c.name}`),
      oidc: oidcOf(c.name),
      environment: { BATON_COORDINATOR: c.name, BATON_PIPELINE: pipeline.name, BATON_PIPELINE_HASH: hash },
    }))
    .sort(byName);

  return {
    name: pipeline.name,
    description: pipeline.description,
    hash,
    project: pipeline.project,
    region: pipeline.region,
    keyName: pipeline.key.name,
    labels: { pipeline: labelValue(pipeline.name), hash: labelValue(hash) },
    orchestrator: pipeline.orchestrator,
    topics,
    subscriptions,
    serviceAccounts,
    invokers,
    services,
    barriers: barrierModels,
    coordinators: coordinatorModels,
    alerts: buildAlerts(
      pipeline.name,
      topics,
      subscriptions,
      barrierModels,
      topics.filter((t) => t.terminal).map((t) => t.name),
      completionAbsenceWindow(pipeline.keyCadenceMs),
    ),
    completionAbsenceWindow: completionAbsenceWindow(pipeline.keyCadenceMs),
    state: STATE_LAYOUT,
    package: { zipVariable: 'baton_package_zip', defaultZip: '../../dist/baton-functions.zip', objectPrefix: 'baton-functions-' },
    prerequisites: { apis: [...REQUIRED_APIS, ...(topics.some((t) => t.kmsKey !== undefined) ? ['cloudkms.googleapis.com'] : [])].sort() },
    ingress: { function: 'ALLOW_INTERNAL_ONLY', service: 'INGRESS_TRAFFIC_INTERNAL_ONLY' },
  };
}

function required<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`deploy model: no ${what}`);
  return value;
}

function assertDistinctAccounts(accounts: readonly ServiceAccountModel[], invokers: readonly InvokerModel[]): void {
  const seen = new Map<string, string>();
  for (const [id, owner] of [
    ...accounts.map((a) => [a.accountId, a.component] as const),
    ...invokers.map((i) => [i.accountId, `invoker ${i.accountId}`] as const),
  ]) {
    const other = seen.get(id);
    if (other !== undefined) throw new Error(`service account id "${id}" would be shared by ${other} and ${owner}; rename one of them`);
    seen.set(id, owner);
  }
}
