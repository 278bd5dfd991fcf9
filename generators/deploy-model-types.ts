import type { ResolvedPipeline, SubscriptionSettings } from '../engine/config/resolved-pipeline.ts';
import type { StateLayout } from './state-layout.ts';

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
  /** Each tier; `requirement` says whether it waits for the threshold's required members (empty without any). */
  readonly deadlines: readonly { readonly after: string; readonly minMembers: number; readonly requirement: string }[];
  readonly serviceAccount: string;
  /** Its scheduled tick: deadlines, and re-publishing a decided-but-unpublished trigger. */
  readonly tick: TickModel;
  readonly oidc: OidcModel;
  /**
   * The environment the function is deployed with, besides the OIDC variables (which name deployed
   * URLs and accounts): Terraform, deploy.sh and `baton rehearse` all take it from here.
   */
  readonly environment: Readonly<Record<string, string>>;
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
  /** The container's environment besides OIDC and the package object (see `BarrierModel.environment`). */
  readonly environment: Readonly<Record<string, string>>;
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
  /** Default window of the no-final-output alerts, a PromQL duration derived from the key's cadence (`completionAbsenceWindow`). */
  readonly completionAbsenceWindow: string;
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

/** A generated alert policy, with what it means and what to do (rendered into Terraform, deploy.sh and the runbook). */
export interface AlertModel {
  readonly id: string;
  readonly tfId: string;
  readonly kind: 'dlq-holding' | 'oldest-unacked' | 'deadline-missed' | 'no-final-output';
  readonly displayName: string;
  readonly subject: string;
  /** Metric filter (metric alerts) or log filter (log-match alerts). */
  readonly filter: string;
  /**
   * PromQL query of a metric-absence alert (`no-final-output`), with `ABSENCE_WINDOW_PLACEHOLDER` (alerts.ts)
   * where the window goes (Terraform substitutes `var.completion_absence_window`, deploy.sh its
   * environment variable); empty for the other kinds.
   */
  readonly query: string;
  readonly thresholdValue: number;
  readonly duration: string;
  readonly meaning: string;
  readonly action: string;
  readonly conditionName: string;
  /** Markdown shown on the incident: meaning, action and the runbook anchor. */
  readonly documentation: string;
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
