import { ABSENCE_WINDOW_PLACEHOLDER } from './alerts.ts';
import type { AlertModel, DeployModel, ServiceAccountModel, SubscriptionModel } from './deploy-model.ts';
import { labelValue, shellQuote } from './escape.ts';
import { renderTemplateChunks } from './render-template.ts';

/**
 * `gcloud/deploy.sh`: the same resources as the Terraform, idempotent (describe, then create or
 * update), `--dry-run` prints every command, and `BATON_EMULATOR=1` limits it to what the Pub/Sub
 * emulator can do. Every value is shell-quoted by the template; flags built here hold only numbers
 * and fixed words.
 */
export function generateDeployScript(model: DeployModel): Iterable<string> {
  const labels = `baton-pipeline=${model.labels.pipeline},baton-hash=${model.labels.hash}`;
  // gcloud's `^;^` prefix makes ';' the separator: BATON_OIDC_EMAIL (appended by the script) holds commas.
  const env = (pairs: Record<string, string>): string =>
    `^;^${Object.entries(pairs)
      .map(([k, v]) => `${k}=${v}`)
      .join(';')}`;
  return renderTemplateChunks(
    'deploy-sh',
    {
      ...model,
      project: model.project ?? '',
      region: model.region ?? '',
      labels,
      absenceWindowPlaceholder: ABSENCE_WINDOW_PLACEHOLDER,
      invokers: model.invokers.map((i) => ({ ...i, displayName: `Baton push identity ${i.accountId}` })),
      barriers: model.barriers.map((b) => ({
        ...b,
        memory: `${model.orchestrator.memoryMb}Mi`,
        timeout: `${model.orchestrator.timeoutSeconds}s`,
        env: env(b.environment),
        componentLabel: `baton-component=${labelValue(b.name)}`,
      })),
      coordinators: model.coordinators.map((c) => ({
        ...c,
        env: env(c.environment),
        componentLabel: `baton-component=${labelValue(c.name)}`,
      })),
      kmsKeys: [...new Set(model.topics.flatMap((t) => (t.kmsKey === undefined ? [] : [t.kmsKey])))].sort(),
      topics: model.topics.map((t) => ({ ...t, kmsKey: t.kmsKey ?? '' })),
    },
    {
      serviceAccount: serviceAccountCommand(model),
      subscription: subscriptionCommands,
      serviceAccountBindings: serviceAccountBindingCommands,
      deadLetterSubscriber: deadLetterSubscriberCommand,
      alert: (a: AlertModel) => `  ensure_alert ${shellQuote(a.displayName)} ${shellQuote(JSON.stringify(alertPolicy(a, model)))}\n`,
    },
  );
}

/*
 * The commands written once per service account, subscription and alert: the template's
 * `{{#eachBlock}}` loops, in TypeScript because there are tens of thousands of them at 30,000
 * processors. Every value is shell-quoted as the template would (`sh` → `shellQuote`).
 */

/** `ensure_service_account` for a component's account. */
function serviceAccountCommand(model: DeployModel): (a: ServiceAccountModel) => string {
  return (a) => {
    const displayName = `Baton ${a.kind} ${a.component}`.slice(0, 100);
    const description = (a.description || `Runs ${a.kind} ${a.component} of pipeline ${model.name}.`).slice(0, 256);
    return `  ensure_service_account ${shellQuote(a.accountId)} ${shellQuote(displayName)} ${shellQuote(description)}\n`;
  };
}

/** `ensure_subscription`, after looking up the push endpoint's URL for a push subscription. */
function subscriptionCommands(s: SubscriptionModel): string {
  const head = `ensure_subscription ${shellQuote(s.name)} ${shellQuote(s.topic)} ${shellQuote(s.filter ?? '')} ${settingsArgs(s)}`;
  if (s.push === undefined) return `${head}\n`;
  const { target, invoker } = s.push;
  const urlFunction = target.kind === 'function' ? 'function_url' : 'service_url';
  // Baton components check the audience in-app: their deterministic URL; a user service keeps its endpoint.
  const audience = target.kind === 'service' ? '"$url"' : `"$(audience_url ${shellQuote(target.name)})"`;
  return `url=$(${urlFunction} ${shellQuote(target.name)})
${head} \\
  --push-endpoint "$url" --push-auth-service-account "$(sa_email ${shellQuote(invoker)})" --push-auth-token-audience ${audience}
`;
}

