import { ABSENCE_WINDOW_PLACEHOLDER } from './alerts.ts';
import type { AlertModel, DeployModel, PushTarget, ServiceAccountModel, SubscriptionModel } from './deploy-model-types.ts';
import { commentLine, hclString, labelValue, tfId } from './escape.ts';

/**
 * The Terraform blocks written once per subscription (pubsub.tf), service account (iam.tf) and alert
 * (monitoring.tf): the templates' `{{#eachBlock}}` loops, in TypeScript because there are tens of
 * thousands of them at 30,000 processors. Each value goes through the escaping helper the templates
 * would apply (`hcl` → `hclString`, `line` → `commentLine`); ids and numbers are written as they are.
 */

/** HCL expression of a push target's URL. */
export function uriOf(target: PushTarget): string {
  switch (target.kind) {
    case 'service':
      return `data.google_cloud_run_v2_service.${target.tfId}.uri`;
    case 'function':
      return `google_cloudfunctions2_function.${target.tfId}.service_config[0].uri`;
    case 'coordinator':
      return `google_cloud_run_v2_service.${target.tfId}.uri`;
  }
}

/**
 * HCL expression of a Baton component's deterministic run.app URL, `https://<service>-<project number>.<region>.run.app`:
 * known before the service exists, so a function can carry its own URL as `BATON_OIDC_AUDIENCE` without a
 * reference cycle, and push subscriptions and scheduler jobs sign their tokens for the same audience.
 */
export function audienceOf(service: string): string {
  return hclString(`https://${service}-PROJECT_NUMBER.REGION.run.app`)
    .replace('PROJECT_NUMBER', '${data.google_project.this.number}')
    .replace('REGION', '${var.region}');
}

/** A subscription with its settings, dead-letter policy and push endpoint (pubsub.tf). */
export function subscriptionResource(s: SubscriptionModel): string {
  const { settings } = s;
  let text = `
# ${commentLine(s.topic)} → ${commentLine(s.consumer)} (${s.consumerKind})
resource "google_pubsub_subscription" ${hclString(s.tfId)} {
  name                       = ${hclString(s.name)}
  topic                      = google_pubsub_topic.${s.topicTfId}.id
  ack_deadline_seconds       = ${settings.ackDeadlineSeconds}
  message_retention_duration = "${settings.messageRetentionSeconds}s"
`;
  if (s.filter) text += `  filter                     = ${hclString(s.filter)}\n`;
  text += `  labels                     = merge(local.labels, { baton-consumer = ${hclString(labelValue(s.consumer))} })
  expiration_policy {
    ttl = ""
  }
  retry_policy {
    minimum_backoff = "${settings.minBackoffSeconds}s"
    maximum_backoff = "${settings.maxBackoffSeconds}s"
  }
`;
  if (s.deadLetter) {
    text += `  dead_letter_policy {
    dead_letter_topic     = google_pubsub_topic.${s.deadLetter.tfId}.id
    max_delivery_attempts = ${settings.deadLetterAfterAttempts}
  }
`;
  }
  if (s.push) {
    const { target } = s.push;
    // Baton components check the audience in-app too: their deterministic URL; a user service keeps its endpoint.
    const audience = target.kind === 'service' ? uriOf(target) : audienceOf(target.name);
    text += `  push_config {
    push_endpoint = ${uriOf(target)}
    oidc_token {
      service_account_email = google_service_account.${tfId(s.push.invoker)}.email
      audience              = ${audience}
    }
  }
`;
  }
  return `${text}}\n`;
}

/**
 * A component's service account with its publisher, dead-letter publisher, subscriber and state
 * bindings (iam.tf). Topics and subscriptions are referred to by their Terraform ids.
 */
