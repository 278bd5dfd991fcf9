import type { AlertModel, BarrierModel, SubscriptionModel, TopicModel } from './deploy-model-types.ts';
import { tfId } from './escape.ts';

/** Where the completion-absence window goes in an absence alert's query (replaced at deploy time, never user text). */
export const ABSENCE_WINDOW_PLACEHOLDER = '__BATON_COMPLETION_ABSENCE_WINDOW__';

/** Longest grace the no-final-output window adds to one key cadence: a daily key gets 26 h. */
const ABSENCE_GRACE_MS = 2 * 3_600_000;

/**
 * Default of the Terraform variable `completion_absence_window` (and deploy.sh's override), as a
 * PromQL duration in seconds: one key cadence (`key.cadence`; 1 d for date keys, 1 h for hour keys)
 * plus a grace of 2 h, or of one more cadence when that is shorter — daily keys 93600s (26 h), hourly
 * keys 7200s (2 h).
 */
export function completionAbsenceWindow(cadenceMs: number): string {
  return `${(cadenceMs + Math.min(cadenceMs, ABSENCE_GRACE_MS)) / 1000}s`;
}

/** `93600s` as people read it: `26 h`, `2 h`, `90 min`. */
function formatWindow(window: string): string {
  const seconds = Number(window.slice(0, -1));
  if (seconds % 3600 === 0) return `${seconds / 3600} h`;
  if (seconds % 60 === 0) return `${seconds / 60} min`;
  return window;
}

/** A PromQL string literal (topic names hold no quote or backslash, but escape anyway). */
const promString = (value: string): string => `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;

/**
 * The alerts a pipeline gets: one per dead-letter topic (it holds messages), one per subscription
 * (oldest unacked message older than every retry allows), one per barrier with deadlines (a
 * deadline passed without all members) and one per terminal topic (nothing published the
 * pipeline's final output for a whole window: some key never completed). Each says what it means
 * and what to do.
 */
export function buildAlerts(
  pipelineName: string,
  topics: readonly TopicModel[],
  subscriptions: readonly SubscriptionModel[],
  barriers: readonly BarrierModel[],
  terminalTopics: readonly string[] = [],
  absenceWindow: string = completionAbsenceWindow(86_400_000),
): AlertModel[] {
  const alerts: Omit<AlertModel, 'conditionName' | 'documentation' | 'query'>[] = [];
  const absences: Omit<AlertModel, 'conditionName' | 'documentation'>[] = [];
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
  for (const topic of terminalTopics) {
    const publishers = topics.find((t) => t.name === topic)?.publishers.join(', ') ?? '';
    absences.push({
      id: `no-output-${topic}`,
      tfId: tfId(`no-output-${topic}`),
      kind: 'no-final-output',
      displayName: `[baton ${pipelineName}] pipeline produced no final output on ${topic}`,
      subject: topic,
      filter: `resource.type = "pubsub_topic" AND resource.labels.topic_id = "${topic}" AND metric.type = "pubsub.googleapis.com/topic/send_message_operation_count"`,
      query: `absent_over_time(pubsub_googleapis_com:topic_send_message_operation_count{monitored_resource="pubsub_topic",topic_id=${promString(topic)}}[${ABSENCE_WINDOW_PLACEHOLDER}])`,
      thresholdValue: 0,
      duration: '0s',
      meaning: `Nothing was published to ${topic}, the pipeline's final output (published by ${publishers}; nothing in the pipeline consumes it), for the whole completion window (Terraform variable completion_absence_window, or BATON_COMPLETION_ABSENCE_WINDOW for deploy.sh; default ${absenceWindow} = ${formatWindow(absenceWindow)}, from the key's cadence): no key ran to the end. Every phase can look healthy while one barrier waits forever; this is the one check that spans all of them.`,
      action: `Run \`npx baton status --backend gcp\` and find the earliest key that is not complete; its earliest open barrier names the members it still waits for. Re-run those members (or their phase's trigger), or accept the partial run; then confirm a message reaches ${topic}.`,
    });
  }
  return [...alerts.map((a) => ({ ...a, query: '' })), ...absences].map((a) => ({
    ...a,
    conditionName: CONDITION_NAMES[a.kind],
    documentation: `${a.meaning}\n\n**What to do:** ${a.action}\n\nRunbook: docs/runbook.md#${a.id}`,
  }));
}

const CONDITION_NAMES: Record<AlertModel['kind'], string> = {
  'dlq-holding': 'undelivered dead letters > 0',
  'oldest-unacked': 'oldest unacked message age',
  'deadline-missed': 'deadline missed log entry',
  'no-final-output': 'no message published to the terminal topic',
};
