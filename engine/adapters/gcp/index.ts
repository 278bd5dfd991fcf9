// Data flow: CLI / entry points → openGcpBackend → { PubSubMessageBus, FirestoreStateStore } · provisionTopology → Pub/Sub admin API.
import { Firestore } from '@google-cloud/firestore';
import { PubSub } from '@google-cloud/pubsub';
import type { ResolvedPipeline } from '../../config/resolved-pipeline.ts';
import { planSubscriptions, toSubscriptionConfig } from '../../graph/subscription-plan.ts';
import type { Clock } from '../../ports/clock.ts';
import type { MessageBus } from '../../ports/message-bus.ts';
import type { StateStore } from '../../ports/state-store.ts';
import { SystemClock } from '../../runtime/system-clock.ts';
import { FirestoreStateStore } from './firestore-state-store.ts';
import { ensureSubscription, ensureTopic } from './pubsub-admin.ts';
import { pubsubClientOptions } from './pubsub-client-options.ts';
import { PubSubMessageBus } from './pubsub-message-bus.ts';

export { FirestoreStateStore } from './firestore-state-store.ts';
export { PubSubMessageBus, BATON_ID_ATTRIBUTE } from './pubsub-message-bus.ts';
export { PubSubPublisher, type PubSubPublisherOptions } from './pubsub-publisher.ts';
export { startEmulators, findEmulatorJars, clearFirestore, type RunningEmulators } from './emulators.ts';
export { filterExpression, subscriptionOptions } from './pubsub-admin.ts';

/** Where the gcp backend connects. Emulator hosts default to `PUBSUB_EMULATOR_HOST` / `FIRESTORE_EMULATOR_HOST`. */
export interface GcpBackendOptions {
  readonly projectId: string;
  /** `host:port` of a Pub/Sub emulator; unset = real Pub/Sub with Application Default Credentials. */
  readonly pubsubEmulatorHost?: string;
  /** `host:port` of a Firestore emulator; unset = real Firestore. */
  readonly firestoreEmulatorHost?: string;
  /** Firestore database id (default `(default)`). */
  readonly databaseId?: string;
  /** Collection name prefix (default `baton_`). */
  readonly prefix?: string;
  readonly clock?: Clock;
  /** Topics exist already (a deployment): publishing never creates one (see `PubSubMessageBusOptions.provisioned`). */
  readonly provisioned?: boolean;
}

/** A connected gcp backend. */
export interface GcpBackend {
  readonly bus: PubSubMessageBus & MessageBus;
  readonly store: FirestoreStateStore & StateStore;
  readonly pubsub: PubSub;
  readonly firestore: Firestore;
  /** Closes every client it opened. */
  close(): Promise<void>;
}

/** Opens Pub/Sub + Firestore clients (emulator or real) and the two adapters over them. */
export function openGcpBackend(options: GcpBackendOptions): GcpBackend {
  const { pubsub, firestore } = openClients(options);
  const clock = options.clock ?? new SystemClock();
  const prefix = options.prefix ?? 'baton_';
  const bus = new PubSubMessageBus({ pubsub, firestore, projectId: options.projectId, clock, prefix, provisioned: options.provisioned === true });
  const store = new FirestoreStateStore(firestore, { prefix, clock });
  return {
    bus,
    store,
    pubsub,
    firestore,
    close: async () => {
      await bus.close();
      await Promise.all([pubsub.close(), firestore.terminate()]);
    },
  };
}

/** What provisioning did, per resource. */
export interface ProvisionReport {
  readonly topics: readonly { readonly name: string; readonly outcome: 'created' | 'exists' }[];
  readonly subscriptions: readonly { readonly name: string; readonly topic: string; readonly outcome: 'created' | 'exists' }[];
}

/**
 * Creates every topic, dead-letter topic and subscription of a pipeline through the Pub/Sub admin
 * API, from the same subscription plan the runtime and the manifests use. Idempotent: existing
 * resources are left as they are and reported as `exists`.
 */
export async function provisionTopology(
  pipeline: ResolvedPipeline,
  options: Pick<GcpBackendOptions, 'projectId' | 'pubsubEmulatorHost'> & { readonly pubsub?: PubSub },
): Promise<ProvisionReport> {
  const pubsub = options.pubsub ?? openClients({ ...options, skipFirestore: true }).pubsub;
  try {
    const topics: { name: string; outcome: 'created' | 'exists' }[] = [];
    for (const topic of pipeline.topics) {
      topics.push({ name: topic.name, outcome: await ensureTopic(pubsub, topic.name) });
      if (topic.deadLetter.enabled) topics.push({ name: topic.deadLetter.topic, outcome: await ensureTopic(pubsub, topic.deadLetter.topic) });
    }
    const subscriptions: { name: string; topic: string; outcome: 'created' | 'exists' }[] = [];
    for (const planned of planSubscriptions(pipeline)) {
      const config = toSubscriptionConfig(planned);
      subscriptions.push({ name: config.name, topic: config.topic, outcome: await ensureSubscription(pubsub, options.projectId, config) });
    }
    return { topics, subscriptions };
  } finally {
    if (options.pubsub === undefined) await pubsub.close();
  }
}

function openClients(options: GcpBackendOptions & { skipFirestore?: boolean }): { pubsub: PubSub; firestore: Firestore } {
  const pubsubHost = options.pubsubEmulatorHost ?? process.env.PUBSUB_EMULATOR_HOST;
  const firestoreHost = options.firestoreEmulatorHost ?? process.env.FIRESTORE_EMULATOR_HOST;
  const pubsub = new PubSub(pubsubClientOptions(options.projectId, pubsubHost));
  const firestore = options.skipFirestore
    ? (undefined as unknown as Firestore)
    : new Firestore({
        projectId: options.projectId,
        ...(options.databaseId === undefined ? {} : { databaseId: options.databaseId }),
        ...(firestoreHost === undefined ? {} : { host: firestoreHost, ssl: false }),
      });
  return { pubsub, firestore };
}
