import { parse } from '@cdktf/hcl2json';
import { beforeAll, describe, expect, it } from 'vitest';
import type { LoadResult } from '../../../engine/config/load-pipeline.ts';
import { publishersOf, subscribersOf } from '../../../engine/graph/queries.ts';
import { serviceAccountId } from '../../../generators/service-account-id.ts';
import { fixturePath, generated, NBA_PIPELINE } from './generate-fixture.ts';

type Block = Record<string, unknown>;
type Resources = Record<string, Record<string, Block>>;

interface Parsed {
  readonly result: LoadResult;
  readonly resources: Resources;
  readonly data: Resources;
  readonly variables: Record<string, Block>;
}

/** Parses every generated .tf file with a real HCL parser and merges the blocks by type and name. */
async function parseTerraform(file: string): Promise<Parsed> {
  const { result, files } = await generated(file);
  const resources: Resources = {};
  const data: Resources = {};
  const variables: Record<string, Block> = {};
  for (const [path, content] of files) {
    if (!path.endsWith('.tf')) continue;
    const json = (await parse(path, content)) as {
      resource?: Record<string, Record<string, Block[]>>;
      data?: Record<string, Record<string, Block[]>>;
      variable?: Record<string, Block[]>;
    };
    for (const [target, source] of [
      [resources, json.resource],
      [data, json.data],
    ] as const) {
      for (const [type, byName] of Object.entries(source ?? {})) {
        for (const [name, [block]] of Object.entries(byName)) {
          target[type] ??= {};
          expect(target[type][name], `${type}.${name} is declared twice`).toBeUndefined();
          target[type][name] = block ?? {};
        }
      }
    }
    for (const [name, [block]] of Object.entries(json.variable ?? {})) variables[name] = block ?? {};
  }
  return { result, resources, data, variables };
}

const of = (resources: Resources, type: string): [string, Block][] => Object.entries(resources[type] ?? {});
const first = (value: unknown): Block => (Array.isArray(value) ? ((value[0] ?? {}) as Block) : {});
/** `${google_service_account.x.email}` → `x` */
const refName = (expression: unknown, type: string): string | undefined => new RegExp(`\\$\\{${type}\\.([^.]+)\\.`).exec(String(expression))?.[1];
const accountIdOf = (resources: Resources, tfName: string | undefined): string | undefined =>
  tfName === undefined ? undefined : (resources.google_service_account?.[tfName]?.account_id as string | undefined);
const isHold = (block: Block): boolean => String(block.labels).includes('dlq-hold');

