// Data flow: DeployModel (topics, dead-letter topics and holds, subscriptions with their settings) → Pub/Sub emulator REST admin API, push endpoints mapped to local ports.
import type { DeployModel, SubscriptionModel } from '../../generators/deploy-model.ts';

/** What to create where. */
export interface TopologyTarget {
  /** `host:port` of the Pub/Sub emulator (admin calls go straight to it: this is `terraform apply`, not a component). */
  readonly pubsubHost: string;
  readonly projectId: string;
  /** The local URL a push subscription delivers to. */
  readonly pushEndpoint: (subscription: SubscriptionModel) => string;
  /**
   * Simulated seconds per real second. Retry backoffs are durations of the simulated deployment, so
   * they are divided by it like every other duration (10 s → 0.17 s at x60); without that, a few
   * transient 5xx answers cost minutes of real time (the emulator backs off 1 s, 18 s, 36 s… at
   * 10 s/600 s) while deadlines and stall windows race ahead on the compressed clock.
   */
  readonly speed?: number;
}

/** A resource the emulator refused, said with what was sent. */
export class TopologyError extends Error {
  readonly code = 'rehearsal/topology';
  readonly retryable = false;
}

/**
 * Creates every topic, dead-letter topic, dead-letter hold subscription and subscription of the
 * deploy model — the same model Terraform and deploy.sh render — with the rendered names, filters,
 * ack deadlines, retry (backoffs compressed by `speed`) and dead-letter policies and retention. Returns how many of each it made.
 */
export async function createEmulatorTopology(model: DeployModel, target: TopologyTarget): Promise<{ topics: number; subscriptions: number }> {
  const base = `http://${target.pubsubHost}/v1/projects/${target.projectId}`;
  const topicPath = (name: string): string => `projects/${target.projectId}/topics/${name}`;
  let topics = 0;
  let subscriptions = 0;
  const backoff = (simulatedSeconds: number): string => `${Math.max(simulatedSeconds / (target.speed ?? 1), 0.1).toFixed(3)}s`;
  for (const topic of model.topics) {
    await put(`${base}/topics/${topic.name}`, { labels: model.labels });
    topics++;
    if (topic.deadLetter === undefined) continue;
    await put(`${base}/topics/${topic.deadLetter.name}`, { labels: model.labels });
    topics++;
    await put(`${base}/subscriptions/${topic.deadLetter.holdSubscription}`, {
      topic: topicPath(topic.deadLetter.name),
      ackDeadlineSeconds: 600,
      messageRetentionDuration: '604800s',
    });
    subscriptions++;
  }
  for (const subscription of model.subscriptions) {
    const { settings } = subscription;
    await put(`${base}/subscriptions/${subscription.name}`, {
      topic: topicPath(subscription.topic),
      ackDeadlineSeconds: settings.ackDeadlineSeconds,
      messageRetentionDuration: `${settings.messageRetentionSeconds}s`,
      retryPolicy: { minimumBackoff: backoff(settings.minBackoffSeconds), maximumBackoff: backoff(settings.maxBackoffSeconds) },
      ...(subscription.filter === undefined ? {} : { filter: subscription.filter }),
      ...(subscription.deadLetter === undefined
        ? {}
        : { deadLetterPolicy: { deadLetterTopic: topicPath(subscription.deadLetter.name), maxDeliveryAttempts: settings.deadLetterAfterAttempts } }),
      ...(subscription.push === undefined ? {} : { pushConfig: { pushEndpoint: target.pushEndpoint(subscription) } }),
    });
    subscriptions++;
  }
  return { topics, subscriptions };
}

async function put(url: string, body: Record<string, unknown>): Promise<void> {
  const response = await fetch(url, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (response.ok || response.status === 409) return;
  throw new TopologyError(`the Pub/Sub emulator refused PUT ${url} ${JSON.stringify(body)}: HTTP ${response.status} ${(await response.text()).slice(0, 300)}`);
}
