import { Timestamp, type DocumentReference, type Firestore } from '@google-cloud/firestore';
import { FIRESTORE_COLLECTIONS, RETENTION_MS, TTL_FIELD } from '../../config/conventions.ts';

/** gRPC status of a `create()` that found the document already there. */
const ALREADY_EXISTS = 6;
/** gRPC status of an `update()` on a missing document. */
export const NOT_FOUND = 5;

/**
 * A Firestore document id from parts. Parts are percent-encoded (and `~`, `.` too) so that no part can
 * contain the `~` separator or a `/`, and ids like `..` or `__x__` cannot arise.
 */
export function docId(...parts: readonly string[]): string {
  return parts.map((part) => encodeURIComponent(part).replace(/[~.!*'()_]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)).join('~');
}

/** The gRPC status code of a Firestore error, if it has one. */
export function statusOf(error: unknown): number | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

/**
 * Creates a document with a must-not-exist precondition. Returns false when it already existed: that
 * precondition, checked by the server, is every fire-once and dedupe decision of the gcp backend.
 * Every document carries `expire_at` (`expiryFrom`), which Firestore's TTL policy deletes it after.
 */
export async function createOnce(ref: DocumentReference, data: Record<string, unknown>, expireAt: Timestamp): Promise<boolean> {
  try {
    await ref.create({ ...data, [TTL_FIELD]: expireAt });
    return true;
  } catch (error) {
    if (statusOf(error) === ALREADY_EXISTS) return false;
    throw error;
  }
}

/** The expiry of a document whose retention counts from `fromMs` (a key's first completion, a record's creation). */
export function expiryFrom(fromMs: number): Timestamp {
  return Timestamp.fromMillis(fromMs + RETENTION_MS);
}

/** Collection names under one prefix, so several Baton installations can share a database. */
export function collections(db: Firestore, prefix: string) {
  const c = (name: string) => db.collection(`${prefix}${name}`);
  const n = FIRESTORE_COLLECTIONS;
  return {
    keys: c(n.keys),
    triggers: c(n.triggers),
    batches: c(n.batches),
    activeBatches: c(n.activeBatches),
    busSubscriptions: c(n.busSubscriptions),
    busPublished: c(n.busPublished),
    busSettled: c(n.busSettled),
    busDeadLetters: c(n.busDeadLetters),
    runJournal: c(n.runJournal),
  };
}

/** The collections of one prefix. */
export type Collections = ReturnType<typeof collections>;

/** Parses the `json` field every document keeps its record in (Firestore has no `undefined` and no nested arrays). */
export function recordOf<T>(data: { json?: unknown } | undefined): T {
  if (typeof data?.json !== 'string') throw new Error('Baton document without a json record');
  return JSON.parse(data.json) as T;
}
