import type { DocPath } from './diagnostic.ts';
import type { CompletionStatus } from './pipeline-spec.ts';

/**
 * The pipeline after `resolve`: every default applied, every duration in milliseconds, every
 * reference kept with the document path it was written at (so graph rules can point at it).
 * Code after this stage never re-checks defaults.
 */

/** A name written somewhere in pipeline.yaml that must refer to a declared thing. */
export interface Ref {
  readonly name: string;
  readonly path: DocPath;
}

/** Subscription settings with defaults applied. */
export interface SubscriptionSettings {
  readonly ackDeadlineSeconds: number;
  readonly minBackoffSeconds: number;
  readonly maxBackoffSeconds: number;
  readonly deadLetterAfterAttempts: number;
  readonly messageRetentionSeconds: number;
  readonly delivery: 'push' | 'pull';
  /** Service account id that signs push requests; undefined when none was stated anywhere. */
  readonly invoker: string | undefined;
  /** Where the settings came from (the most specific block that set any of them). */
  readonly path: DocPath;
}

export interface ResolvedTopic {
  readonly name: string;
  readonly description: string;
  readonly deadLetter: { readonly enabled: boolean; readonly topic: string; readonly reason: string | undefined };
  readonly externalPublishers: string | undefined;
  readonly externalConsumers: string | undefined;
  /** Customer-managed KMS key for the topic and its dead-letter topic; undefined = Google-managed. */
  readonly kmsKey: string | undefined;
  readonly path: DocPath;
}

export interface ResolvedPhase {
  readonly name: string;
  readonly description: string;
  /** Set for phases started from outside Baton; says by what. */
  readonly entry: string | undefined;
  readonly triggeredBy: Ref | undefined;
  readonly publishes: Ref;
  /** Processor names, in file order. */
  readonly processors: readonly string[];
  readonly path: DocPath;
}

export interface ResolvedProcessor {
  readonly name: string;
  readonly phase: string;
  readonly description: string;
  readonly service: string;
  readonly triggeredBy: Ref | undefined;
  readonly publishes: Ref;
  /** Every depends_on entry; those in the same phase also produce a dependency barrier. */
  readonly dependsOn: readonly Ref[];
  /** The dependency barrier that starts this processor, when it has same-phase dependencies. */
  readonly dependencyBarrier: string | undefined;
  readonly subscription: SubscriptionSettings;
  /** `renamed_from:` — the name it had before a rename, for `baton plan` (checked by graph/renamed-from). */
  readonly renamedFrom?: Ref;
  readonly path: DocPath;
}

/** When a barrier fires, normalised: every `required` member, and `needed(expected)` members counted. */
export interface Threshold {
  /** `all`, `count` (N of M), `quorum` (fraction of all expected), or `required` only. */
  readonly kind: 'all' | 'count' | 'quorum' | 'required';
  readonly required: readonly Ref[];
  readonly count: number | undefined;
  readonly quorum: number | undefined;
  readonly path: DocPath;
}

export interface ModeProfile {
  readonly name: string;
  readonly when: 'before_today' | 'today' | 'after_today';
  /** Expected members in this mode; undefined means all the barrier's members. */
  readonly expect: readonly Ref[] | undefined;
  readonly threshold: Threshold;
  readonly path: DocPath;
}

export interface Modes {
  readonly select: 'key_date_vs_today';
  readonly timezone: string;
  readonly profiles: readonly ModeProfile[];
  readonly path: DocPath;
}

export interface DeadlineTier {
  /** As written, e.g. `1h`. */
  readonly after: string;
  readonly afterMs: number;
  readonly minMembers: number;
  /** Fire without the threshold's required members; false (the default): a tier waits for them too. */
  readonly ignoreRequired: boolean;
  readonly path: DocPath;
}

