import type { MultiDirectedGraph } from 'graphology';
import type { ResolvedPipeline } from '../config/resolved-pipeline.ts';

/** Kinds of node in the pipeline graph. */
export type NodeKind = 'topic' | 'dead-letter-topic' | 'phase' | 'processor' | 'barrier' | 'coordinator' | 'subscription';

/** Kinds of edge, each with one meaning (a processor's phase and a barrier's members are read from the
 * resolved pipeline, not from edges: at 30,000 processors those edges cost ~0.2 s and nothing walked them):
 * - `publishes`: component → topic (with `target` when addressed to one processor)
 * - `delivers`: topic → subscription
 * - `triggers`: subscription → component it pushes to / is pulled by
 * - `dead-letters`: subscription → dead-letter topic
 * - `depends-on`: processor → processor it waits for
 * - `flows`: component → component, when work can actually pass (respecting membership and targets)
 * - `returns`: worker → coordinator, the fan-in half of a fan-out (not part of cycle checks)
 */
export type EdgeKind = 'publishes' | 'delivers' | 'triggers' | 'dead-letters' | 'depends-on' | 'flows' | 'returns';

export interface NodeAttributes {
  readonly kind: NodeKind;
  readonly name: string;
  /** For subscriptions: the topic and consumer, and the attribute filter Pub/Sub applies. */
  readonly topic?: string;
  readonly consumer?: string;
  readonly filter?: string;
}

export interface EdgeAttributes {
  readonly kind: EdgeKind;
  /** On `publishes` and `flows`: the one processor a dependency trigger is addressed to. */
  readonly target?: string;
  /** On `flows`: the topic the work travels on. */
  readonly topic?: string;
}

/** The pipeline as a typed graph, next to the resolved pipeline it was built from. */
export interface PipelineGraph {
  readonly pipeline: ResolvedPipeline;
  readonly graph: MultiDirectedGraph<NodeAttributes, EdgeAttributes>;
}

/** Node key of a named thing: `topic:nba-phase3-trigger`, `processor:bdl_injuries`, … */
export function nodeKey(kind: NodeKind, name: string): string {
  return `${kind}:${name}`;
}

export { TARGET_ATTRIBUTE } from '../config/conventions.ts';

/** Name of the subscription that delivers `topic` to `consumer`. */
export function subscriptionName(consumer: string, topic: string): string {
  return `${consumer}--${topic}`;
}
