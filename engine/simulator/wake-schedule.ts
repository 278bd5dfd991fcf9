import type { ResolvedPipeline } from '../config/resolved-pipeline.ts';
import type { StateStore } from '../ports/state-store.ts';
import type { PipelineRuntime, RuntimeEvent, TickTarget } from '../runtime/pipeline-runtime.ts';
import type { TickFailure } from '../runtime/tick-report.ts';
import { DueQueue } from './due-queue.ts';

/** What a run loop did, for `baton run --json` and the benchmarks: the cost follows messages and due times, not open keys. */
export interface LoopStats {
  /** Passes of the loop: each handles what is due at the current instant (a few per instant while work cascades). */
  passes: number;
  /** Instants the clock jumped to. */
  wakes: number;
  /** Deliveries handled: by barriers and coordinators, and started by the simulated processors. */
  messages: number;
  /** Reads of one key's (or batch's) state to learn its next deadline tier or stall check. */
  keyReads: number;
  /** Keys and batches ticked because their deadline tier or stall window came due (or a tick of them failed). */
  dueTicks: number;
  /** Ticks of every open key and batch: when the loop starts (a resume) and before it calls the run quiet. */
  fullTicks: number;
  /** Checks whether a key finished: one per key a trigger fired for. */
  finishChecks: number;
}

/** Zeroed stats, to fill. */
export function emptyLoopStats(): LoopStats {
  return { passes: 0, wakes: 0, messages: 0, keyReads: 0, dueTicks: 0, fullTicks: 0, finishChecks: 0 };
}

interface Entry {
  readonly at: number;
  readonly target: TickTarget;
  /** When the schedule first saw the key or batch: same-instant ticks go in the order a full tick lists them. */
  readonly seen: number;
}

/**
 * When each open key's next deadline tier and each active batch's stall check falls due, in the store's
 * time, so the run loop ticks only what is due and sleeps until the earliest of them. Nothing lives only
 * here: `rebuild` recomputes the schedule from the stored state, as a resumed run does.
 *
 * Keys and batches are learnt from what the runtime reports (`observe`) and read at the next `refresh`:
 * a barrier's key the first time a delivery reaches it (every time, for a barrier with modes, whose
 * next completion may open another generation); a batch when its trigger arrives, and on a report only
 * if it has nothing scheduled. A key that fired and a completed batch are dropped when their trigger
 * fires. A key with no message and nothing due is never read, and neither is a key of a barrier without
 * deadlines. A stall check may be scheduled early (reports since moved the batch's last progress):
 * it is read again before the loop sleeps until it (`next`), and ticking early is harmless, since a
 * tick only fires what holds.
 */
export class WakeSchedule {
  private readonly queue = new DueQueue<{ readonly id: string; readonly at: number }>();
  private readonly entries = new Map<string, Entry>();
  private readonly seen = new Map<string, number>();
  /** Barrier name → keys to read at the next refresh. */
  private readonly touchedKeys = new Map<string, Set<string>>();
  /** Coordinator name → batch ids to read at the next refresh; `true` when the batch was just ticked. */
  private readonly touchedBatches = new Map<string, Map<string, boolean>>();
  /** Barrier × key pairs read in this run (a barrier without modes needs one read per key). */
  private readonly known = new Set<string>();
  /** Full-tick order: each barrier generation, then each coordinator. */
  private readonly rank = new Map<string, number>();
  /** Generation name → its barrier. */
  private readonly barrierOf = new Map<string, string>();
  /** Barriers with deadline tiers → whether they have modes. */
  private readonly timed = new Map<string, boolean>();
  /** Coordinators with a stall policy → its window. */
  private readonly stalls: ReadonlyMap<string, number>;

