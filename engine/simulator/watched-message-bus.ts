import type { Clock } from '../ports/clock.ts';
import type { DeadLetter, MessageBus, OutgoingMessage, PublishResult, PullRequest, ReceivedMessage, SubscriptionConfig } from '../ports/message-bus.ts';

/** A delivery this process pulled and has not settled, or nacked (it comes back after a backoff). */
interface Lease {
  /** Undefined once nacked. */
  readonly ackId: string | undefined;
  /** When, on the run's clock, the bus may hand it out again: the lease's end, or the earliest end of its backoff. */
  readonly endsAt: number;
}

/**
 * The bus of a one-process run (`baton run`, the chaos sessions), watched so that a pull that can only
 * come back empty is not made. After a pull came back short, a subscription is pulled again only when
 * something may be due on it: a message was published to its topic (or to the dead-letter topic it
 * feeds), or the run's clock reached the end of a lease this process holds on it or of a nacked
 * delivery's shortest backoff. A subscription that may hold deliveries this process does not know of
 * (left by a process that died) is pulled whenever the clock moves, until the bus's `backlog` shows
 * nothing but this process's own; a `backlog` larger than that makes it so again. So a pass of the run
 * loop pulls the subscriptions that may have work, not every subscription of the pipeline.
 *
 * Only sound while every publisher of these topics goes through this bus: one process over its own
 * state, as the embedded backend's lock ensures. A subscription it was not told of is always pulled.
 * Lease and backoff ends come from the subscriptions as given here (a bus that kept other settings
 * for them hands a delivery out again no sooner than they say, or the backlog check finds it).
 */
export class WatchedMessageBus implements MessageBus {
  private readonly configs = new Map<string, SubscriptionConfig>();
  /** Topic → its subscriptions. */
  private readonly subscriptionsOf = new Map<string, Set<string>>();
  /** Subscription → the clock's time when a pull of it last came back short; absent: pull it. */
  private readonly shortAt = new Map<string, number>();
  /** Subscriptions that may hold deliveries this process does not know of. */
  private readonly unsure = new Set<string>();
  /** Subscriptions something may have reached while their pull was out. */
  private readonly woken = new Set<string>();
  /** Subscription → message id → the lease this process holds (a redelivery replaces a stale one). */
  private readonly leases = new Map<string, Map<string, Lease>>();
  private readonly leaseOf = new Map<string, { readonly subscription: string; readonly id: string }>();
  private pulls = { made: 0, skipped: 0 };

  constructor(
    private readonly inner: MessageBus,
    private readonly clock: Clock,
    subscriptions: readonly SubscriptionConfig[],
  ) {
    for (const config of subscriptions) this.watch(config);
  }

  /** Pulls passed to the bus, and pulls answered empty without asking it. */
  get pullCounts(): { readonly made: number; readonly skipped: number } {
    return { ...this.pulls };
  }

  async subscribe(config: SubscriptionConfig): Promise<void> {
    await this.inner.subscribe(config);
    this.watch(config);
  }

  async publish(topic: string, message: OutgoingMessage): Promise<PublishResult> {
    try {
      return await this.inner.publish(topic, message);
    } finally {
      // Even a publish that failed may have reached the bus.
      this.wake(topic);
    }
  }

  /** Whether a pull of `subscription` now would be answered empty without asking the bus: a pass of the run loop skips it. */
  idle(subscription: string): boolean {
    return !this.mayHaveDue(subscription, this.clock.now());
  }

  async pull(subscription: string, max: number): Promise<ReceivedMessage[]> {
    const now = this.clock.now();
    if (!this.beginPull(subscription, now)) return [];
    const messages = await this.inner.pull(subscription, max);
    await this.endPull(subscription, max, messages, now);
    return messages;
  }

  /**
   * Pulls each subscription in turn as `pull` would, asking the bus only for those that may have work,
   * all in one call when the bus takes several pulls at once (one transaction on SQLite).
   */
  async pullEach(requests: readonly PullRequest[]): Promise<ReceivedMessage[][]> {
    const now = this.clock.now();
    const results: ReceivedMessage[][] = requests.map(() => []);
    const asked = requests.flatMap((request, i) => (this.beginPull(request.subscription, now) ? [i] : []));
    if (asked.length === 0) return results;
    const toAsk = asked.map((i) => requests[i] as PullRequest);
    let answers: ReceivedMessage[][];
    if (this.inner.pullEach !== undefined) answers = await this.inner.pullEach(toAsk);
    else {
      answers = [];
      for (const { subscription, max } of toAsk) answers.push(await this.inner.pull(subscription, max));
    }
    for (const [k, i] of asked.entries()) {
      const request = requests[i] as PullRequest;
      const messages = answers[k] ?? [];
      results[i] = messages;
      await this.endPull(request.subscription, request.max, messages, now);
    }
    return results;
  }

