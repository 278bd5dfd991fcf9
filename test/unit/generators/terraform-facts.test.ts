import { beforeAll, describe, expect, it } from 'vitest';
import { publishersOf, subscribersOf } from '../../../engine/graph/queries.ts';
import { serviceAccountId } from '../../../generators/service-account-id.ts';
import { fixturePath, NBA_PIPELINE } from './generate-fixture.ts';
import { type Block, first, of, parseTerraform, type Parsed, type Resources } from './parse-terraform.ts';

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
      // A user service is called at its endpoint; a Baton component checks the audience in-app (BATON_OIDC_AUDIENCE).
      if (String(push.push_endpoint).includes('data.google_cloud_run_v2_service')) expect(oidc.audience).toBe(push.push_endpoint);
      else expect(oidc.audience).toMatch(/^https:\/\/[a-z0-9-]+-\$\{data\.google_project\.this\.number\}\.\$\{var\.region\}\.run\.app$/);
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

  it('grants pubsub.publisher to each component on exactly the topics it publishes, and to barriers and coordinators on the dead-letter topics of what they consume', () => {
    const { graph, pipeline } = tf.result;
    if (!graph || !pipeline) throw new Error('not loaded');
    const published = pipeline.topics.flatMap((t) => publishersOf(graph, t.name).map((p) => `${serviceAccountId(p)} → ${t.name}`));
    // Bug: only the Pub/Sub service agent could publish to a DLQ, so the handler's own dead-lettering was denied.
    const gates = new Set([...pipeline.barriers, ...pipeline.coordinators].map((c) => c.name));
    const deadLetters: string[] = [];
    graph.graph.forEachNode((_k, a) => {
      if (a.kind !== 'subscription' || !gates.has(a.consumer ?? '')) return;
      const topic = pipeline.topics.find((t) => t.name === a.topic);
      if (topic?.deadLetter.enabled) deadLetters.push(`${serviceAccountId(a.consumer ?? '')} → ${topic.deadLetter.topic}`);
    });
    expect(deadLetters.length).toBeGreaterThan(0);
    const expected = [...new Set([...published, ...deadLetters])].sort();
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

  it('ticks every barrier and coordinator with an OIDC-signed JSON request its handler reads, signed by an account that can invoke exactly it (bug: only barriers with deadlines were ticked, so a stall policy never ran)', () => {
    const pipeline = tf.result.pipeline;
    if (!pipeline) throw new Error('not loaded');
    const jobs = of(tf.resources, 'google_cloud_scheduler_job');
    expect(jobs).toHaveLength(pipeline.barriers.length + pipeline.coordinators.length);
    const invokerBindings = new Set(
      of(tf.resources, 'google_cloud_run_v2_service_iam_member').map(
        ([, b]) => `${refName(b.member, 'google_service_account')} → ${String(b.name).replace(/\.name\}$/, '')}`,
      ),
    );
    const ticked = new Set<string>();
    for (const [name, job] of jobs) {
      const target = first(job.http_target);
      expect(target.http_method, name).toBe('POST');
      expect(target.headers, name).toEqual({ 'Content-Type': 'application/json' });
      expect(String(target.uri), name).toMatch(/\.uri\}\/tick$/);
      const body = JSON.parse(/^\$\{base64encode\("(.*)"\)\}$/.exec(String(target.body))?.[1]?.replace(/\\"/g, '"') ?? 'null') as Record<string, string>;
      const component = body.barrier ?? body.coordinator ?? '';
      ticked.add(component);
      const oidc = first(target.oidc_token);
      const account = refName(oidc.service_account_email, 'google_service_account');
      const service = String(target.uri)
        .replace(/^\$\{/, '')
        .replace(/(\.service_config\[0\])?\.uri\}\/tick$/, '');
      expect(invokerBindings, `${name}: ${account ?? '?'} cannot invoke ${service}`).toContain(`${account} → \${${service}`);
      expect(String(oidc.audience), name).toContain('.run.app');
    }
    expect([...ticked].sort()).toEqual([...pipeline.barriers, ...pipeline.coordinators].map((c) => c.name).sort());
    const coordinatorJobs = jobs.filter(([, j]) => String(first(j.http_target).uri).includes('google_cloud_run_v2_service.'));
    expect(coordinatorJobs).toHaveLength(pipeline.coordinators.length);
  });

  it('sets BATON_OIDC_AUDIENCE (the URL the tokens are signed for) and BATON_OIDC_EMAIL (every invoker that calls it) on every function and coordinator', () => {
    const subscriptions = of(tf.resources, 'google_pubsub_subscription');
    const jobs = of(tf.resources, 'google_cloud_scheduler_job');
    const callers = (ref: string): { audiences: Set<string>; accounts: Set<string> } => {
      const audiences = new Set<string>();
      const accounts = new Set<string>();
      for (const [, b] of subscriptions) {
        const push = first(b.push_config);
        if (!String(push.push_endpoint).startsWith(`\${${ref}`)) continue;
        audiences.add(String(first(push.oidc_token).audience));
        accounts.add(String(first(push.oidc_token).service_account_email));
      }
      for (const [, j] of jobs) {
        const target = first(j.http_target);
        if (!String(target.uri).startsWith(`\${${ref}`)) continue;
        audiences.add(String(first(target.oidc_token).audience));
        accounts.add(String(first(target.oidc_token).service_account_email));
      }
      return { audiences, accounts };
    };
    const emailsOf = (value: unknown): string[] => (/^\$\{join\(",", \[(.*)\]\)\}$/.exec(String(value))?.[1] ?? '').split(', ').map((e) => `\${${e}}`);
    const functions = of(tf.resources, 'google_cloudfunctions2_function');
    expect(functions.length).toBeGreaterThan(0);
    for (const [name, fn] of functions) {
      const env = first(fn.service_config).environment_variables as Record<string, string>;
      const { audiences, accounts } = callers(`google_cloudfunctions2_function.${name}.`);
      expect([...audiences], name).toEqual([env.BATON_OIDC_AUDIENCE]);
      expect(emailsOf(env.BATON_OIDC_EMAIL).sort(), name).toEqual([...accounts].sort());
    }
    for (const [name, service] of of(tf.resources, 'google_cloud_run_v2_service')) {
      const env = Object.fromEntries((first(first(service.template).containers).env as { name: string; value: string }[]).map((e) => [e.name, e.value]));
      const { audiences, accounts } = callers(`google_cloud_run_v2_service.${name}.`);
      expect([...audiences], name).toEqual([env.BATON_OIDC_AUDIENCE]);
      expect(emailsOf(env.BATON_OIDC_EMAIL).sort(), name).toEqual([...accounts].sort());
      expect(env.BATON_PIPELINE, name).toBe(tf.result.pipeline?.name);
    }
  });

  it("deploys from a package object named by the zip's MD5, so a new package rolls out every function and a new coordinator revision (bug: always baton-functions.zip)", () => {
    const object = tf.resources.google_storage_bucket_object?.baton_package;
    expect(object?.name).toBe('baton-functions-${local.package_md5}.zip');
    expect(object?.source).toBe('${var.baton_package_zip}');
    expect(tf.locals.package_md5).toBe('${filemd5(var.baton_package_zip)}');
    for (const [name, fn] of of(tf.resources, 'google_cloudfunctions2_function')) {
      const source = first(first(first(fn.build_config).source).storage_source);
      expect(source, name).toEqual({
        bucket: '${google_storage_bucket_object.baton_package.bucket}',
        object: '${google_storage_bucket_object.baton_package.name}',
      });
    }
    for (const [name, service] of of(tf.resources, 'google_cloud_run_v2_service')) {
      const env = first(first(service.template).containers).env as { name: string; value: string }[];
      expect(env, name).toContainEqual({ name: 'BATON_PACKAGE', value: '${google_storage_bucket_object.baton_package.name}' });
    }
    expect(tf.variables.baton_source_object).toBeUndefined();
  });

  it('renders what a fresh project needs: every API it uses, the source bucket, the Firestore database', () => {
    const apis = of(tf.resources, 'google_project_service').map(([, b]) => String(b.service));
    const used = new Set([
      'pubsub',
      'cloudfunctions',
      'cloudbuild',
      'run',
      'cloudscheduler',
      'firestore',
      'iam',
      'monitoring',
      'logging',
      'storage',
      'artifactregistry',
    ]);
    for (const api of used) expect(apis, api).toContain(`${api}.googleapis.com`);
    for (const [, b] of of(tf.resources, 'google_project_service')) expect(b.disable_on_destroy).toBe(false);
    const bucket = tf.resources.google_storage_bucket?.baton_source;
    expect(bucket?.count).toBe('${var.create_source_bucket ? 1 : 0}');
    expect(bucket?.public_access_prevention).toBe('enforced');
    const database = tf.resources.google_firestore_database?.state;
    expect(database?.name).toBe('${var.firestore_database}');
    expect(database?.count).toBe('${var.create_firestore_database ? 1 : 0}');
    expect(database?.deletion_policy).toBe('ABANDON');
    for (const [name, field] of of(tf.resources, 'google_firestore_field')) expect(field.depends_on, name).toEqual(['${google_firestore_database.state}']);
  });

  it('gives every function and coordinator internal-only ingress (Pub/Sub push and Cloud Scheduler of the project still reach it)', () => {
    for (const [name, fn] of of(tf.resources, 'google_cloudfunctions2_function'))
      expect(first(fn.service_config).ingress_settings, name).toBe('ALLOW_INTERNAL_ONLY');
    for (const [name, service] of of(tf.resources, 'google_cloud_run_v2_service')) expect(service.ingress, name).toBe('INGRESS_TRAFFIC_INTERNAL_ONLY');
  });

  it('encrypts each topic that names a customer-managed key (and its DLQ) with it, after granting the Pub/Sub service agent encrypter/decrypter', () => {
    const keyed = (tf.result.pipeline?.topics ?? []).filter((t) => t.kmsKey !== undefined);
    if (file !== NBA_PIPELINE) expect(keyed.length).toBeGreaterThan(0);
    const grants = of(tf.resources, 'google_kms_crypto_key_iam_member');
    expect(grants.map(([, g]) => g.crypto_key_id).sort()).toEqual([...new Set(keyed.map((t) => t.kmsKey))].sort());
    for (const [, grant] of grants) {
      expect(grant.role).toBe('roles/cloudkms.cryptoKeyEncrypterDecrypter');
      expect(grant.member).toBe('${local.pubsub_service_agent}');
    }
    const topics = tf.resources.google_pubsub_topic ?? {};
    for (const topic of tf.result.pipeline?.topics ?? []) {
      const names = topic.deadLetter.enabled ? [topic.name, topic.deadLetter.topic] : [topic.name];
      for (const n of names) {
        const block = Object.values(topics).find((b) => b.name === n);
        expect(block?.kms_key_name, n).toBe(topic.kmsKey);
        if (topic.kmsKey !== undefined) expect(JSON.stringify(block?.depends_on), n).toContain('google_kms_crypto_key_iam_member.');
      }
    }
    if (keyed.length > 0) expect(of(tf.resources, 'google_project_service').map(([, b]) => b.service)).toContain('cloudkms.googleapis.com');
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
