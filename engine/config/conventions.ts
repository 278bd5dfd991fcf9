/**
 * Names every part of Baton must agree on: the graph that plans subscriptions, the runtime that
 * publishes, the adapters that filter and the generated manifests.
 */

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