export interface ResolvedBarrier {
  readonly name: string;
  /** `phase` barriers are declared under `barriers:`; `dependency` ones come from a processor's depends_on. */
  readonly kind: 'phase' | 'dependency';
  readonly description: string;
  /** Deployed function name. */
  readonly function: string;
  readonly listens: Ref;
  /** The phase named by `members: {phase: …}`, if the members were given that way. */
  readonly membersPhase: Ref | undefined;
  /** Member processor names (for `{phase}` members: that phase's processors, empty if it is unknown). */
  readonly members: readonly Ref[];
  readonly threshold: Threshold;
  readonly modes: Modes | undefined;
  readonly deadlines: readonly DeadlineTier[];
  readonly aggregateEntities: boolean;
  readonly countsAsComplete: readonly CompletionStatus[];
  readonly publishes: Ref;
  /** For dependency barriers: the one processor the trigger starts. */
  readonly target: string | undefined;
  /** `renamed_from:` — the name it had before a rename, for `baton plan` (checked by graph/renamed-from). */
  readonly renamedFrom?: Ref;
  readonly path: DocPath;
}

export interface ResolvedCoordinator {
  readonly name: string;
  readonly description: string;
  readonly service: string;
  readonly phase: Ref;
  readonly listens: Ref;
  readonly entityType: string;
  readonly fullListUrl: string | undefined;
  readonly workTopic: Ref;
  readonly readyTopic: Ref;
  readonly publishes: Ref | undefined;
  readonly stall: { readonly minFraction: number; readonly noProgressFor: string; readonly noProgressForMs: number } | undefined;
  /** Report statuses that count an entity done; an entity with only other statuses is failed. */
  readonly countsAsComplete: readonly CompletionStatus[];
  readonly onActiveBatch: 'refuse' | 'supersede';
  readonly path: DocPath;
}

/** An entity type declared under the top-level `entities:`. */
export interface ResolvedEntityType {
  readonly name: string;
  readonly description: string;
  readonly path: DocPath;
}

/** How one simulated processor behaves, defaults applied. */
export interface SimulatedBehaviour {
  readonly latencyMs: readonly [number, number];
  readonly failureRate: number;
  readonly noDataRate: number;
  readonly duplicateRate: number;
  /** Fraction of each entity universe a run reports changed. */
  readonly changes: Readonly<Record<string, number>>;
}

/** The `simulate:` block with defaults applied. Processors not named under `processors` behave as `defaults`. */
export interface ResolvedSimulation {
  readonly seed: number;
  readonly entities: Readonly<Record<string, number>>;
  readonly defaults: SimulatedBehaviour;
  /** Per-processor behaviour (defaults merged in), for every processor named under simulate.processors. */
  readonly processors: ReadonlyMap<string, SimulatedBehaviour>;
  /** Processor names written under simulate.processors, with where (checked by graph/unknown-processor). */
  readonly references: readonly Ref[];
  /** Entity types written under simulate (entities, changes), with where (checked by graph/unknown-entity-type). */
  readonly entityReferences: readonly Ref[];
}

/** The business key's rule: `key:` with defaults applied. */
export interface KeyRule {
  readonly name: string;
  /** `date` is YYYY-MM-DD, `hour` is YYYY-MM-DDTHH (UTC); both have an order, so `--keys A..B` ranges work. */
  readonly type: KeyType;
  readonly pattern: string | undefined;
}

/** The kinds of key a pipeline can have. */
export type KeyType = 'date' | 'hour' | 'string';

export interface ResolvedPipeline {
  readonly name: string;
  readonly description: string;
  readonly project: string | undefined;
  readonly region: string | undefined;
  readonly key: KeyRule;
  /** How often a new key starts (`key.cadence`; default 1 h for hour keys, else 1 d): sizes the no-final-output alert window. */
  readonly keyCadenceMs: number;
  /** Declared entity types; undefined when the file has no top-level `entities:` (graph/unknown-entity-type reports references then). */
  readonly entityTypes: readonly ResolvedEntityType[] | undefined;
  readonly orchestrator: { readonly memoryMb: number; readonly timeoutSeconds: number; readonly maxInstances: number };
  /** `defaults.subscription` with defaults applied: the settings of barrier and coordinator subscriptions. */
  readonly subscriptionDefaults: SubscriptionSettings;
  readonly topics: readonly ResolvedTopic[];
  readonly phases: readonly ResolvedPhase[];
  readonly processors: readonly ResolvedProcessor[];
  readonly barriers: readonly ResolvedBarrier[];
  readonly coordinators: readonly ResolvedCoordinator[];
  readonly simulation: ResolvedSimulation;
}
