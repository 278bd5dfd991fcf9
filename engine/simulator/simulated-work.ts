import type { ResolvedPipeline, SimulatedBehaviour } from '../config/resolved-pipeline.ts';
import type { CompletionStatus } from '../config/pipeline-spec.ts';
import type { OutgoingMessage } from '../ports/message-bus.ts';
import type { EntityId } from '../ports/state-store.ts';
import { ENVELOPE_TYPES } from '../runtime/envelope.ts';
import type { ProcessorContext } from '../sdk/processor-context.ts';
import type { ProcessorResult } from '../sdk/processor-result.ts';
import { sample, seededRandom, stableId } from './seeded-random.ts';

/** What one simulated processor did in this session. */
export interface ProcessorStats {
  runs: number;
  failed: number;
  noData: number;
  /** Completions sent twice on purpose, as an at-least-once bus may deliver them. */
  duplicatesSent: number;
  /** Entities recomputed / left alone, for processors started by an entity-aware trigger. */
  processed: number;
  skipped: number;
}

/** How a run asks the simulated processors to behave beyond `simulate:` in pipeline.yaml. */
export interface SimulatorSettings {
  /** Identifies the run: seeds ids and choices, so a resumed run (or a rehearsal of it) repeats them. */
  readonly runId: string;
  /** Processors report `is_incremental: false`: downstream recomputes everything. */
  readonly full: boolean;
  /** Overrides for every processor (from CLI flags). */
  readonly overrides: Partial<Pick<SimulatedBehaviour, 'failureRate' | 'noDataRate' | 'duplicateRate'>>;
  /** Hash of the pipeline file, stamped on completions as a deployed processor would. */
  readonly pipelineHash?: string | undefined;
}

/**
 * The user's work as `simulate:` describes it, seeded by what each choice is about (run, processor,
 * key, trigger id), so `baton run` in simulated time and `baton rehearse` on the emulators make the
 * same choices for the same run: latency, outcome, entities changed, duplicate deliveries. Used as
 * the processor SDK's `handle` in both, so every completion goes through the SDK.
 */
export class SimulatedWork {
  readonly stats = new Map<string, ProcessorStats>();
  private readonly universe: Readonly<Record<string, number>>;

  constructor(
    private readonly pipeline: ResolvedPipeline,
    readonly settings: SimulatorSettings,
  ) {
    this.universe = pipeline.simulation.entities;
    for (const p of pipeline.processors) this.stats.set(p.name, { runs: 0, failed: 0, noData: 0, duplicatesSent: 0, processed: 0, skipped: 0 });
  }

  /** How long (simulated ms) the processor works on the delivery `triggerId` of `key` (`entry` for an entry processor). */
  latencyMs(processor: string, key: string, triggerId: string): number {
    const [min, max] = this.behaviour(processor).latencyMs;
    const next = seededRandom(this.settings.runId, 'latency', processor, key, triggerId);
    return min + Math.floor(next() * (max - min + 1));
  }

  /** Whether this execution's completion is delivered twice, as an at-least-once bus may. */
  duplicates(processor: string, key: string, triggerId: string): boolean {
    return seededRandom(this.settings.runId, processor, key, triggerId, 'duplicate')() < this.behaviour(processor).duplicateRate;
  }

  /** The same completion again under another message id (same execution id): what the barrier must absorb. */
  duplicateOf(processor: string, completion: OutgoingMessage): OutgoingMessage {
    const again = `${completion.id}:again`;
    this.count(processor, (s) => s.duplicatesSent++);
    return { ...completion, id: again, attributes: { ...completion.attributes, 'ce-id': again } };
  }

  /** What a scheduler sends an entry processor: the key and the run's correlation id. */
  entryMessage(key: string): OutgoingMessage {
    const { runId } = this.settings;
    const correlationId = `${runId}-${stableId(runId, 'correlation', key)}`;
    return { id: `entry:${runId}:${key}`, attributes: {}, data: JSON.stringify({ key, correlation_id: correlationId }) };
  }

  /** Counts an execution whose completion was published (a redone execution counts once more). */
  recordCompleted(processor: string, status: CompletionStatus): void {
    this.count(processor, (s) => {
      s.runs++;
      if (status === 'failed') s.failed++;
      if (status === 'no_data') s.noData++;
    });
  }

  /** Per-entity ids 1..n of an entity type's universe (the coordinator's full list). */
  fullList(entityType: string): EntityId[] {
    return Array.from({ length: this.universe[entityType] ?? 0 }, (_, i) => i + 1);
  }

  /** The work itself: the processor SDK's `handle` for every simulated processor. */
  result(ctx: ProcessorContext): ProcessorResult {
    const { processor: name, key, trigger } = ctx;
    const behaviour = this.behaviour(name);
    const seed = [this.settings.runId, name, key, trigger.type === 'entry' ? 'entry' : trigger.id] as const;
    const roll = seededRandom(...seed, 'status')();
    const status: CompletionStatus = roll < behaviour.failureRate ? 'failed' : roll < behaviour.failureRate + behaviour.noDataRate ? 'no_data' : 'success';
    const failure = status === 'failed' ? { errorMessage: 'simulated failure', errorType: 'SimulatedFailure' } : {};
    if (trigger.type === ENVELOPE_TYPES.work) {
      this.count(name, (s) => s.processed++);
      return { status, recordCount: status === 'success' ? 1 : 0, ...failure };
    }
    const incoming = trigger.type === ENVELOPE_TYPES.trigger ? trigger.data : undefined;
    const changed: Record<string, EntityId[]> = {};
    const total = Object.values(this.universe).reduce((a, b) => a + b, 0);
    if (ctx.entities.incremental) {
      // Incremental: recompute exactly what upstream changed, and pass it on.
      let processed = 0;
      for (const [type, ids] of Object.entries(ctx.entities.changed)) {
        changed[type] = [...ids];
        processed += ids.length;
      }
      this.count(name, (s) => {
        s.processed += processed;
        s.skipped += total - processed;
      });
    } else if (incoming?.is_incremental === false) {
      this.count(name, (s) => (s.processed += total));
    }
    // What this processor itself finds changed: the same players change for every processor of a key.
    for (const [type, fraction] of Object.entries(behaviour.changes)) {
      const n = this.universe[type] ?? 0;
      const ids = sample(n, Math.floor(n * fraction), seededRandom(this.settings.runId, 'changes', key, type));
      changed[type] = [...new Set([...(changed[type] ?? []), ...ids])].sort((a, b) => Number(a) - Number(b));
    }
    const reportsEntities = Object.keys(changed).length > 0 || incoming?.is_incremental !== undefined;
    return {
      status,
      recordCount: status === 'success' ? 1 + Object.values(changed).reduce((a, ids) => a + ids.length, 0) : 0,
      ...failure,
      ...(reportsEntities && status !== 'failed' ? { entitiesChanged: changed, isIncremental: !this.settings.full } : {}),
    };
  }

  private behaviour(name: string): SimulatedBehaviour {
    const base = this.pipeline.simulation.processors.get(name) ?? this.pipeline.simulation.defaults;
    return { ...base, ...this.settings.overrides };
  }

  private count(processor: string, update: (stats: ProcessorStats) => void): void {
    const stats = this.stats.get(processor);
    if (stats) update(stats);
  }
}
