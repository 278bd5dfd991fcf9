// Data flow: subscription gives up on a delivery → dead letter (with reason) → DeadLetterQueue.list / get → redrive (back to that subscription, same id) | purge.
import type { OutgoingMessage } from './message-bus.ts';

/** How a dead letter got there. */
export type DeadLetterPath =
  /** Baton's bus gave up on a pulled delivery (a permanent error, or attempts exhausted) and recorded it. */
  | 'pull'
  /** Pub/Sub's dead-letter policy forwarded a push delivery to the topic's dead-letter topic. */
  | 'push';

/** That a dead letter was redriven: when, and what happened. */
export interface RedriveMark {
  readonly at: number;
  readonly result: string;
}

/** One message a subscription gave up on, as an operator sees it. */
export interface DeadLetterRecord {
  /**
   * Stable id of this dead letter, unique in its backend (a message dead-lettered again after a
   * redrive has a second record with another id). Short on the embedded backend (`7`).
   */
  readonly id: string;
  /** Baton's deterministic message id (the envelope's `ce-id`). */
  readonly messageId: string;
  /** The topic the message was published to (not the dead-letter topic). */
  readonly topic: string;
  /** The subscription that gave up on it; a redrive delivers it there again. */
  readonly subscription: string;
  /** The reason Baton attached, or `exhausted N deliveries` when Pub/Sub's policy forwarded it. */
  readonly reason: string;
  readonly deliveryAttempts: number;
  /** When the message was first published (its first delivery attempt), epoch ms; undefined when unknown. */
  readonly firstAttemptAt: number | undefined;
  /** When it was dead-lettered (its last attempt), epoch ms. */
  readonly lastAttemptAt: number;
  /** The message as published: id, attributes (without the dead-letter ones), body. */
  readonly message: OutgoingMessage;
  readonly path: DeadLetterPath;
  /** Set once the dead letter was redriven; a second redrive is a no-op. */
  readonly redrive: RedriveMark | undefined;
}

/** Which dead letters to list; every field narrows. */
export interface DeadLetterFilter {
  /** Published to this topic. */
  readonly topic?: string;
  /** Dead-lettered at or after this time (epoch ms). */
  readonly since?: number;
}

/** What a redrive did (or, with `dryRun`, would do) to one dead letter. */
export interface RedriveOutcome {
  readonly id: string;
  /**
   * `redriven`: delivered again to its subscription; `would-redrive`: dry run;
   * `already-redriven`: an earlier redrive did it, nothing happened; `not-found`: no such dead letter;
   * `failed`: it could not be redriven (the note says why), and stays as it was.
   */
  readonly outcome: 'redriven' | 'would-redrive' | 'already-redriven' | 'not-found' | 'failed';
  /** One line for the operator: where it went, or why nothing happened. */
  readonly note: string;
}

/**
 * The operator's view of dead letters: list them, read one, redrive, purge (`baton dlq`).
 *
 * Invariants every adapter keeps:
 * - **Redrive reaches the subscription that gave up, with the same message id**, so consumers dedupe
 *   it: a barrier that already recorded the completion absorbs it; one that had not records it (and
 *   fires if that completes its threshold). Other subscriptions of the topic are not disturbed.
 * - **Redrive is idempotent.** A redriven dead letter is marked (when, result) in the same step that
 *   redelivers it; redriving it again is `already-redriven` and delivers nothing. If the redelivery
 *   fails again, the subscription records a new dead letter with a new id.
 * - **Dry runs and reads change nothing.**
 * - **Purge forgets the record only**: it never touches barrier state or other messages.
 */
export interface DeadLetterQueue {
  /** Dead letters, oldest first. */
  list(filter?: DeadLetterFilter): Promise<DeadLetterRecord[]>;
  /** One dead letter by its id. */
  get(id: string): Promise<DeadLetterRecord | undefined>;
  /** Delivers each dead letter again to the subscription that gave up on it (see the invariants). */
  redrive(ids: readonly string[], options?: { readonly dryRun?: boolean }): Promise<RedriveOutcome[]>;
  /** Deletes the dead letters' records; resolves to how many existed. */
  purge(ids: readonly string[]): Promise<number>;
}
