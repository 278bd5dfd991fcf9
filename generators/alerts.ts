import type { BarrierModel, SubscriptionModel, TopicModel } from './deploy-model.ts';
import { tfId } from './escape.ts';

/** A generated alert policy, with what it means and what to do (rendered into Terraform, deploy.sh and the runbook). */
export interface AlertModel {
  readonly id: string;
  readonly tfId: string;
  readonly kind: 'dlq-holding' | 'oldest-unacked' | 'deadline-missed';
  readonly displayName: string;
  readonly subject: string;
  /** Metric filter (metric alerts) or log filter (log-match alerts). */
  readonly filter: string;
  readonly thresholdValue: number;
  readonly duration: string;
  readonly meaning: string;
  readonly action: string;
  readonly conditionName: string;
  /** Markdown shown on the incident: meaning, action and the runbook anchor. */
  readonly documentation: string;
}

/**
 * The alerts a pipeline gets: one per dead-letter topic (it holds messages), one per subscription
 * (oldest unacked message older than every retry allows) and one per barrier with deadlines (a
 * deadline passed without all members). Each says what it means and what to do.
 */
export function buildAlerts(
  pipelineName: string,
  topics: readonly TopicModel[],
  subscriptions: readonly SubscriptionModel[],
  barriers: readonly BarrierModel[],
): AlertModel[] {
  const alerts: Omit<AlertModel, 'conditionName' | 'documentation'>[] = [];
  for (const topic of topics) {
    if (!topic.deadLetter) continue;
    alerts.push({
      id: `dlq-${topic.deadLetter.name}`,
      tfId: tfId(`dlq-${topic.deadLetter.name}`),
      kind: 'dlq-holding',
      displayName: `[baton ${pipelineName}] dead-letter topic ${topic.deadLetter.name} holds messages`,
      subject: topic.deadLetter.name,
      filter: `resource.type = "pubsub_subscription" AND resource.labels.subscription_id = "${topic.deadLetter.holdSubscription}" AND metric.type = "pubsub.googleapis.com/subscription/num_undelivered_messages"`,
      thresholdValue: 0,
      duration: '0s',
      meaning: `A message on ${topic.name} failed every delivery attempt and was moved to ${topic.deadLetter.name}; its work did not happen.`,
      action: `Pull the held messages from ${topic.deadLetter.holdSubscription}, read their delivery attempts and the consumer's logs, fix the cause, then re-publish them to ${topic.name}.`,
    });
  }
  for (const s of subscriptions) {
    alerts.push({
      id: `unacked-${s.name}`,
      tfId: tfId(`unacked-${s.name}`),
      kind: 'oldest-unacked',
      displayName: `[baton ${pipelineName}] ${s.name}: oldest unacked message older than ${s.stuckAfterSeconds}s`,
      subject: s.name,
      filter: `resource.type = "pubsub_subscription" AND resource.labels.subscription_id = "${s.name}" AND metric.type = "pubsub.googleapis.com/subscription/oldest_unacked_message_age"`,
      thresholdValue: s.stuckAfterSeconds,
      duration: '300s',
      meaning: `A message on ${s.topic} for ${s.consumer} is older than every retry allows (${s.settings.deadLetterAfterAttempts} attempts × (${s.settings.ackDeadlineSeconds}s ack + ${s.settings.maxBackoffSeconds}s backoff)): delivery is stuck, or dead-lettering is failing.`,
      action: `Check that ${s.consumer} is up and answering 2xx, that the push identity still holds roles/run.invoker on it, and that the Pub/Sub service agent can publish to the dead-letter topic.`,
    });
  }
  for (const b of barriers) {
    if (b.deadlines.length === 0) continue;
    alerts.push({
      id: `deadline-${b.name}`,
      tfId: tfId(`deadline-${b.name}`),
      kind: 'deadline-missed',
      displayName: `[baton ${pipelineName}] barrier ${b.name} missed a deadline`,
      subject: b.name,
      filter: `jsonPayload.baton_event = "barrier.deadline_missed" AND jsonPayload.barrier = "${b.name}"`,
      thresholdValue: 0,
      duration: '0s',
      meaning: `Barrier ${b.name} reached a deadline tier without all members (${b.rule}); it fired with a partial set or is still waiting.`,
      action: `Run \`baton status\` for the key in the log entry; the entry names the missing members. Re-run those members, or accept the partial run.`,
    });
  }
  return alerts.map((a) => ({
    ...a,
    conditionName: CONDITION_NAMES[a.kind],
    documentation: `${a.meaning}\n\n**What to do:** ${a.action}\n\nRunbook: docs/runbook.md#${a.id}`,
  }));
}

const CONDITION_NAMES: Record<AlertModel['kind'], string> = {
  'dlq-holding': 'undelivered dead letters > 0',
  'oldest-unacked': 'oldest unacked message age',
  'deadline-missed': 'deadline missed log entry',
};
