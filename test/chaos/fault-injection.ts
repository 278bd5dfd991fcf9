// Data flow: runtime / simulated processors → FaultyMessageBus | FaultyStateStore → the real SQLite (or emulator) adapters.
import type { DeadLetter, MessageBus, OutgoingMessage, PublishResult, ReceivedMessage, SubscriptionConfig } from '../../engine/ports/message-bus.ts';
import { SqliteStateStore } from '../../engine/adapters/sqlite/sqlite-state-store.ts';
import {
  recordCompletionInSteps,
  type BatchItem,
  type BatchRecord,
  type CompletionResult,
  type KeySnapshot,
  type MemberRecord,
  type StateStore,
  type TriggerDraft,
  type TriggerRecord,
  type TriggerRule,
} from '../../engine/ports/state-store.ts';
import type { BatchState, KeyState } from '../../engine/ports/state-store.ts';
import { seededRandom } from '../../engine/simulator/seeded-random.ts';

/** A fault the chaos run injected: transient, so the runtime must retry it (a nack redelivers). */
export class InjectedFault extends Error {
  readonly code = 'chaos/injected-fault';
  readonly retryable = true;
}

/** The simulated process died (kill -9): every port call from now on fails, nothing more is written. */
export class ProcessKilled extends Error {
  readonly code = 'chaos/process-killed';
  readonly retryable = true;
}

/** What the decorators inject, per call; every draw comes from the seed. */
export interface FaultPlan {
  readonly seed: string;
  /** Share of publishes that fail: half before the message reaches the bus, half after (published, yet the caller sees an error). */
  readonly publishFaultRate: number;
  /** Share of state writes and decisions that fail, half before and half after the write committed. */
  readonly storeFaultRate: number;
  /** Most copies of one delivery a pull hands out (1 = no duplicates); each copy is handled concurrently. */
  readonly maxCopies: number;
  /** Share of deliveries that are handed out more than once. */
  readonly duplicateRate: number;
  /** The process dies at this port call (1-based count of calls in this session); undefined: never. */
  readonly killAtCall: number | undefined;
  /** Completions a member never reports: publishes of these (processor, key) pairs are swallowed. */
  readonly silent: (processor: string, key: string) => boolean;
}

/** Counts of what was injected, for the figures. */
export interface FaultCounts {
  calls: number;
  publishFaults: number;
  storeFaults: number;
  duplicateDeliveries: number;
  swallowed: number;
  killed: boolean;
}

/** Shared by a session's bus and store: one call counter, one kill switch, one seeded stream. */
export class FaultInjector {
  readonly counts: FaultCounts = { calls: 0, publishFaults: 0, storeFaults: 0, duplicateDeliveries: 0, swallowed: 0, killed: false };
  private readonly next: () => number;

  constructor(readonly plan: FaultPlan) {
    this.next = seededRandom(plan.seed, 'faults');
  }

  /** Called at the start of every port call: dies on schedule, and stays dead. */
  enter(): void {
    if (this.counts.killed) throw new ProcessKilled('the process was killed');
    this.counts.calls++;
    if (this.plan.killAtCall !== undefined && this.counts.calls >= this.plan.killAtCall) {
      this.counts.killed = true;
      throw new ProcessKilled(`killed at port call ${this.counts.calls}`);
    }
  }

  private readonly inFlight = new Set<Promise<unknown>>();

  /** A port call, remembered until it settles: a dead session's calls finish before its ports close. */
  track<T>(call: Promise<T>): Promise<T> {
    this.inFlight.add(call);
    const done = (): void => void this.inFlight.delete(call);
    call.then(done, done);
    return call;
  }

  /** Resolves once no port call is out (on the emulators a killed session's other handlers may still be mid-call). */
  async settled(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  /** A draw in [0, 1). */
  roll(): number {
    return this.next();
  }

  /** Runs `call` with a fault at `rate`: before it (nothing happened) or after it (it happened, the caller is told it failed). */
  async around<T>(rate: number, what: 'publish' | 'store', call: () => Promise<T>): Promise<T> {
    this.enter();
    const fault = this.roll() < rate;
    const before = this.roll() < 0.5;
    if (fault && before) throw this.fault(what, 'before');
    const result = await this.track(call());
    if (this.counts.killed) throw new ProcessKilled('the process was killed');
    if (fault) throw this.fault(what, 'after');
    return result;
  }

  private fault(what: 'publish' | 'store', when: string): InjectedFault {
    if (what === 'publish') this.counts.publishFaults++;
    else this.counts.storeFaults++;
    return new InjectedFault(`injected ${what} fault (${when} the call)`);
  }
}

/** A MessageBus over a real one, with publish faults, duplicate and reordered deliveries, silent members and a kill switch. */
export class FaultyMessageBus implements MessageBus {
  constructor(
    private readonly inner: MessageBus,
    private readonly faults: FaultInjector,
    /** Told of every message that reached the bus (whatever the caller was told). */
    private readonly onPublished: (topic: string, message: OutgoingMessage) => void = () => undefined,
  ) {}

  subscribe(config: SubscriptionConfig): Promise<void> {
    this.faults.enter();
    return this.faults.track(this.inner.subscribe(config));
  }

