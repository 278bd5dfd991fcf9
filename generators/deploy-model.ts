import type { LoadResult } from '../engine/config/load-pipeline.ts';
import type { ResolvedPipeline, SubscriptionSettings } from '../engine/config/resolved-pipeline.ts';
import { describeBarrier, describeCoordinator } from '../engine/graph/describe.ts';
import type { PipelineGraph } from '../engine/graph/pipeline-graph.ts';
import { publishersOf } from '../engine/graph/queries.ts';
import { labelValue, tfId } from './escape.ts';
import { serviceAccountId } from './service-account-id.ts';
import { buildAlerts, type AlertModel } from './alerts.ts';
import { STATE_LAYOUT, type StateLayout } from './state-layout.ts';

/**
 * One view of the pipeline that every deploy output renders (Terraform, deploy.sh, docs), so the
 * manifests cannot disagree with each other: built once from the graph, sorted, nothing pipeline-specific.
 */

/** Kind of component a subscription delivers to, or a service account belongs to. */
export type ComponentKind = 'processor' | 'barrier' | 'coordinator';

/** Where a push subscription delivers: a user Cloud Run service, a barrier function, or a coordinator service. */
export interface PushTarget {
  readonly kind: 'service' | 'function' | 'coordinator';
  /** Deployed name (Cloud Run service or function name). */
  readonly name: string;
  readonly tfId: string;
}

export interface TopicModel {
  readonly name: string;
  readonly tfId: string;
  readonly description: string;
  readonly publishers: readonly string[];
  readonly subscribers: readonly string[];
  readonly externalPublishers: string | undefined;
  readonly externalConsumers: string | undefined;
  /** The dead-letter topic and the pull subscription that holds its messages (a topic alone keeps nothing). */
  readonly deadLetter: { readonly name: string; readonly tfId: string; readonly holdSubscription: string; readonly holdTfId: string } | undefined;
  readonly deadLetterDisabledReason: string | undefined;
  /** A barrier or coordinator publishes it and nothing in the pipeline subscribes: the pipeline's final output. */
  readonly terminal: boolean;
}

export interface SubscriptionModel {
  readonly name: string;
  readonly tfId: string;
  readonly topic: string;
  readonly topicTfId: string;
  readonly consumer: string;
  readonly consumerKind: ComponentKind;
  readonly filter: string | undefined;
  readonly settings: SubscriptionSettings;
  /** Set for push delivery: where, and which invoker account signs the OIDC token. */
  readonly push: { readonly target: PushTarget; readonly invoker: string } | undefined;
  readonly deadLetter: { readonly name: string; readonly tfId: string } | undefined;
  /** Age (s) by which a message has exhausted every retry; older unacked messages mean delivery is stuck. */
  readonly stuckAfterSeconds: number;
}

export interface ServiceAccountModel {
  readonly component: string;
  readonly kind: ComponentKind;
  readonly accountId: string;
  readonly tfId: string;
  readonly description: string;
  /** Topics it holds roles/pubsub.publisher on, exactly. */
  readonly publishes: readonly string[];
  /** Holds roles/datastore.user (barriers and coordinators keep state). */
  readonly stateful: boolean;
  /** Pull subscriptions it holds roles/pubsub.subscriber on. */
  readonly pulls: readonly string[];
}

export interface InvokerModel {
  readonly accountId: string;
  readonly tfId: string;
  /** Push targets it holds roles/run.invoker on, exactly. */
  readonly targets: readonly PushTarget[];
}

export interface BarrierModel {
  readonly name: string;
  readonly kind: 'phase' | 'dependency';
  readonly function: string;
  readonly tfId: string;
  readonly description: string;
  readonly listens: string;
  readonly publishes: string;
  readonly target: string | undefined;
  readonly members: readonly string[];
  readonly rule: string;
  readonly deadlines: readonly { readonly after: string; readonly minMembers: number }[];
  readonly serviceAccount: string;
  /** Set when deadlines need a scheduled tick: cron schedule and the invoker that signs it. */
  readonly tick: { readonly job: string; readonly tfId: string; readonly schedule: string; readonly invoker: string } | undefined;
}

export interface CoordinatorModel {
  readonly name: string;
  readonly service: string;
  readonly tfId: string;
  readonly description: string;
  readonly rule: string;
  readonly listens: string;
  readonly workTopic: string;
  readonly readyTopic: string;
  readonly publishes: string | undefined;
  readonly serviceAccount: string;
}

export interface DeployModel {
  readonly name: string;
  readonly description: string;
  readonly hash: string;
  readonly project: string | undefined;
  readonly region: string | undefined;
  readonly keyName: string;
  readonly labels: { readonly pipeline: string; readonly hash: string };
  readonly orchestrator: ResolvedPipeline['orchestrator'];
  readonly topics: readonly TopicModel[];
  readonly subscriptions: readonly SubscriptionModel[];
  readonly serviceAccounts: readonly ServiceAccountModel[];
  readonly invokers: readonly InvokerModel[];
  /** User-owned Cloud Run services Baton pushes to (read as data, never created). */
  readonly services: readonly PushTarget[];
  readonly barriers: readonly BarrierModel[];
  readonly coordinators: readonly CoordinatorModel[];
  readonly alerts: readonly AlertModel[];
  readonly state: StateLayout;
}

const byName = <T extends { readonly name: string }>(a: T, b: T): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
const unique = (values: Iterable<string>): string[] => [...new Set(values)].sort();

