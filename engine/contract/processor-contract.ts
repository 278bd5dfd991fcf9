// Data flow: ResolvedPipeline + processor name → ProcessorContract (trigger, subscription, output topic, duties) → processors.md and `baton check-processor`.
import type { ResolvedPhase, ResolvedPipeline, ResolvedProcessor } from '../config/resolved-pipeline.ts';
import { planSubscriptions, type PlannedSubscription } from '../graph/subscription-plan.ts';
import { triggerOrigin, reportsEntities, type TriggerOrigin } from './example-messages.ts';

/**
 * What the pipeline asks of one processor: the only facts processors.md documents and
 * `baton check-processor` checks, so the two cannot disagree.
 */
export interface ProcessorContract {
  readonly processor: ResolvedProcessor;
  readonly phase: ResolvedPhase;
  /** Who sends its trigger (`entry`: nothing in Baton; it is started by a scheduler or workflow). */
  readonly origin: TriggerOrigin;
  /** Its trigger subscription (name, push or pull, attribute filter); undefined for an entry processor. */
  readonly subscription: PlannedSubscription | undefined;
  /** The topic its completion must be published to. */
  readonly publishes: string;
  /** A downstream barrier aggregates entities_changed: the completion must carry `metadata.entities_changed` and `is_incremental`. */
  readonly reportsEntities: boolean;
  /** A coordinator worker: the completion must echo the work's `batch_id` and `entity_id`. */
  readonly worker: boolean;
}

/** The contract of one processor, or undefined when the pipeline has no processor of that name. */
export function processorContract(pipeline: ResolvedPipeline, name: string): ProcessorContract | undefined {
  let byName = processorsByName.get(pipeline);
  if (byName === undefined) processorsByName.set(pipeline, (byName = new Map(pipeline.processors.map((p) => [p.name, p]))));
  const processor = byName.get(name);
  if (processor === undefined) return undefined;
  const phase = pipeline.phases.find((p) => p.name === processor.phase);
  if (phase === undefined) throw new Error(`processor ${name}: phase ${processor.phase} is not declared`);
  const origin = triggerOrigin(pipeline, processor);
  return {
    processor,
    phase,
    origin,
    subscription: processorSubscriptions(pipeline).get(name),
    publishes: processor.publishes.name,
    reportsEntities: reportsEntities(pipeline, processor),
    worker: origin.kind === 'coordinator',
  };
}

const processorsByName = new WeakMap<ResolvedPipeline, ReadonlyMap<string, ResolvedProcessor>>();
const subscriptionsByProcessor = new WeakMap<ResolvedPipeline, ReadonlyMap<string, PlannedSubscription>>();

/** Each processor's trigger subscription by processor name, indexed once per pipeline. */
function processorSubscriptions(pipeline: ResolvedPipeline): ReadonlyMap<string, PlannedSubscription> {
  let known = subscriptionsByProcessor.get(pipeline);
  if (known === undefined) {
    known = new Map(planSubscriptions(pipeline).flatMap((s) => (s.role === 'processor' ? [[s.consumer, s] as const] : [])));
    subscriptionsByProcessor.set(pipeline, known);
  }
  return known;
}
