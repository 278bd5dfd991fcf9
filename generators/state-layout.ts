import {
  DEFAULT_FIRESTORE_PREFIX,
  FIRESTORE_COLLECTIONS,
  FIRESTORE_SUBCOLLECTIONS,
  PUBSUB_MAX_MESSAGE_RETENTION_DAYS,
  RETENTION_DAYS,
  TTL_FIELD,
} from '../engine/config/conventions.ts';

/**
 * Where Baton's state lives in Firestore, and the TTL field that expires it. The generated TTL
 * policies and docs/barriers.md are rendered from this one description, and its collection groups
 * come from the same constants the gcp adapters name their collections with
 * (`FIRESTORE_COLLECTIONS`, `FIRESTORE_SUBCOLLECTIONS` in engine/config/conventions.ts), so the render
 * cannot name a collection the code does not write, or miss one it does.
 */
export interface StateLayout {
  /** Field holding each document's expiry time; Firestore TTL deletes the document after it. */
  readonly ttlField: string;
  /** Days a document is kept (see `RETENTION_DAYS`). */
  readonly retentionDays: number;
  /** Pub/Sub's longest message retention, which `retentionDays` exceeds. */
  readonly redeliveryDays: number;
  readonly collections: readonly { readonly group: string; readonly path: string; readonly holds: string; readonly expires: string }[];
}

type Role = keyof typeof FIRESTORE_COLLECTIONS | keyof typeof FIRESTORE_SUBCOLLECTIONS;

const KEY_UNIT = "the key's first completion + retention (the key expires as a unit)";
const CREATED = 'its creation + retention';

/** Every collection the adapters write, by role: a role missing here does not compile. */
const DESCRIBED: Record<Role, { readonly path: (p: string) => string; readonly holds: string; readonly expires: string }> = {
  keys: {
    path: (p) => `${p}keys/{barrier~key}`,
    holds: 'the key snapshot (expected members, mode, thresholds, first completion), created once',
    expires: KEY_UNIT,
  },
  members: {
    path: (p) => `${p}keys/{barrier~key}/members/{member~execution}`,
    holds: 'one document per completion, created with a must-not-exist precondition',
    expires: KEY_UNIT,
  },
  triggers: {
    path: (p) => `${p}triggers/{emitter~scope}`,
    holds: "the fire-once decision of a barrier key or a batch's completion (or a supersede marker), and whether it was published",
    expires: `for a barrier key, ${KEY_UNIT}; for a batch, the batch's creation + retention`,
  },
  batches: { path: (p) => `${p}batches/{batch}`, holds: 'a coordinator batch: expected entities and state', expires: CREATED },
  items: {
    path: (p) => `${p}batches/{batch}/items/{entity~execution}`,
    holds: 'one document per worker report, created once',
    expires: CREATED,
  },
  activeBatches: {
    path: (p) => `${p}active_batches/{coordinator~key}`,
    holds: 'the newest batch opened for a coordinator × key',
    expires: "its last write (the newest batch's creation) + retention",
  },
  busSubscriptions: { path: (p) => `${p}bus_subscriptions/{subscription}`, holds: 'a subscription the bus created', expires: CREATED },
  busPublished: { path: (p) => `${p}bus_published/{topic~id}`, holds: 'the publish claim and history of one message id', expires: CREATED },
  busSettled: { path: (p) => `${p}bus_settled/{subscription~id}`, holds: 'a message a subscription acked or dead-lettered', expires: CREATED },
  busDeadLetters: { path: (p) => `${p}bus_dead_letters/{subscription~id}`, holds: 'a dead-lettered message and why', expires: CREATED },
  runJournal: { path: (p) => `${p}run_journal/{name}`, holds: "the CLI run journal's entries", expires: 'its last write + retention' },
};

function groupOf(role: Role, prefix: string): string {
  return role in FIRESTORE_SUBCOLLECTIONS
    ? FIRESTORE_SUBCOLLECTIONS[role as keyof typeof FIRESTORE_SUBCOLLECTIONS]
    : `${prefix}${FIRESTORE_COLLECTIONS[role as keyof typeof FIRESTORE_COLLECTIONS]}`;
}

/** The layout the gcp adapters write under a collection prefix (default `baton_`). */
export function stateLayout(prefix: string = DEFAULT_FIRESTORE_PREFIX): StateLayout {
  const roles = [...Object.keys(FIRESTORE_COLLECTIONS), ...Object.keys(FIRESTORE_SUBCOLLECTIONS)] as Role[];
  return {
    ttlField: TTL_FIELD,
    retentionDays: RETENTION_DAYS,
    redeliveryDays: PUBSUB_MAX_MESSAGE_RETENTION_DAYS,
    collections: roles.map((role) => ({
      group: groupOf(role, prefix),
      path: DESCRIBED[role].path(prefix),
      holds: DESCRIBED[role].holds,
      expires: DESCRIBED[role].expires,
    })),
  };
}

/** The one state layout, under the default prefix. */
export const STATE_LAYOUT: StateLayout = stateLayout();