  publish(topic: string, message: OutgoingMessage): Promise<PublishResult> {
    const sender = silentSender(message);
    if (sender !== undefined && this.faults.plan.silent(sender.processor, sender.key)) {
      this.faults.enter();
      this.faults.counts.swallowed++;
      return Promise.resolve({ id: message.id, duplicate: false });
    }
    return this.faults.around(this.faults.plan.publishFaultRate, 'publish', async () => {
      const result = await this.inner.publish(topic, message);
      if (!result.duplicate) this.onPublished(topic, message);
      return result;
    });
  }

  async pull(subscription: string, max: number): Promise<ReceivedMessage[]> {
    this.faults.enter();
    const pulled = await this.faults.track(this.inner.pull(subscription, max));
    const out: ReceivedMessage[] = [];
    for (const message of pulled) {
      const copies = this.faults.roll() < this.faults.plan.duplicateRate ? 2 + Math.floor(this.faults.roll() * (this.faults.plan.maxCopies - 1)) : 1;
      this.faults.counts.duplicateDeliveries += copies - 1;
      for (let i = 0; i < copies; i++) out.push(message);
    }
    // Reordered: a seeded shuffle of what this pull returned.
    for (let i = out.length - 1; i > 0; i--) {
      const j = Math.floor(this.faults.roll() * (i + 1));
      [out[i], out[j]] = [out[j] as ReceivedMessage, out[i] as ReceivedMessage];
    }
    return out;
  }

  ack(ackId: string): Promise<void> {
    this.faults.enter();
    return this.faults.track(this.inner.ack(ackId));
  }

  nack(ackId: string, reason: string): Promise<void> {
    this.faults.enter();
    return this.faults.track(this.inner.nack(ackId, reason));
  }

  deadLetter(ackId: string, reason: string): Promise<void> {
    this.faults.enter();
    return this.faults.track(this.inner.deadLetter(ackId, reason));
  }

  deadLetters(subscription?: string): Promise<DeadLetter[]> {
    this.faults.enter();
    return this.faults.track(this.inner.deadLetters(subscription));
  }

  backlog(subscription: string): Promise<number> {
    this.faults.enter();
    return this.faults.track(this.inner.backlog(subscription));
  }
}

/** A StateStore over a real one: every write and decision may fail before or after it commits; reads only die with the process. */
export class FaultyStateStore implements StateStore {
  constructor(
    private readonly inner: StateStore,
    private readonly faults: FaultInjector,
  ) {}

  private write<T>(call: () => Promise<T>): Promise<T> {
    return this.faults.around(this.faults.plan.storeFaultRate, 'store', call);
  }

  private read<T>(call: () => Promise<T>): Promise<T> {
    this.faults.enter();
    return this.faults.track(call());
  }

  now = (): Promise<number> => this.read(() => this.inner.now());
  openKey = (snapshot: KeySnapshot): Promise<KeySnapshot> => this.write(() => this.inner.openKey(snapshot));
  recordMember = (barrier: string, key: string, record: MemberRecord): Promise<boolean> => this.write(() => this.inner.recordMember(barrier, key, record));
  readKey = (barrier: string, key: string): Promise<KeyState | undefined> => this.read(() => this.inner.readKey(barrier, key));
  listKeys = (barrier: string, openOnly: boolean): Promise<string[]> => this.read(() => this.inner.listKeys(barrier, openOnly));
  decideTrigger = (barrier: string, key: string, rule: TriggerRule) => this.write(() => this.inner.decideTrigger(barrier, key, rule));
  // One write on a store that does it in one step (SQLite: a fault lands before or after the whole commit);
  // the three faulty steps on one that does not, so a failure between them is injected as it can happen there.
  recordCompletion = (snapshot: KeySnapshot, record: MemberRecord, rule: TriggerRule): Promise<CompletionResult> =>
    this.inner instanceof SqliteStateStore
      ? this.write(() => this.inner.recordCompletion(snapshot, record, rule))
      : recordCompletionInSteps(this, snapshot, record, rule);
  markPublished = (emitter: string, scope: string, at: number): Promise<void> => this.write(() => this.inner.markPublished(emitter, scope, at));
  listUnpublished = (emitter?: string): Promise<TriggerRecord[]> => this.read(() => this.inner.listUnpublished(emitter));
  openBatch = (batch: BatchRecord, onActive: 'refuse' | 'supersede') => this.write(() => this.inner.openBatch(batch, onActive));
  recordBatchItem = (batchId: string, item: BatchItem): Promise<boolean> => this.write(() => this.inner.recordBatchItem(batchId, item));
  readBatch = (batchId: string): Promise<BatchState | undefined> => this.read(() => this.inner.readBatch(batchId));
  listActiveBatches = (coordinator: string): Promise<BatchRecord[]> => this.read(() => this.inner.listActiveBatches(coordinator));
  completeBatch = (batchId: string, evaluate: (state: BatchState) => TriggerDraft | undefined) => this.write(() => this.inner.completeBatch(batchId, evaluate));
}

/** The processor and key of a completion envelope, or undefined for anything else. */
function silentSender(message: OutgoingMessage): { processor: string; key: string } | undefined {
  if (message.attributes['ce-type'] !== 'dev.baton.completion.v1') return undefined;
  try {
    const data = JSON.parse(message.data) as { processor_name?: unknown; key?: unknown };
    return typeof data.processor_name === 'string' && typeof data.key === 'string' ? { processor: data.processor_name, key: data.key } : undefined;
  } catch {
    return undefined;
  }
}
