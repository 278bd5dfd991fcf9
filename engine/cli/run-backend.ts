import type { RunningEmulators } from '../adapters/gcp/index.ts';
import type { ResolvedPipeline } from '../config/resolved-pipeline.ts';
import type { Clock } from '../ports/clock.ts';
import type { DeadLetterQueue } from '../ports/dead-letter-queue.ts';
import type { MessageBus } from '../ports/message-bus.ts';
import type { MessageHistory } from '../ports/message-history.ts';
import type { RunJournal } from '../ports/run-journal.ts';
import type { StateStore } from '../ports/state-store.ts';
import { clearEmbeddedState, hasEmbeddedState, openEmbeddedBackend } from './embedded-backend.ts';

/** Which backend a command uses, and where it is. */
export interface BackendChoice {
  readonly backend: 'embedded' | 'gcp';
  /** Embedded: the folder holding the SQLite file. */
  readonly stateDir: string;
  /** gcp: the project (default: pipeline.project, or `baton-local` on emulators). */
  readonly project?: string;
  /** gcp: start the Pub/Sub and Firestore emulators for this command and stop them after. */
  readonly emulators?: boolean;
}

/** A backend opened for a command: the ports, where they are, and how to close them. */
export interface RunBackend {
  readonly where: string;
  readonly bus: MessageBus & MessageHistory;
  readonly store: StateStore;
  readonly journal: RunJournal;
  /** Dead letters as `baton dlq` works on them. */
  readonly deadLetters: DeadLetterQueue;
  close(): Promise<void>;
}

/** Why a backend could not be opened, said for the user. */
export class BackendError extends Error {}

/** A Google Cloud client error in one line, with what to do about it. */
export function cloudProblem(error: unknown, projectId: string): string {
  const first = (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? '';
  const credentials = /credentials/i.test(first)
    ? '; run `gcloud auth application-default login`, or use the emulators (--emulators / PUBSUB_EMULATOR_HOST)'
    : '';
  return `cannot use Google Cloud project ${projectId}: ${first}${credentials}`;
}

/**
 * Opens the chosen backend. `fresh` forgets earlier runs first (embedded: deletes the database;
 * gcp on emulators: clears Firestore; refused on a real project). `mustExist` opens only existing
 * state (tick): undefined when there is none. `readOnly` (status, trace) also opens only existing
 * state, and the embedded database without writing to it: no migration, no sweep, works on a
 * read-only copy. On gcp, existing state means a run's journal unless `withoutRun` (dlq): a deployed
 * project holds dead letters without ever having had a `baton run`. A database the user must fix
 * throws a `StateError`.
 */
export async function openRunBackend(
  choice: BackendChoice,
  pipeline: ResolvedPipeline,
  clock: Clock,
  {
    fresh = false,
    mustExist = false,
    readOnly = false,
    withoutRun = false,
  }: { fresh?: boolean; mustExist?: boolean; readOnly?: boolean; withoutRun?: boolean } = {},
): Promise<RunBackend | undefined> {
  const existing = mustExist || readOnly;
  if (choice.backend === 'embedded') {
    if (fresh) clearEmbeddedState(choice.stateDir);
    if (existing && !hasEmbeddedState(choice.stateDir)) return undefined;
    const backend = openEmbeddedBackend(choice.stateDir, clock, { readOnly });
    if (backend === undefined) return undefined;
    const { file: where, bus, store, journal, deadLetters } = backend;
    return { where, bus, store, journal, deadLetters, close: () => Promise.resolve(backend.close()) };
  }

  // Loaded only for --backend gcp: the Google Cloud client libraries take most of a second to load.
  const { clearFirestore, openGcpBackend, provisionTopology, startEmulators } = await import('../adapters/gcp/index.ts');
  const { FirestoreRunJournal } = await import('../adapters/gcp/firestore-run-journal.ts');
  const { PubSubDeadLetterQueue } = await import('../adapters/gcp/pubsub-dead-letter-queue.ts');
  let emulators: RunningEmulators | undefined;
  if (choice.emulators) emulators = await startEmulators({ projectId: choice.project ?? pipeline.project ?? 'baton-local' });
  const pubsubHost = process.env.PUBSUB_EMULATOR_HOST;
  const firestoreHost = process.env.FIRESTORE_EMULATOR_HOST;
  const onEmulators = pubsubHost !== undefined && firestoreHost !== undefined;
  if (!onEmulators && choice.project === undefined) {
    throw new BackendError(
      '--backend gcp needs emulators (--emulators, or PUBSUB_EMULATOR_HOST and FIRESTORE_EMULATOR_HOST) or an explicit --project for real Pub/Sub and Firestore',
    );
  }
  const projectId = choice.project ?? pipeline.project ?? 'baton-local';
  try {
    if (fresh) {
      if (!onEmulators) throw new BackendError(`--fresh would delete Baton's state in project ${projectId}; do that yourself, deliberately`);
      await clearFirestore(firestoreHost, projectId);
    }
    const gcp = openGcpBackend({ projectId, clock });
    const journal = new FirestoreRunJournal(gcp.firestore);
    if (existing && !withoutRun && (await journal.get('run')) === undefined) {
      await gcp.close();
      await emulators?.stop();
      return undefined;
    }
    if (!existing) {
      try {
        await provisionTopology(pipeline, { projectId, pubsub: gcp.pubsub });
      } catch (error) {
        await gcp.close().catch(() => undefined);
        throw new BackendError(cloudProblem(error, projectId));
      }
    }
    const deadLetterTopics = pipeline.topics.flatMap((t) => (t.deadLetter.enabled ? [{ topic: t.name, deadLetterTopic: t.deadLetter.topic }] : []));
    const deadLetters = new PubSubDeadLetterQueue({ pubsub: gcp.pubsub, firestore: gcp.firestore, projectId, clock, deadLetterTopics });
    const where = onEmulators ? `Pub/Sub ${pubsubHost} and Firestore ${firestoreHost} emulators, project ${projectId}` : `project ${projectId}`;
    return {
      where,
      bus: gcp.bus,
      store: gcp.store,
      journal,
      deadLetters,
      close: async () => {
        await deadLetters.close();
        await gcp.close();
        await emulators?.stop();
      },
    };
  } catch (error) {
    await emulators?.stop();
    throw error;
  }
}