  async ack(ackId: string): Promise<void> {
    await this.inner.ack(ackId);
    this.release(ackId);
  }

  async nack(ackId: string, reason: string): Promise<void> {
    const held = this.leaseOf.get(ackId);
    try {
      await this.inner.nack(ackId, reason);
    } finally {
      this.release(ackId);
      const config = held === undefined ? undefined : this.configs.get(held.subscription);
      if (held !== undefined && config !== undefined) {
        // It comes back after its backoff, at the earliest the shortest one (maybe at once).
        const endsAt = this.clock.now() + config.minBackoffMs;
        this.leases.get(held.subscription)?.set(held.id, { ackId: undefined, endsAt });
        if (endsAt <= this.clock.now()) this.rouse(held.subscription);
      }
    }
  }

  async deadLetter(ackId: string, reason: string): Promise<void> {
    const subscription = this.leaseOf.get(ackId)?.subscription;
    try {
      await this.inner.deadLetter(ackId, reason);
    } finally {
      this.release(ackId);
      const topic = subscription === undefined ? undefined : this.configs.get(subscription)?.deadLetterTopic;
      if (topic !== undefined) this.wake(topic);
    }
  }

  deadLetters(subscription?: string): Promise<DeadLetter[]> {
    return this.inner.deadLetters(subscription);
  }

  async backlog(subscription: string): Promise<number> {
    const backlog = await this.inner.backlog(subscription);
    // More than this process knows of: pull it again whenever the clock moves.
    if (this.configs.has(subscription) && backlog > (this.leases.get(subscription)?.size ?? 0)) {
      this.unsure.add(subscription);
      this.rouse(subscription);
    }
    return backlog;
  }

  /** Whether to ask the bus (counted either way); if so, the subscription is no longer short nor woken. */
  private beginPull(subscription: string, now: number): boolean {
    if (!this.mayHaveDue(subscription, now)) {
      this.pulls.skipped++;
      return false;
    }
    this.pulls.made++;
    this.shortAt.delete(subscription);
    this.woken.delete(subscription);
    return true;
  }

  /** What a pull the bus answered leaves known: the leases this process now holds, and whether the subscription is short. */
  private async endPull(subscription: string, max: number, messages: readonly ReceivedMessage[], now: number): Promise<void> {
    const config = this.configs.get(subscription);
    if (config === undefined) return;
    const leases = this.leases.get(subscription) ?? new Map<string, Lease>();
    this.leases.set(subscription, leases);
    for (const message of messages) {
      const stale = leases.get(message.id);
      if (stale?.ackId !== undefined) this.leaseOf.delete(stale.ackId);
      leases.set(message.id, { ackId: message.ackId, endsAt: now + config.ackDeadlineMs });
      this.leaseOf.set(message.ackId, { subscription, id: message.id });
    }
    // A pull may dead-letter deliveries that ran out of attempts, publishing them to the dead-letter topic.
    if (config.deadLetterTopic !== undefined) this.wake(config.deadLetterTopic);
    // Short: nothing more is due now, unless something arrived while the pull was out.
    if (messages.length < max && !this.woken.has(subscription)) {
      this.shortAt.set(subscription, now);
      if (this.unsure.has(subscription) && (await this.inner.backlog(subscription)) === leases.size) this.unsure.delete(subscription);
    }
  }

  private mayHaveDue(subscription: string, now: number): boolean {
    const shortAt = this.shortAt.get(subscription);
    if (shortAt === undefined || !this.configs.has(subscription)) return true;
    if (shortAt === now) return false;
    // The clock moved since: only a lease or a backoff can have ended.
    if (this.unsure.has(subscription)) return true;
    for (const lease of this.leases.get(subscription)?.values() ?? []) if (lease.endsAt <= now) return true;
    return false;
  }

  private watch(config: SubscriptionConfig): void {
    this.configs.set(config.name, config);
    // What a process before this one left on it is not known until the bus says.
    this.unsure.add(config.name);
    const subscriptions = this.subscriptionsOf.get(config.topic) ?? new Set<string>();
    subscriptions.add(config.name);
    this.subscriptionsOf.set(config.topic, subscriptions);
  }

  /** Something was published to `topic`: each of its subscriptions is pulled again. */
  private wake(topic: string): void {
    for (const subscription of this.subscriptionsOf.get(topic) ?? []) this.rouse(subscription);
  }

  private rouse(subscription: string): void {
    this.shortAt.delete(subscription);
    this.woken.add(subscription);
  }

  private release(ackId: string): void {
    const held = this.leaseOf.get(ackId);
    if (held === undefined) return;
    this.leaseOf.delete(ackId);
    const leases = this.leases.get(held.subscription);
    if (leases?.get(held.id)?.ackId === ackId) leases.delete(held.id);
  }
}