  constructor(
    private readonly pipeline: ResolvedPipeline,
    private readonly runtime: PipelineRuntime,
    private readonly store: StateStore,
    private readonly stats: LoopStats,
  ) {
    for (const barrier of pipeline.barriers) {
      if (barrier.deadlines.length > 0) this.timed.set(barrier.name, barrier.modes !== undefined);
      for (const generation of runtime.barriers.get(barrier.name)?.generationNames() ?? []) {
        this.rank.set(generation, this.rank.size);
        this.barrierOf.set(generation, barrier.name);
      }
    }
    for (const coordinator of pipeline.coordinators) this.rank.set(coordinator.name, this.rank.size);
    this.stalls = new Map(pipeline.coordinators.flatMap((c) => (c.stall === undefined ? [] : [[c.name, c.stall.noProgressForMs] as const])));
  }

  /** Schedules every open key and active batch from the stored state (a fresh or resumed run). */
  async rebuild(): Promise<void> {
    for (const barrier of this.pipeline.barriers) {
      const instance = this.runtime.barriers.get(barrier.name);
      for (const key of (await instance?.listKeys(true)) ?? []) this.touchKey(barrier.name, key);
    }
    for (const coordinator of this.stalls.keys()) {
      for (const batch of await this.store.listActiveBatches(coordinator)) this.touchBatch(coordinator, batch.id, false);
    }
    await this.refresh();
  }

  /** Notes what a delivery or a fired trigger changed (a listener of `PipelineRuntime`). */
  observe(event: RuntimeEvent): void {
    if (event.kind === 'fired') {
      // A generation that fired has no deadline left; a completed batch no stall check.
      this.entries.delete(idOf(event.trigger.emitter, event.trigger.scope));
      return;
    }
    if (event.kind !== 'delivered') return;
    const { role, consumer, message } = event;
    if (role === 'barrier') {
      const key = message.attributes['ce-subject'];
      const modes = this.timed.get(consumer);
      // Without a subject the envelope is invalid, so nothing was stored for any key.
      if (key !== undefined && modes !== undefined && (modes || !this.known.has(idOf(consumer, key)))) this.touchKey(consumer, key);
    } else if (this.stalls.has(consumer)) {
      if (role === 'coordinator') {
        const batchId = this.runtime.coordinators.get(consumer)?.batchId(message.id);
        if (batchId !== undefined) this.touchBatch(consumer, batchId, false);
      } else {
        const batchId = batchIdOf(message.data);
        if (batchId !== undefined && !this.entries.has(idOf(consumer, batchId))) this.touchBatch(consumer, batchId, false);
      }
    }
  }

  /** Reads every key and batch touched since the last refresh, and (re)schedules its next deadline or stall check. */
  async refresh(): Promise<void> {
    if (this.touchedKeys.size === 0 && this.touchedBatches.size === 0) return;
    const now = await this.store.now();
    for (const [barrier, keys] of [...this.touchedKeys]) {
      this.touchedKeys.delete(barrier);
      const instance = this.runtime.barriers.get(barrier);
      if (instance === undefined) continue;
      for (const key of keys) {
        this.stats.keyReads++;
        const generations = await instance.inspectGenerations(key);
        // Known once opened: a delivery that failed before opening the key leaves it to be read at the next one.
        if (generations.length > 0) this.known.add(idOf(barrier, key));
        for (const generation of generations) {
          const name = generation.snapshot.barrier;
          const at = generation.trigger === undefined ? generation.nextDeadlineAt : undefined;
          this.set(idOf(name, key), at, { kind: 'deadline', barrier, generation: name, key });
        }
      }
    }
    for (const [coordinator, batches] of [...this.touchedBatches]) {
      this.touchedBatches.delete(coordinator);
      for (const [batchId, ticked] of batches) {
        const at = await this.stallCheckAt(coordinator, batchId);
        // Just ticked and still not stalled by its rule (too few entities counted): only a new report can change that.
        this.set(idOf(coordinator, batchId), at !== undefined && ticked && at <= now ? undefined : at, { kind: 'stall', coordinator, batchId });
      }
    }
  }

  /**
   * Takes every target due at `now` (store time), in the order a full tick would reach them; each is
   * read again after its tick (`ticked`), which schedules its next tier or stall check.
   */
  takeDue(now: number): TickTarget[] {
    const due: Entry[] = [];
    for (const { id, at } of this.queue.popDue(now)) {
      const entry = this.entries.get(id);
      if (entry?.at !== at) continue;
      this.entries.delete(id);
      due.push(entry);
    }
    return due.sort((a, b) => this.rankOf(a.target) - this.rankOf(b.target) || a.seen - b.seen).map((e) => e.target);
  }