/** A component account's publisher, dead-letter publisher, subscriber and state bindings. */
function serviceAccountBindingCommands(a: ServiceAccountModel): string {
  const member = `--member "serviceAccount:$(sa_email ${shellQuote(a.accountId)})"`;
  let text = '';
  for (const topic of [...a.publishes, ...a.deadLetterPublishes]) {
    text += `  run gcloud pubsub topics add-iam-policy-binding ${shellQuote(topic)} --project "$PROJECT" ${member} --role roles/pubsub.publisher --format none\n`;
  }
  for (const subscription of a.pulls) {
    text += `  run gcloud pubsub subscriptions add-iam-policy-binding ${shellQuote(subscription)} --project "$PROJECT" ${member} --role roles/pubsub.subscriber --format none\n`;
  }
  if (a.stateful) text += `  run gcloud projects add-iam-policy-binding "$PROJECT" ${member} --role roles/datastore.user --condition None --format none\n`;
  return text;
}

/** The Pub/Sub service agent's subscriber grant on a subscription with a dead-letter policy. */
function deadLetterSubscriberCommand(s: SubscriptionModel): string {
  if (!s.deadLetter) return '';
  return `  run gcloud pubsub subscriptions add-iam-policy-binding ${shellQuote(s.name)} --project "$PROJECT" --member "$agent" --role roles/pubsub.subscriber --format none\n`;
}

/** Subscription flags shared by create and update (numbers and fixed words only). */
function settingsArgs(s: SubscriptionModel): string {
  const args = [
    `--ack-deadline ${s.settings.ackDeadlineSeconds}`,
    `--message-retention-duration ${s.settings.messageRetentionSeconds}s`,
    `--min-retry-delay ${s.settings.minBackoffSeconds}s`,
    `--max-retry-delay ${s.settings.maxBackoffSeconds}s`,
    '--expiration-period never',
  ];
  if (s.deadLetter) args.push(`--dead-letter-topic ${s.deadLetter.name}`, `--max-delivery-attempts ${s.settings.deadLetterAfterAttempts}`);
  return args.join(' ');
}

/**
 * The alert policy in the Monitoring API's JSON form (what `--policy` takes). An absence alert's
 * query keeps the window placeholder; `ensure_alert` puts BATON_COMPLETION_ABSENCE_WINDOW there.
 */
function alertPolicy(alert: AlertModel, model: DeployModel): object {
  const condition =
    alert.kind === 'deadline-missed'
      ? { conditionMatchedLog: { filter: alert.filter } }
      : alert.kind === 'no-final-output'
        ? { conditionPrometheusQueryLanguage: { query: alert.query, duration: alert.duration, evaluationInterval: '60s' } }
        : {
            conditionThreshold: {
              filter: alert.filter,
              comparison: 'COMPARISON_GT',
              thresholdValue: alert.thresholdValue,
              duration: alert.duration,
              aggregations: [{ alignmentPeriod: '60s', perSeriesAligner: 'ALIGN_MAX' }],
            },
          };
  return {
    displayName: alert.displayName,
    combiner: 'OR',
    userLabels: { 'baton-pipeline': model.labels.pipeline, 'baton-hash': model.labels.hash },
    documentation: { mimeType: 'text/markdown', content: alert.documentation },
    conditions: [{ displayName: alert.conditionName, ...condition }],
    alertStrategy: alert.kind === 'deadline-missed' ? { autoClose: '1800s', notificationRateLimit: { period: '3600s' } } : { autoClose: '1800s' },
  };
}
