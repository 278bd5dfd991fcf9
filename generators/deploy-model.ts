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
  /** Customer-managed key (`projects/…/cryptoKeys/…`) for the topic and its dead-letter topic; undefined = Google-managed. */
  readonly kmsKey: string | undefined;
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
  /**
   * Dead-letter topics it also holds roles/pubsub.publisher on: those of the topics it consumes, because
   * Baton's handler republishes a poison message there itself, with its reason (barriers and coordinators only).
   */
  readonly deadLetterPublishes: readonly string[];
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

/**
 * A Cloud Scheduler job that POSTs to a component's `/tick` (OIDC-signed, JSON body naming the
 * component as `parseTickBody` reads it). Every barrier and coordinator has one: deadlines and stall
 * policies fire without traffic (#15, #16), and a trigger decided while Pub/Sub was down is only
 * re-published by a tick (issue 16 item 2).
 */
export interface TickModel {
  /** Scheduler job name. */
  readonly job: string;
  readonly tfId: string;
  /** Cron schedule, evaluated in `timeZone`. */
  readonly schedule: string;
  readonly timeZone: 'Etc/UTC';
  /** Path appended to the target's URL. */
  readonly path: '/tick';
  /** Request body (JSON text), sent with `Content-Type: application/json`. */
  readonly body: string;
  /** Account id of the invoker that signs the OIDC token; it holds roles/run.invoker on `target`. */
  readonly invoker: string;
  readonly target: PushTarget;
  /** What the tick does for this component, in words. */
  readonly purpose: string;
}

/**
 * How a deployed component checks callers (in-app, beside Cloud Run's IAM check): the env
 * `BATON_OIDC_AUDIENCE` = `https://<service>-<project number>.<region>.run.app` (the deterministic
 * run.app URL, which the push subscriptions and scheduler jobs also use as their token audience),
 * `BATON_OIDC_EMAIL` = the invokers' emails, comma-separated.
 */
export interface OidcModel {
  /** Cloud Run service whose deterministic URL is the audience (a gen2 function's service shares its name). */
  readonly service: string;
  /** Account ids of every invoker that calls it (push subscriptions and its tick), sorted. */
  readonly invokers: readonly string[];
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
  /** Its scheduled tick: deadlines, and re-publishing a decided-but-unpublished trigger. */
  readonly tick: TickModel;
  readonly oidc: OidcModel;
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
  /** Its scheduled tick: the stall policy, and re-publishing decided-but-unpublished messages. */
  readonly tick: TickModel;
  readonly oidc: OidcModel;
}

/**
 * The one function package every barrier and the coordinator run (`baton package`). Its object name
 * in the source bucket carries the zip's content hash, so a new package is a new object and
 * Terraform rolls every function (and the coordinator's revision) out again.
 */
export interface PackageModel {
  /** Terraform variable: local path of the zip `baton package` builds. */
  readonly zipVariable: 'baton_package_zip';
  /** Default of that variable, relative to generated/terraform. */
  readonly defaultZip: string;
  /** Object name prefix; the full name is `<prefix><md5 of the zip>.zip`. */
  readonly objectPrefix: string;
}

/** What a fresh project needs before the pipeline runs, rendered (APIs, bucket, database) or provided by the operator. */
export interface PrerequisitesModel {
  /** APIs the manifests use, each rendered as `google_project_service`. */
  readonly apis: readonly string[];
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
  readonly package: PackageModel;
  readonly prerequisites: PrerequisitesModel;
  /**
   * Ingress of every barrier function and coordinator: internal only. Cloud Run's "Internal" setting
   * admits Pub/Sub and Cloud Scheduler from the same project (or VPC-SC perimeter) calling the
   * run.app URL (https://cloud.google.com/run/docs/securing/ingress); a gen2 function is a Cloud Run
   * service, and ALLOW_INTERNAL_ONLY is that setting.
   */
  readonly ingress: { readonly function: 'ALLOW_INTERNAL_ONLY'; readonly service: 'INGRESS_TRAFFIC_INTERNAL_ONLY' };
}

/** APIs the rendered resources use (sorted). */
export const REQUIRED_APIS = [
  'artifactregistry.googleapis.com',
  'cloudbuild.googleapis.com',
  'cloudfunctions.googleapis.com',
  'cloudscheduler.googleapis.com',
  'firestore.googleapis.com',
  'iam.googleapis.com',
  'logging.googleapis.com',
  'monitoring.googleapis.com',
  'pubsub.googleapis.com',
  'run.googleapis.com',
  'storage.googleapis.com',
] as const;

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
      kmsKey: topic.kmsKey,
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
  // Baton's own handler (barriers, coordinators) republishes poison messages to the consumed topic's DLQ itself.
  const deadLetterPublishes = (component: string, kind: ComponentKind): string[] =>
    kind === 'processor' ? [] : unique(subscriptions.flatMap((s) => (s.consumer === component && s.deadLetter ? [s.deadLetter.name] : [])));
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

  const invokerOf = (component: string): string => subscriptions.find((s) => s.consumer === component && s.push)?.push?.invoker ?? fallbackInvoker;
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
  const oidcOf = (name: string): OidcModel => {
    const target = targetOf(name);
    const callers = invokers.filter((i) => i.targets.some((t) => t.kind === target.kind && t.name === target.name)).map((i) => i.accountId);
    return { service: target.name, invokers: unique(callers) };
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
      deadlines: barrier.deadlines.map((d) => ({ after: d.after, minMembers: d.minMembers })),
      serviceAccount: serviceAccountId(barrier.name),
      tick: required(barrierTicks.get(barrier.name), `tick of ${barrier.name}`),
      oidc: oidcOf(barrier.name),
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
    package: { zipVariable: 'baton_package_zip', defaultZip: '../../dist/baton-functions.zip', objectPrefix: 'baton-functions-' },
    prerequisites: { apis: [...REQUIRED_APIS, ...(topics.some((t) => t.kmsKey !== undefined) ? ['cloudkms.googleapis.com'] : [])].sort() },
    ingress: { function: 'ALLOW_INTERNAL_ONLY', service: 'INGRESS_TRAFFIC_INTERNAL_ONLY' },
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
