import type { MessageBus, ReceivedMessage } from '../ports/message-bus.ts';
import { isPermanent, reasonOf } from './errors.ts';

/** Handles one delivery; resolving acks it, throwing nacks or dead-letters it. */
export type MessageHandler = (message: ReceivedMessage) => Promise<unknown>;

/** What one pump did. */
export interface PumpResult {
  readonly acked: number;
  readonly nacked: number;
  readonly deadLettered: number;
}

const NOTHING: PumpResult = { acked: 0, nacked: 0, deadLettered: 0 };

/**
 * Pulls a subscription and settles every delivery on purpose: success → ack; a permanent error →
 * dead-letter now with its reason (#17); anything else → nack, redelivered with backoff until the
 * subscription's attempts run out. A handler never decides to drop a message silently.
 */
export class Subscriber {
  constructor(
    private readonly bus: MessageBus,
    readonly subscription: string,
    private readonly handler: MessageHandler,
  ) {}

  /** Pulls up to `max` due messages and handles them concurrently. */
  async pump(max = 100): Promise<PumpResult> {
    const messages = await this.bus.pull(this.subscription, max);
    if (messages.length === 0) return NOTHING; // most pulls of a run loop's pass
    const outcomes = await Promise.all(messages.map((message) => this.settle(message)));
    return {
      acked: outcomes.filter((o) => o === 'ack').length,
      nacked: outcomes.filter((o) => o === 'nack').length,
      deadLettered: outcomes.filter((o) => o === 'dead-letter').length,
    };
  }

  /** Pumps until a pull returns nothing; returns the totals. Only for due messages: it does not wait. */
  async drain(max = 100): Promise<PumpResult> {
    if (this.bus.idle?.(this.subscription) === true) return NOTHING;
    const total = { acked: 0, nacked: 0, deadLettered: 0 };
    for (;;) {
      const result = await this.pump(max);
      total.acked += result.acked;
      total.nacked += result.nacked;
      total.deadLettered += result.deadLettered;
      if (result.acked + result.nacked + result.deadLettered === 0) return total;
    }
  }

  private async settle(message: ReceivedMessage): Promise<'ack' | 'nack' | 'dead-letter'> {
    try {
      await this.handler(message);
    } catch (error) {
      if (isPermanent(error)) {
        await this.bus.deadLetter(message.ackId, reasonOf(error));
        return 'dead-letter';
      }
      await this.bus.nack(message.ackId, reasonOf(error));
      return 'nack';
    }
    await this.bus.ack(message.ackId);
    return 'ack';
  }
}
