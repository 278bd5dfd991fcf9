import type { Clock } from '../ports/clock.ts';
import type { MessageBus } from '../ports/message-bus.ts';
import type { StateStore, TriggerRecord } from '../ports/state-store.ts';
import { emptyTickReport, tickFailure, type TickReport } from './tick-report.ts';

/**
 * The publish half of "decide, then publish" (#10). A trigger is first stored as decided; only after
 * the bus accepted it is it marked published. A crash in between leaves it unpublished, and the next
 * delivery or tick publishes it again with the same id, which the bus and consumers absorb.
 */
export class TriggerOutbox {
  constructor(
    private readonly store: StateStore,
    private readonly bus: MessageBus,
    private readonly clock: Clock,
  ) {}

  /** Publishes a decided trigger unless it is already marked published; returns whether it published. */
  async deliver(trigger: TriggerRecord): Promise<boolean> {
    if (trigger.publishedAt !== undefined) return false;
    // An empty topic means the emitter has nowhere to publish (a coordinator without `publishes`).
    if (trigger.topic !== '') await this.bus.publish(trigger.topic, trigger.message);
    await this.store.markPublished(trigger.emitter, trigger.scope, this.clock.now());
    return true;
  }

  /**
   * Re-publishes every decided-but-unpublished trigger (of one emitter, or all). Each trigger on its
   * own: one that cannot be published is a failure in the report, and the rest are still published.
   */
  async flush(emitter?: string): Promise<TickReport> {
    const report = emptyTickReport();
    for (const trigger of await this.store.listUnpublished(emitter)) {
      try {
        if (await this.deliver(trigger)) report.published.push({ trigger, why: 're-published by tick' });
      } catch (error) {
        report.failures.push(tickFailure(trigger.emitter, trigger.scope, error));
      }
    }
    return report;
  }
}
