// Data flow: MessageBus.publish → (kept by the backend) → MessageHistory.messagesOf → `baton trace`.
import type { OutgoingMessage } from './message-bus.ts';

/** A message as it was published, with where and when. */
export interface PublishedMessage extends OutgoingMessage {
  readonly topic: string;
  /** Epoch ms of the first publish. */
  readonly publishedAt: number;
}

/**
 * Read access to what a backend published, for tracing a run. Optional: a backend that keeps no
 * history (Pub/Sub keeps none) does not implement it, and trace falls back to the state store.
 *
 * Invariants: every message accepted by `publish` is listed once (re-publishes with the same id are
 * not repeated), oldest first.
 */
export interface MessageHistory {
  /** Messages whose CloudEvents subject (the key) or correlation id equals `keyOrCorrelationId`. */
  messagesOf(keyOrCorrelationId: string): Promise<PublishedMessage[]>;
}