/** Builds the deploy model from a loaded pipeline; throws when the pipeline did not load (check diagnostics first). */
export function buildDeployModel(result: LoadResult): DeployModel {
  const { pipeline, graph, hash } = result;
  if (!pipeline || !graph || hash === undefined) throw new Error(`${result.file} did not load; fix its diagnostics before generating`);
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

  const topics: TopicModel[] = pipeline.topics.map((topic) => {
    const publishers = unique(publishersOf(graph, topic.name));
    const subscribers = unique(subscriptionNodes(graph, topic.name).map((s) => s.consumer));
    return {
      name: topic.name,
      tfId: tfId(topic.name),
      description: topic.description,
      publishers,
      subscribers,
      externalPublishers: topic.externalPublishers,
      externalConsumers: topic.externalConsumers,
      deadLetter: topic.deadLetter.enabled
        ? {
            name: topic.deadLetter.topic,
            tfId: tfId(topic.deadLetter.topic),
            holdSubscription: `baton-hold--${topic.deadLetter.topic}`,
            holdTfId: tfId(`baton-hold--${topic.deadLetter.topic}`),
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
    .flatMap((topic) => subscriptionNodes(graph, topic.name))
    .map(({ name, topic, consumer, filter }) => {
      const settings = processors.get(consumer)?.subscription ?? defaults;
      const invoker = settings.invoker ?? fallbackInvoker;
      const dlq = topicByName.get(topic)?.deadLetter;
      return {
        name,
        tfId: tfId(name),
        topic,
        topicTfId: tfId(topic),
        consumer,
        consumerKind: kindOf(consumer),
        filter,
        settings,
        push: settings.delivery === 'push' ? { target: targetOf(consumer), invoker } : undefined,
        deadLetter: dlq ? { name: dlq.name, tfId: dlq.tfId } : undefined,
        stuckAfterSeconds: settings.deadLetterAfterAttempts * (settings.ackDeadlineSeconds + settings.maxBackoffSeconds),
      };
    })
    .sort(byName);

  const publishes = new Map<string, Set<string>>();
  for (const topic of topics) for (const p of topic.publishers) publishes.set(p, (publishes.get(p) ?? new Set()).add(topic.name));
  const pulls = (component: string): string[] => subscriptions.filter((s) => s.consumer === component && !s.push).map((s) => s.name);
  const account = (component: string, kind: ComponentKind, description: string): ServiceAccountModel => {
    const accountId = serviceAccountId(component);
    return {
      component,
      kind,
      accountId,
      tfId: tfId(accountId),
      description,
      publishes: unique(publishes.get(component) ?? []),
      stateful: kind !== 'processor',
      pulls: pulls(component),
    };
  };
  const serviceAccounts = [
    ...pipeline.processors.map((p) => account(p.name, 'processor', p.description)),
    ...pipeline.barriers.map((b) => account(b.name, 'barrier', b.description)),
    ...pipeline.coordinators.map((c) => account(c.name, 'coordinator', c.description)),
  ].sort((a, b) => (a.accountId < b.accountId ? -1 : 1));

  const invokerTargets = new Map<string, Map<string, PushTarget>>();
  for (const s of subscriptions) {
    if (!s.push) continue;
    const targets = invokerTargets.get(s.push.invoker) ?? new Map<string, PushTarget>();
    targets.set(`${s.push.target.kind}:${s.push.target.name}`, s.push.target);
    invokerTargets.set(s.push.invoker, targets);
  }
  const invokers: InvokerModel[] = [...invokerTargets]
    .map(([accountId, targets]) => ({ accountId, tfId: tfId(accountId), targets: [...targets.values()].sort(byName) }))
    .sort((a, b) => (a.accountId < b.accountId ? -1 : 1));
  assertDistinctAccounts(serviceAccounts, invokers);

  const services = [
    ...new Map(subscriptions.flatMap((s) => (s.push?.target.kind === 'service' ? [[s.push.target.name, s.push.target] as const] : []))).values(),
  ].sort(byName);

  const barrierModels: BarrierModel[] = pipeline.barriers
    .map((barrier) => {
      const sub = subscriptions.find((s) => s.consumer === barrier.name);
      const shortest = Math.min(...barrier.deadlines.map((d) => d.afterMs));
      return {
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
        deadlines: barrier.deadlines.map((d) => ({ after: d.after, minMembers: d.minMembers })),
        serviceAccount: serviceAccountId(barrier.name),
        tick:
          barrier.deadlines.length === 0
            ? undefined
            : {
                job: `baton-tick-${barrier.function}`,
                tfId: tfId(`tick-${barrier.function}`),
                // Deadlines are checked by a tick, never only on message arrival (#15).
                schedule: shortest <= 20 * 60_000 ? '* * * * *' : '*/5 * * * *',
                invoker: sub?.push?.invoker ?? fallbackInvoker,
              },
      };
    })
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
    ),
    state: STATE_LAYOUT,
  };
}

interface SubscriptionNode {
  readonly name: string;
  readonly topic: string;
  readonly consumer: string;
  readonly filter: string | undefined;
}

function subscriptionNodes({ graph }: PipelineGraph, topic: string): SubscriptionNode[] {
  const nodes: SubscriptionNode[] = [];
  graph.forEachNode((_key, a) => {
    if (a.kind === 'subscription' && a.topic === topic) nodes.push({ name: a.name, topic, consumer: a.consumer ?? '', filter: a.filter });
  });
  return nodes;
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