describe.each([
  ['the NBA pipeline', NBA_PIPELINE],
  ['the small fixture', fixturePath('small/pipeline.yaml')],
])('Terraform for %s', (_title, file) => {
  let tf: Parsed;
  beforeAll(async () => {
    tf = await parseTerraform(file);
  });

  it('gives every push subscription an OIDC account that holds run.invoker on exactly the service it pushes to', () => {
    const invokerBindings = new Set(
      of(tf.resources, 'google_cloud_run_v2_service_iam_member')
        .filter(([, b]) => b.role === 'roles/run.invoker')
        .map(([, b]) => `${refName(b.member, 'google_service_account')} → ${String(b.name).replace(/\.name\}$/, '')}`),
    );
    const pushes = of(tf.resources, 'google_pubsub_subscription').filter(([, b]) => b.push_config !== undefined);
    expect(pushes.length).toBeGreaterThan(0);
    for (const [name, block] of pushes) {
      const push = first(block.push_config);
      const oidc = first(push.oidc_token);
      const account = refName(oidc.service_account_email, 'google_service_account');
      expect(account, `${name} has no OIDC account`).toBeDefined();
      expect(oidc.audience).toBe(push.push_endpoint);
      const target = String(push.push_endpoint).replace(/(\.service_config\[0\])?\.uri\}$/, '');
      expect(invokerBindings, `${name}: ${account ?? '?'} cannot invoke ${target}`).toContain(`${account} → ${target}`);
    }
  });

  it('grants run.invoker only to push identities, and only on services some subscription pushes to', () => {
    const pushed = new Set(
      of(tf.resources, 'google_pubsub_subscription').flatMap(([, b]) =>
        b.push_config ? [String(first(b.push_config).push_endpoint).replace(/(\.service_config\[0\])?\.uri\}$/, '')] : [],
      ),
    );
    for (const [name, b] of of(tf.resources, 'google_cloud_run_v2_service_iam_member')) {
      expect(pushed, name).toContain(String(b.name).replace(/\.name\}$/, ''));
    }
  });

  it('gives every graph subscription a dead-letter policy whose topic is declared', () => {
    const topics = tf.resources.google_pubsub_topic ?? {};
    const subscriptions = of(tf.resources, 'google_pubsub_subscription').filter(([, b]) => !isHold(b));
    let graphSubscriptions = 0;
    tf.result.graph?.graph.forEachNode((_k, a) => {
      if (a.kind === 'subscription') graphSubscriptions++;
    });
    expect(subscriptions).toHaveLength(graphSubscriptions);
    for (const [name, block] of subscriptions) {
      const policy = first(block.dead_letter_policy);
      const dlq = refName(policy.dead_letter_topic, 'google_pubsub_topic');
      expect(dlq && topics[dlq], `${name} dead-letters to an undeclared topic`).toBeDefined();
      expect(policy.max_delivery_attempts).toBe(5);
      expect(block.ack_deadline_seconds).toBe(600);
      expect(first(block.retry_policy)).toEqual({ minimum_backoff: '10s', maximum_backoff: '600s' });
    }
  });

  it('holds every dead-letter topic with a subscription, so dead letters are kept and alerted on', () => {
    const holds = of(tf.resources, 'google_pubsub_subscription').filter(([, b]) => isHold(b));
    const dlqs = (tf.result.pipeline?.topics ?? []).filter((t) => t.deadLetter.enabled).map((t) => t.deadLetter.topic);
    expect(holds.map(([, b]) => refName(b.topic, 'google_pubsub_topic')).sort()).toEqual([...dlqs].sort());
    const alerts = of(tf.resources, 'google_monitoring_alert_policy').map(([, b]) => JSON.stringify(b));
    for (const [, hold] of holds) expect(alerts.some((a) => a.includes(String(hold.name)) && a.includes('num_undelivered_messages'))).toBe(true);
  });

  it('grants pubsub.publisher to each component on exactly the topics it publishes', () => {
    const { graph, pipeline } = tf.result;
    if (!graph || !pipeline) throw new Error('not loaded');
    const expected = pipeline.topics.flatMap((t) => publishersOf(graph, t.name).map((p) => `${serviceAccountId(p)} → ${t.name}`)).sort();
    const actual = of(tf.resources, 'google_pubsub_topic_iam_member')
      .filter(([, b]) => b.role === 'roles/pubsub.publisher' && String(b.member).includes('google_service_account.'))
      .map(
        ([, b]) =>
          `${accountIdOf(tf.resources, refName(b.member, 'google_service_account'))} → ${tf.resources.google_pubsub_topic?.[refName(b.topic, 'google_pubsub_topic') ?? '']?.name as string}`,
      )
      .sort();
    expect(actual).toEqual(expected);
  });

  it('gives the Pub/Sub service agent publisher on each dead-letter topic and subscriber on each source subscription', () => {
    const agentTopics = of(tf.resources, 'google_pubsub_topic_iam_member')
      .filter(([, b]) => String(b.member).includes('pubsub_service_agent'))
      .map(([, b]) => refName(b.topic, 'google_pubsub_topic'));
    const dlqTopics = of(tf.resources, 'google_pubsub_subscription').flatMap(([, b]) => (isHold(b) ? [refName(b.topic, 'google_pubsub_topic')] : []));
    expect(agentTopics.sort()).toEqual(dlqTopics.sort());
    const agentSubs = of(tf.resources, 'google_pubsub_subscription_iam_member')
      .filter(([, b]) => String(b.member).includes('pubsub_service_agent') && b.role === 'roles/pubsub.subscriber')
      .map(([, b]) => refName(b.subscription, 'google_pubsub_subscription'));
    const sources = of(tf.resources, 'google_pubsub_subscription').flatMap(([name, b]) => (b.dead_letter_policy ? [name] : []));
    expect(agentSubs.sort()).toEqual(sources.sort());
  });

  it('grants no owner or editor role, and project-wide only datastore.user to stateful components', () => {
    const roles = Object.values(tf.resources).flatMap((byName) => Object.values(byName).map((b) => (typeof b.role === 'string' ? b.role : '')));
    expect(roles.filter((r) => /roles\/(owner|editor)$/.test(r))).toEqual([]);
    const projectWide = of(tf.resources, 'google_project_iam_member');
    expect(projectWide.every(([, b]) => b.role === 'roles/datastore.user')).toBe(true);
    const stateful = new Set([...(tf.result.pipeline?.barriers ?? []), ...(tf.result.pipeline?.coordinators ?? [])].map((c) => serviceAccountId(c.name)));
    expect(new Set(projectWide.map(([, b]) => accountIdOf(tf.resources, refName(b.member, 'google_service_account'))))).toEqual(stateful);
  });

  it('deploys one gen2 function per barrier from one generic source, stamped with the barrier id and pipeline hash', () => {
    const functions = of(tf.resources, 'google_cloudfunctions2_function');
    expect(functions.map(([, b]) => b.name).sort()).toEqual((tf.result.pipeline?.barriers ?? []).map((b) => b.function).sort());
    const sources = new Set(functions.map(([, b]) => JSON.stringify(first(first(b.build_config).source))));
    expect(sources.size).toBe(1);
    for (const [name, b] of functions) {
      expect(first(b.build_config).runtime, name).toBe('nodejs22');
      const env = first(b.service_config).environment_variables as Record<string, string>;
      expect(tf.result.pipeline?.barriers.some((barrier) => barrier.name === env.BATON_BARRIER && barrier.function === b.name)).toBe(true);
      expect(env.BATON_PIPELINE_HASH).toBe(tf.result.hash);
    }
    expect(JSON.stringify(tf.resources.google_pubsub_topic)).toContain('local.labels');
  });

  it('ticks every barrier that has deadlines with an OIDC-signed JSON request', () => {
    const withDeadlines = (tf.result.pipeline?.barriers ?? []).filter((b) => b.deadlines.length > 0);
    const jobs = of(tf.resources, 'google_cloud_scheduler_job');
    expect(jobs).toHaveLength(withDeadlines.length);
    for (const [name, job] of jobs) {
      const target = first(job.http_target);
      expect(target.headers, name).toEqual({ 'Content-Type': 'application/json' });
      expect(first(target.oidc_token).service_account_email, name).toMatch(/google_service_account\./);
    }
  });

  it('alerts on every subscription, with rate limits on log-match alerts', () => {
    const alerts = of(tf.resources, 'google_monitoring_alert_policy').map(([, b]) => b);
    for (const [name] of of(tf.resources, 'google_pubsub_subscription').filter(([, b]) => !isHold(b))) {
      expect(
        alerts.some((a) => JSON.stringify(a).includes(`subscription_id = \\"${tf.resources.google_pubsub_subscription?.[name]?.name as string}\\"`)),
        name,
      ).toBe(true);
    }
    for (const alert of alerts.filter((a) => first(a.conditions).condition_matched_log)) {
      expect(first(first(alert.alert_strategy).notification_rate_limit).period).toBe('3600s');
    }
    expect(alerts.filter((a) => first(a.conditions).condition_matched_log)).toHaveLength(
      (tf.result.pipeline?.barriers ?? []).filter((b) => b.deadlines.length > 0).length,
    );
  });

  it('alerts when no final output arrives, on exactly the terminal topics, over var.completion_absence_window (#25)', () => {
    const { graph, pipeline } = tf.result;
    if (!graph || !pipeline) throw new Error('not loaded');
    // Terminal: a barrier or coordinator publishes it and nothing in the pipeline subscribes to it.
    const gates = new Set([...pipeline.barriers, ...pipeline.coordinators].map((c) => c.name));
    const terminal = pipeline.topics
      .map((t) => t.name)
      .filter((t) => subscribersOf(graph, t).length === 0 && publishersOf(graph, t).some((p) => gates.has(p)))
      .sort();
    expect(terminal.length).toBeGreaterThan(0);
    if (file === NBA_PIPELINE) expect(terminal).toEqual(['nba-phase5-predictions-complete']);

    const policies = of(tf.resources, 'google_monitoring_alert_policy').map(([, b]) => b);
    const absences = policies.filter((b) => first(b.conditions).condition_prometheus_query_language);
    const metric = 'pubsub_googleapis_com:topic_send_message_operation_count';
    const watched = absences.map((b) => {
      const query = String(first(first(b.conditions).condition_prometheus_query_language).query);
      // The window is the variable, never a literal: join("", ["absent_over_time(…[", var.completion_absence_window, "])"]).
      expect(query).toContain(`absent_over_time(${metric}{`);
      expect(query).toMatch(/\[", var\.completion_absence_window, "\]\)"\]\)\}$/);
      return /topic_id=\\"([^"\\]+)\\"/.exec(query)?.[1];
    });
    expect(watched.sort()).toEqual(terminal);
    // Same channels, labels and auto-close as the other metric alerts; no rate limit (that is for log-match alerts).
    const threshold = policies.find((b) => first(b.conditions).condition_threshold);
    for (const b of absences) {
      expect(b.notification_channels).toBe(threshold?.notification_channels);
      expect(b.user_labels).toBe(threshold?.user_labels);
      expect(first(b.alert_strategy)).toEqual(first(threshold?.alert_strategy));
      expect(String(b.display_name)).toContain('pipeline produced no final output');
    }
    expect(tf.variables.completion_absence_window?.default).toBe('93600s');
  });

  it('defaults the project and region variables from the pipeline', () => {
    expect(tf.variables.project?.default).toBe(tf.result.pipeline?.project);
    expect(tf.variables.region?.default).toBe(tf.result.pipeline?.region);
  });
});
