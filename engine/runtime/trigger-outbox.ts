import type { Clock } from '../ports/clock.ts';
import type { MessageBus } from '../ports/message-bus.ts';
import type { StateStore, TriggerDecision, TriggerRecord } from '../ports/state-store.ts';
import { emptyTickReport, tickFailure, type TickReport, type TriggerPublication } from './tick-report.ts';

/**
 * How long a decided trigger may stay unpublished before a caller that did not decide it publishes it.
 * Longer than a decision round (the concurrent completions of one round all see a fresh decision and
 * leave it to its decider), and no longer than Pub/Sub's shortest retry backoff (10 s), so the
 * redelivery of a completion whose publish failed recovers its trigger.
 */
export const ORPHANED_AFTER_MS = 10_000;

/**
 * The publish half of "decide, then publish" (#10). A trigger is first stored as decided; only after
 * the bus accepted it is it marked published. Who publishes:
 *
 * - `deliver`: the one call whose decision created the trigger (`created: true`), at once. Every other
 *   caller that finds the trigger decided and unpublished leaves it while the decision is fresh (younger
 *   than `ORPHANED_AFTER_MS`) — a concurrent completion of the same decision round: with many instances
 *   deciding one key, re-publishing what each saw unpublished made the trigger document a hot document
 *   (up to ~560 writes for one trigger, issue 11). An older one is an orphan (its decider died, or its
 *   publish failed and the completion was redelivered): that caller publishes it.
 * - `flush` (every tick): each decided-but-unpublished trigger, with the same id — the recovery when the
 *   decider died, or the bus failed, between decide and publish. The bus and consumers absorb a repeat.
 */
export class TriggerOutbox {
  constructor(
    private readonly store: StateStore,
    private readonly bus: MessageBus,
    private readonly clock: Clock,
  ) {}

  /**
   * Publishes the trigger of a decision this call made, or an orphaned one (unpublished and decided at
   * least `ORPHANED_AFTER_MS` before `now`, the store's time); a fresh decision of another caller is left
   * to it. Returns what it published.
   */
  async deliver(decision: TriggerDecision, now: number): Promise<TriggerPublication | undefined> {
    const trigger = decision.trigger;
    if (trigger === undefined) return undefined;
    if (decision.created) {
      await this.publish(trigger);
      return { trigger, why: 'decided' };
    }
    if (trigger.publishedAt !== undefined || now - trigger.decidedAt < ORPHANED_AFTER_MS) return undefined;
    await this.publish(trigger);
    return { trigger, why: 'recovered on redelivery' };
  }

  /**
   * Re-publishes every decided-but-unpublished trigger (of one emitter, or all). Each trigger on its
   * own: one that cannot be published is a failure in the report, and the rest are still published.
   */
  async flush(emitter?: string): Promise<TickReport> {
    const report = emptyTickReport();
    for (const trigger of await this.store.listUnpublished(emitter)) {
      try {
        await this.publish(trigger);
        report.published.push({ trigger, why: 're-published by tick' });
      } catch (error) {
        report.failures.push(tickFailure(trigger.emitter, trigger.scope, error));
      }
    }
    return report;
  }

  private async publish(trigger: TriggerRecord): Promise<void> {
    // An empty topic means the emitter has nowhere to publish (a coordinator without `publishes`).
    if (trigger.topic !== '') await this.bus.publish(trigger.topic, trigger.message);
    await this.store.markPublished(trigger.emitter, trigger.scope, this.clock.now());
  }
}
