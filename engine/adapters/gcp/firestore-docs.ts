import type { DocumentReference, Firestore } from '@google-cloud/firestore';

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
 */
export async function createOnce(ref: DocumentReference, data: Record<string, unknown>): Promise<boolean> {
  try {
    await ref.create(data);
    return true;
  } catch (error) {
    if (statusOf(error) === ALREADY_EXISTS) return false;
    throw error;
  }
}

/** Collection names under one prefix, so several Baton installations can share a database. */
export function collections(db: Firestore, prefix: string) {
  const c = (name: string) => db.collection(`${prefix}${name}`);
  return {
    keys: c('keys'),
    triggers: c('triggers'),
    batches: c('batches'),
    activeBatches: c('active_batches'),
    busSubscriptions: c('bus_subscriptions'),
    busPublished: c('bus_published'),
    busSettled: c('bus_settled'),
    busDeadLetters: c('bus_dead_letters'),
  };
}

/** The collections of one prefix. */
export type Collections = ReturnType<typeof collections>;

/** Parses the `json` field every document keeps its record in (Firestore has no `undefined` and no nested arrays). */
export function recordOf<T>(data: { json?: unknown } | undefined): T {
  if (typeof data?.json !== 'string') throw new Error('Baton document without a json record');
  return JSON.parse(data.json) as T;
}
