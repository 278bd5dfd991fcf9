import type { Clock } from '../ports/clock.ts';
import type { MessageBus } from '../ports/message-bus.ts';
import type { StateStore, TriggerDecision, TriggerRecord } from '../ports/state-store.ts';
import { emptyTickReport, tickFailure, type TickReport, type TriggerPublication } from './tick-report.ts';

/**
 * The publish half of "decide, then publish" (#10). A trigger is first stored as decided; only after
 * the bus accepted it is it marked published. Who publishes:
 *
 * - `deliver`: the one call whose decision created the trigger (`created: true`), at once. Every other
 *   caller that finds the trigger decided — a concurrent completion in the same decision round, a
 *   redelivery — leaves it: with many instances deciding one key, re-publishing what each saw
 *   unpublished made the trigger document a hot document (up to ~560 writes for one trigger, issue 11).
 * - `flush` (every tick): each decided-but-unpublished trigger, with the same id — the recovery when the
 *   decider died, or the bus failed, between decide and publish. The bus and consumers absorb a repeat.
 */
export class TriggerOutbox {
  constructor(
    private readonly store: StateStore,
    private readonly bus: MessageBus,
    private readonly clock: Clock,
  ) {}

  /** Publishes the trigger of a decision this call made; anything else is left to `flush`. Returns what it published. */
  async deliver(decision: TriggerDecision): Promise<TriggerPublication | undefined> {
    if (!decision.created || decision.trigger === undefined) return undefined;
    await this.publish(decision.trigger);
    return { trigger: decision.trigger, why: 'decided' };
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
