import type { Firestore } from '@google-cloud/firestore';
import { DEFAULT_FIRESTORE_PREFIX, FIRESTORE_COLLECTIONS, TTL_FIELD } from '../../config/conventions.ts';
import type { RunJournal } from '../../ports/run-journal.ts';
import { expiryFrom } from './firestore-docs.ts';

/** The run journal on Firestore: one document per name in `<prefix>run_journal`, expiring its last write + retention. */
export class FirestoreRunJournal implements RunJournal {
  constructor(
    private readonly firestore: Firestore,
    private readonly prefix = DEFAULT_FIRESTORE_PREFIX,
  ) {}

  async get<T>(name: string): Promise<T | undefined> {
    const doc = await this.firestore.collection(`${this.prefix}${FIRESTORE_COLLECTIONS.runJournal}`).doc(name).get();
    return doc.exists ? (JSON.parse(String(doc.get('value'))) as T) : undefined;
  }

  async set(name: string, value: unknown): Promise<void> {
    await this.firestore
      .collection(`${this.prefix}${FIRESTORE_COLLECTIONS.runJournal}`)
      .doc(name)
      .set({ value: JSON.stringify(value), [TTL_FIELD]: expiryFrom(Date.now()) });
  }
}
