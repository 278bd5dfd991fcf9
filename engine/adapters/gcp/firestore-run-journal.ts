import type { Firestore } from '@google-cloud/firestore';
import type { RunJournal } from '../../ports/run-journal.ts';

/** The run journal on Firestore: one document per name in `<prefix>run_journal`. */
export class FirestoreRunJournal implements RunJournal {
  constructor(
    private readonly firestore: Firestore,
    private readonly prefix = 'baton_',
  ) {}

  async get<T>(name: string): Promise<T | undefined> {
    const doc = await this.firestore.collection(`${this.prefix}run_journal`).doc(name).get();
    return doc.exists ? (JSON.parse(String(doc.get('value'))) as T) : undefined;
  }

  async set(name: string, value: unknown): Promise<void> {
    await this.firestore
      .collection(`${this.prefix}run_journal`)
      .doc(name)
      .set({ value: JSON.stringify(value) });
  }
}
