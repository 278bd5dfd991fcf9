import { statSync } from 'node:fs';
import type { ResolvedPipeline } from '../config/resolved-pipeline.ts';
import type { SnapshotSource } from '../dashboard/dashboard-snapshot.ts';
import type { DeadLetterRecord, RedriveOutcome } from '../ports/dead-letter-queue.ts';
import { VirtualClock } from '../simulator/virtual-clock.ts';
import { databaseFile } from './embedded-backend.ts';
import type { BackendChoice } from './run-backend.ts';
import { StateError } from './state-error.ts';
import { acquireStateLock } from './state-lock.ts';
import { knownKeys, openStoredRun, type RunRecord, type StoredRun } from './stored-run.ts';

/**
 * The stored run the dashboard reads, kept current while a run writes it: each read takes the run's
 * record and clock from the journal again, and on the embedded backend a database that a
 * `baton run --fresh` replaced (a new file under the same name) is opened again.
 */
export class LiveStoredRun {
  private opened: Promise<StoredRun | undefined> | undefined;
  private file: string | undefined;
  private listed: { at: number; letters: Promise<DeadLetterRecord[]> } | undefined;

  constructor(
    private readonly pipeline: ResolvedPipeline,
    private readonly choice: BackendChoice,
    /** The loaded pipeline's hash, carried by every trigger a redrive's delivery fires (as `dlq redrive` does). */
    private readonly pipelineHash?: string,
  ) {}

  /** The stored run as it is now (opened again if its database was replaced); undefined without state. */
  current(): Promise<StoredRun | undefined> {
    const identity = this.fileIdentity();
    if (this.opened !== undefined && identity === this.file) return this.opened;
    // Pages read at once: the first to see the change reopens, the others wait for the same open.
    const previous = this.opened;
    this.file = identity;
    const opened = (async () => {
      await (await previous?.catch(() => undefined))?.backend.close();
      return openStoredRun(this.pipeline, this.choice);
    })();
    this.opened = opened;
    opened.catch(() => {
      if (this.opened === opened) this.opened = undefined; // the next read tries again
    });
    return opened;
  }

  /** What the dashboard reads a snapshot from; throws when the state went away. */
  async source(): Promise<SnapshotSource> {
    const run = await this.current();
    if (run === undefined) throw new Error(`${this.choice.stateDir}/ holds no state any more`);
    return {
      runtime: run.runtime,
      deadLetters: this.choice.backend === 'embedded' ? run.backend.deadLetters : { list: () => this.gcpDeadLetters(run) },
      // Pub/Sub keeps no history: there the barriers alone say which processors reported.
      ...(this.choice.backend === 'embedded' ? { history: run.backend.bus } : {}),
      readRun: async () => {
        const record = await run.backend.journal.get<RunRecord>('run');
        const now = await run.backend.journal.get<number>('clock');
        if (now !== undefined && run.clock instanceof VirtualClock) run.clock.advanceTo(now);
        return { runId: record?.runId, keys: await knownKeys(this.pipeline, { ...run, record }), now: run.clock.now() };
      },
    };
  }

  /**
   * On gcp, listing dead letters pulls and releases every hold subscription (pubsub-dead-letter-queue.ts):
   * pages re-read the rest every second, the dead letters at most every `GCP_DEAD_LETTERS_MS`.
   */
  private gcpDeadLetters(run: StoredRun): Promise<DeadLetterRecord[]> {
    const now = Date.now();
    if (this.listed === undefined || now - this.listed.at >= GCP_DEAD_LETTERS_MS) {
      const letters = run.backend.deadLetters.list();
      this.listed = { at: now, letters };
      letters.catch(() => {
        if (this.listed?.letters === letters) this.listed = undefined; // the next read tries again
      });
    }
    return this.listed.letters;
  }

  /**
   * Redrives one dead letter (see `DeadLetterQueue.redrive`) and says what happened, in one line. On
   * the embedded backend it holds --state-dir as `baton tick` does: while a run holds it nothing is
   * redriven and the answer names the run; the redelivery is handled at once, on the run's simulated
   * clock. (On gcp the deployment's or the next run's consumers receive it.)
   */
  async redrive(id: string, command: string): Promise<string> {
    if (this.choice.backend !== 'embedded') {
      const run = await this.current();
      if (run === undefined) return 'there is no state any more';
      const outcomes = await run.backend.deadLetters.redrive([id]);
      this.listed = undefined; // show the redrive at the next read
      return describeOutcome(outcomes);
    }
    let lock: { release(): void };
    try {
      lock = acquireStateLock(this.choice.stateDir, command);
    } catch (error) {
      if (error instanceof StateError) return `not redriven: ${error.message}`;
      throw error;
    }
    try {
      const run = await openStoredRun(this.pipeline, this.choice, {
        write: { clock: new VirtualClock(0), ...(this.pipelineHash === undefined ? {} : { pipelineHash: this.pipelineHash }) },
      });
      if (run === undefined) return 'there is no state any more';
      try {
        const outcomes = await run.backend.deadLetters.redrive([id]);
        // As `baton dlq redrive` does: nothing else consumes between runs, so deliver what is due now.
        if (outcomes.some((o) => o.outcome === 'redriven')) await run.runtime.pump();
        return describeOutcome(outcomes);
      } finally {
        await run.backend.close();
      }
    } finally {
      lock.release();
      // Read afresh: a connection opened before the first redrive does not see the redrive marks.
      await this.close();
    }
  }

  async close(): Promise<void> {
    const opened = this.opened;
    this.opened = undefined;
    await (await opened?.catch(() => undefined))?.backend.close();
  }

  /** The embedded database file's identity (device and inode); undefined on gcp or when absent. */
  private fileIdentity(): string | undefined {
    if (this.choice.backend !== 'embedded') return undefined;
    const stat = statSync(databaseFile(this.choice.stateDir), { throwIfNoEntry: false });
    return stat === undefined ? undefined : `${stat.dev}:${stat.ino}`;
  }
}

function describeOutcome([outcome]: readonly RedriveOutcome[]): string {
  return outcome === undefined ? 'nothing happened' : `${outcome.id}: ${outcome.outcome}; ${outcome.note}`;
}

/** How often the dashboard lists dead letters on gcp, where a listing pulls every hold subscription. */
const GCP_DEAD_LETTERS_MS = 10_000;