  /** Marks ticked targets to be read again at the next refresh. */
  ticked(targets: readonly TickTarget[]): void {
    for (const target of targets) {
      if (target.kind === 'deadline') this.touchKey(target.barrier, target.key);
      else this.touchBatch(target.coordinator, target.batchId, true);
    }
  }

  /**
   * Schedules a failed tick again at once; returns false when the failure names no key or batch (a
   * component that could not list them), which only a full tick retries.
   */
  retry(failure: TickFailure, now: number): boolean {
    if (failure.key === undefined) return false;
    const barrier = this.barrierOf.get(failure.component);
    const target: TickTarget =
      barrier === undefined
        ? { kind: 'stall', coordinator: failure.component, batchId: failure.key }
        : { kind: 'deadline', barrier, generation: failure.component, key: failure.key };
    this.set(idOf(failure.component, failure.key), now, target);
    return true;
  }

  /**
   * The earliest due time (store time) of anything scheduled; undefined when nothing is. A stall check
   * due before `before` is read again first, so the loop never sleeps until one that has moved.
   */
  async next(before: number | undefined): Promise<number | undefined> {
    for (let top = this.queue.peek(); top !== undefined; top = this.queue.peek()) {
      const entry = this.entries.get(top.id);
      if (entry?.at !== top.at) {
        this.queue.pop();
        continue;
      }
      if (entry.target.kind === 'deadline' || (before !== undefined && top.at >= before)) return top.at;
      const at = await this.stallCheckAt(entry.target.coordinator, entry.target.batchId);
      if (at === top.at) return at;
      this.set(top.id, at, entry.target);
    }
    return undefined;
  }

  /** When an active batch's stall window ends, from its last progress; undefined once it completed. */
  private async stallCheckAt(coordinator: string, batchId: string): Promise<number | undefined> {
    this.stats.keyReads++;
    const state = await this.store.readBatch(batchId);
    const active = state?.batch.state === 'active' && state.completion === undefined;
    return active ? state.lastProgressAt + (this.stalls.get(coordinator) ?? 0) : undefined;
  }

  private touchKey(barrier: string, key: string): void {
    const keys = this.touchedKeys.get(barrier) ?? new Set<string>();
    keys.add(key);
    this.touchedKeys.set(barrier, keys);
  }

  private touchBatch(coordinator: string, batchId: string, ticked: boolean): void {
    const batches = this.touchedBatches.get(coordinator) ?? new Map<string, boolean>();
    // A delivery since the tick counts: the batch may have progressed.
    batches.set(batchId, ticked && (batches.get(batchId) ?? true));
    this.touchedBatches.set(coordinator, batches);
  }

  private set(id: string, at: number | undefined, target: TickTarget): void {
    if (at === undefined) {
      this.entries.delete(id);
      return;
    }
    if (this.entries.get(id)?.at === at) return;
    if (!this.seen.has(id)) this.seen.set(id, this.seen.size);
    this.entries.set(id, { at, target, seen: this.seen.get(id) ?? 0 });
    this.queue.push(at, { id, at });
  }

  private rankOf(target: TickTarget): number {
    return this.rank.get(target.kind === 'deadline' ? target.generation : target.coordinator) ?? this.rank.size;
  }
}

/** The schedule's id of a generation × key or a coordinator × batch (a trigger's emitter × scope). */
function idOf(component: string, scope: string): string {
  return `${component}\u0000${scope}`;
}

/** The batch a coordinator's ready report is about; undefined when the body says none (the coordinator rejects it). */
function batchIdOf(data: string): string | undefined {
  try {
    const batchId = (JSON.parse(data) as { batch_id?: unknown }).batch_id;
    return typeof batchId === 'string' ? batchId : undefined;
  } catch {
    return undefined;
  }
}