export function serviceAccountResources(
  model: DeployModel,
  topicTfIds: ReadonlyMap<string, string>,
  subscriptionTfIds: ReadonlyMap<string, string>,
): (a: ServiceAccountModel) => string {
  return (a) => {
    const member = `google_service_account.${a.tfId}.member`;
    let text = `
# ${a.kind} ${commentLine(a.component)}
resource "google_service_account" ${hclString(a.tfId)} {
  account_id   = ${hclString(a.accountId)}
  display_name = ${hclString(`Baton ${a.kind} ${a.component}`.slice(0, 100))}
  description  = ${hclString((a.description || `Runs ${a.kind} ${a.component} of pipeline ${model.name}.`).slice(0, 256))}
  depends_on   = [google_project_service.iam]
}
`;
    for (const topic of a.publishes) {
      text += `
resource "google_pubsub_topic_iam_member" ${hclString(tfId(`pub-${a.accountId}-${topic}`))} {
  topic  = google_pubsub_topic.${topicTfIds.get(topic) ?? tfId(topic)}.name
  role   = "roles/pubsub.publisher"
  member = ${member}
}
`;
    }
    for (const topic of a.deadLetterPublishes) {
      text += `
# Its handler republishes poison messages to this dead-letter topic itself, with the reason.
resource "google_pubsub_topic_iam_member" ${hclString(tfId(`dlq-${a.accountId}-${topic}`))} {
  topic  = google_pubsub_topic.${topicTfIds.get(topic) ?? tfId(topic)}.name
  role   = "roles/pubsub.publisher"
  member = ${member}
}
`;
    }
    for (const subscription of a.pulls) {
      text += `
resource "google_pubsub_subscription_iam_member" ${hclString(tfId(`pull-${a.accountId}-${subscription}`))} {
  subscription = google_pubsub_subscription.${subscriptionTfIds.get(subscription) ?? tfId(subscription)}.name
  role         = "roles/pubsub.subscriber"
  member       = ${member}
}
`;
    }
    if (a.stateful) {
      text += `
resource "google_project_iam_member" ${hclString(tfId(`state-${a.accountId}`))} {
  project = var.project
  role    = "roles/datastore.user"
  member  = ${member}
}
`;
    }
    return text;
  };
}

/** The Pub/Sub service agent's subscriber grant on a subscription with a dead-letter policy, which forwarding needs (iam.tf). */
export function deadLetterSubscriberResource(s: SubscriptionModel): string {
  if (!s.deadLetter) return '';
  return `
resource "google_pubsub_subscription_iam_member" ${hclString(tfId(`agent-${s.name}`))} {
  subscription = google_pubsub_subscription.${s.tfId}.name
  role         = "roles/pubsub.subscriber"
  member       = local.pubsub_service_agent
}
`;
}

/** An alert policy: a log match, a PromQL absence query or a metric threshold (monitoring.tf). */
export function alertPolicyResource(a: AlertModel): string {
  const logMatch = a.kind === 'deadline-missed';
  let condition: string;
  if (logMatch) {
    condition = `    condition_matched_log {
      filter = ${hclString(a.filter)}
    }
`;
  } else if (a.kind === 'no-final-output') {
    // The window is spliced in as `var.completion_absence_window`; the rest stays an escaped literal.
    const [queryBefore = '', queryAfter = ''] = a.query.split(ABSENCE_WINDOW_PLACEHOLDER);
    condition = `    # Metric absence as PromQL: a condition_absent duration stops at 23.5 h, shorter than a daily key's window.
    condition_prometheus_query_language {
      query               = join("", [${hclString(queryBefore)}, var.completion_absence_window, ${hclString(queryAfter)}])
      duration            = ${hclString(a.duration)}
      evaluation_interval = "60s"
    }
`;
  } else {
    condition = `    condition_threshold {
      filter          = ${hclString(a.filter)}
      comparison      = "COMPARISON_GT"
      threshold_value = ${a.thresholdValue}
      duration        = ${hclString(a.duration)}
      aggregations {
        alignment_period   = "60s"
        per_series_aligner = "ALIGN_MAX"
      }
    }
`;
  }
  const rateLimit = logMatch
    ? `    notification_rate_limit {
      period = "3600s"
    }
`
    : '';
  return `
resource "google_monitoring_alert_policy" ${hclString(a.tfId)} {
  display_name          = ${hclString(a.displayName)}
  combiner              = "OR"
  notification_channels = var.notification_channels
  user_labels           = local.labels
  documentation {
    mime_type = "text/markdown"
    content   = ${hclString(a.documentation)}
  }
  conditions {
    display_name = ${hclString(a.conditionName)}
${condition}  }
  alert_strategy {
    auto_close = "1800s"
${rateLimit}  }
  depends_on = [google_project_service.monitoring, google_project_service.logging]
}
`;
}
