/**
 * Names every part of Baton must agree on: the graph that plans subscriptions, the runtime that
 * publishes, the adapters that filter and the generated manifests.
 */

/**
 * The subscription the generated topology keeps on each dead-letter topic so its messages wait to be
 * read (`baton dlq` lists and redrives push-path dead letters from it; the generators render it).
 */
export function holdSubscriptionName(deadLetterTopic: string): string {
  return `baton-hold--${deadLetterTopic}`;
}

/** Message attribute that addresses a dependency trigger to one processor (Pub/Sub filters on it). */
export const TARGET_ATTRIBUTE = 'baton_target';

/**
 * Message attribute carrying Baton's deterministic message id on Pub/Sub, which assigns its own
 * `messageId`: the bus adapter and every publisher set it, push handlers read it back.
 */
export const BATON_ID_ATTRIBUTE = 'baton_id';

/**
 * Longest key, in characters, the key rule accepts (#16.4). Every id Baton derives from a key must stay
 * within the envelope's 256-character id limit: names are at most 50 characters, so the longest,
 * `batch:<coordinator>:trigger:<barrier>:<key>`, is 116 + key ≤ 244 characters; 128 characters are at
 * most 512 UTF-8 bytes, far inside Firestore's 1,500-byte document-id limit. A longer key is refused as
 * a permanent error where it arrives (dead-lettered at the entry, a usage error on the CLI) instead of
 * failing later inside a store or a tick.
 */
export const MAX_KEY_LENGTH = 128;

/**
 * Largest `entities_changed` union a trigger carries, in bytes of JSON (#16.4). A trigger is stored
 * whole (Firestore caps a document at 1 MiB) and published (Pub/Sub caps a message at 10 MB); a
 * larger union is dropped and the trigger says `is_incremental: false`, so its consumer does the
 * full list instead of a store write failing — and being retried — forever.
 */
export const MAX_TRIGGER_ENTITIES_BYTES = 256 * 1024;

/**
 * Days Baton keeps what it stores (issue 16 #7). The rule: a late message must never re-open an expired
 * key, so retention must exceed the longest time a message can still be delivered — Pub/Sub keeps an
 * unacked message at most `PUBSUB_MAX_MESSAGE_RETENTION_DAYS` (7 days). A barrier key expires as a unit:
 * its snapshot, members and trigger slot all carry the key's first completion time + retention, so every
 * redelivery of a completion published within `RETENTION_DAYS − 7` (23) days of the key's first
 * completion arrives while the key is still whole. Bus records and batches expire at their own creation
 * time + retention. Firestore: the `expire_at` field and its TTL policies; SQLite: the bounded sweep.
 */
export const RETENTION_DAYS = 30;

/** Pub/Sub's longest message retention, in days; `RETENTION_DAYS` must exceed it. */
export const PUBSUB_MAX_MESSAGE_RETENTION_DAYS = 7;

/** `RETENTION_DAYS` in milliseconds. */
export const RETENTION_MS = RETENTION_DAYS * 24 * 60 * 60 * 1000;

/** The field every Firestore document Baton creates carries its expiry in (a Timestamp; Firestore TTL deletes after it). */
export const TTL_FIELD = 'expire_at';

/** Default prefix of Baton's Firestore collections. */
export const DEFAULT_FIRESTORE_PREFIX = 'baton_';

/**
 * Every Firestore collection Baton writes, by role: top-level names take the prefix, subcollections
 * (`members` under a key, `items` under a batch) do not. The adapters and the generated TTL policies
 * both read this, so they cannot drift.
 */
export const FIRESTORE_COLLECTIONS = {
  keys: 'keys',
  triggers: 'triggers',
  batches: 'batches',
  activeBatches: 'active_batches',
  busSubscriptions: 'bus_subscriptions',
  busPublished: 'bus_published',
  busSettled: 'bus_settled',
  busDeadLetters: 'bus_dead_letters',
  runJournal: 'run_journal',
} as const;

/** Subcollections Baton writes: a key's members and a batch's reports. */
export const FIRESTORE_SUBCOLLECTIONS = { members: 'members', items: 'items' } as const;

/** Every collection group Baton writes under a prefix: what each TTL policy must name. */
export function firestoreCollectionGroups(prefix: string = DEFAULT_FIRESTORE_PREFIX): string[] {
  return [...Object.values(FIRESTORE_COLLECTIONS).map((name) => `${prefix}${name}`), ...Object.values(FIRESTORE_SUBCOLLECTIONS)];
}

/** Most rows of each kind one SQLite retention sweep deletes, so opening a large database stays quick. */
export const SQLITE_SWEEP_LIMIT = 1000;
