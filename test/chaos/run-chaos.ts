// Data flow: seeded keys → simulated processors + the real PipelineRuntime → fault decorators → SQLite file; kill → reopen → resume; then checkChaos.
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { openSqliteDatabase } from '../../engine/adapters/sqlite/open-sqlite-database.ts';
import { SqliteMessageBus } from '../../engine/adapters/sqlite/sqlite-message-bus.ts';
import { SqliteStateStore } from '../../engine/adapters/sqlite/sqlite-state-store.ts';
import { loadPipeline } from '../../engine/config/load-pipeline.ts';
import type { ResolvedPipeline } from '../../engine/config/resolved-pipeline.ts';
import { openGcpBackend } from '../../engine/adapters/gcp/index.ts';
import type { MessageBus, OutgoingMessage } from '../../engine/ports/message-bus.ts';
import type { StateStore } from '../../engine/ports/state-store.ts';
import { PipelineRuntime, type RuntimeSubscription } from '../../engine/runtime/pipeline-runtime.ts';
import { inspectKey, isKeyFinished } from '../../engine/runtime/inspect-key.ts';
import { runtimeSubscriptions } from '../../engine/cli/stored-run.ts';
import { KeyFeeder } from '../../engine/simulator/key-feeder.ts';
import { ProcessorSimulator } from '../../engine/simulator/processor-simulator.ts';
import { seededRandom } from '../../engine/simulator/seeded-random.ts';
import { VirtualClock } from '../../engine/simulator/virtual-clock.ts';
import { WatchedMessageBus } from '../../engine/simulator/watched-message-bus.ts';
import { runSimulation } from '../../engine/simulator/simulated-run.ts';
import { checkChaos, type ChaosLedger } from './check-chaos.ts';
import { FaultInjector, FaultyMessageBus, FaultyStateStore, ProcessKilled, type FaultCounts } from './fault-injection.ts';

/** One chaos run: a pipeline, its keys, and how hard to shake it. */
export interface ChaosOptions {
  readonly pipelineFile: string;
  readonly keys: readonly string[];
  readonly seed: number;
  /** The SQLite file (deleted first); unused with `gcp`. */
  readonly dbFile: string;
  /** Run on the Pub/Sub and Firestore emulators instead (a fresh project id per run). Leases there are real time. */
  readonly gcp?: { readonly projectId: string; readonly pubsubHost: string; readonly firestoreHost: string };
  /** Sessions killed in-process at a random port call, first. */
  readonly kills: number;
  /** Then sessions run in a child process and SIGKILLed at a random point. */
  readonly processKills?: number;
  readonly publishFaultRate?: number;
  readonly storeFaultRate?: number;
  /** Share of deliveries handed out 2–4 times. */
  readonly duplicateRate?: number;
  /** Share of keys with one member (of a barrier with deadlines) that never reports. */
  readonly silentRate?: number;
  /** Poison messages published to each barrier's and coordinator's listened topics. */
  readonly poisonPerTopic?: number;
  /** Overrides `simulate.entities` (fewer entities per coordinator batch for a short run). */
  readonly entities?: Readonly<Record<string, number>>;
}

/** The figures a chaos run prints. */
export interface ChaosFigures {
  pipeline: string;
  seed: number;
  keys: number;
  messages: number;
  duplicateDeliveries: number;
  duplicatesAbsorbed: number;
  publishFaults: number;
  storeFaults: number;
  processKills: number;
  kills: number;
  crashes: number;
  silentMembers: number;
  poison: number;
  triggers: number;
  batches: number;
  deadLettered: number;
  lost: number;
  doubled: number;
  wallMs: number;
}

/** Figures, and every broken invariant found (empty when the run held). */
export interface ChaosResult {
  readonly figures: ChaosFigures;
  /** Why each session that was not killed on purpose stopped (an injected fault that escaped a loop). */
  readonly crashReasons: readonly string[];
  readonly violations: readonly string[];
}

/** Barrier and coordinator leases: they expire this soon after a kill, so the dead session's deliveries come back. */
const ACK_DEADLINE_MS = 30_000;
const START = Date.UTC(2026, 0, 20, 15, 0, 0);

/** What every session of a run derives the same way from the options (so a child process can too). */
export interface ChaosPlan {
  readonly options: ChaosOptions;
  readonly pipeline: ResolvedPipeline;
  readonly runId: string;
  readonly subscriptions: readonly RuntimeSubscription[];
  /** The member of each key that never reports, for keys that have one. */
  readonly silent: ReadonlyMap<string, string>;
  /** Topics the barriers and coordinators publish to, watched by the check. */
  readonly watched: readonly string[];
}

/** Loads the pipeline and draws the seeded choices every session shares. */
export function planChaos(options: ChaosOptions): ChaosPlan {
  const loaded = loadPipeline(options.pipelineFile);
  if (loaded.pipeline === undefined || loaded.diagnostics.some((d) => d.severity === 'error'))
    throw new Error(`${options.pipelineFile} is not a valid pipeline`);
  const pipeline = withEntities(loaded.pipeline, options.entities);
  const runId = `chaos-${options.seed}`;
  const rng = seededRandom(runId, 'plan');
  // A silent member is one a deadline tier can close without: a tier never waits past a required member
  // (unless it ignores them), so a silent required member only shows a key stuck, which the unit tests of
  // the threshold decision cover.
  const silentCandidates = [
    ...new Set(
      pipeline.barriers
        .filter((b) => b.deadlines.length > 0)
        .flatMap((b) => {
          const required = new Set(b.threshold.required.map((r) => r.name));
          return b.members.map((m) => m.name).filter((m) => !required.has(m));
        }),
    ),
  ];
  const silent = new Map<string, string>();
  for (const key of options.keys) {
    const victim = silentCandidates[Math.floor(rng() * silentCandidates.length)];
    if (victim !== undefined && rng() < (options.silentRate ?? 0.3)) silent.set(key, victim);
  }
  const subscriptions: RuntimeSubscription[] = runtimeSubscriptions(pipeline).map((s) => ({
    ...s,
    // Barriers and coordinators get short leases and backoffs, so a kill costs simulated seconds (processors keep
    // theirs: their simulated work outlasts a short lease); attempts high enough that injected faults never exhaust them.
    config: {
      ...s.config,
      // On the emulators leases are wall-clock time: every lease is Pub/Sub's shortest, so a crashed session's
      // deliveries come back in seconds (a simulated job that outlasts it is redelivered and its completion absorbed).
      ackDeadlineMs: options.gcp !== undefined ? 10_000 : s.role === 'processor' ? s.config.ackDeadlineMs : ACK_DEADLINE_MS,
      minBackoffMs: 1_000,
      maxBackoffMs: 10_000,
      maxDeliveryAttempts: 1_000,
    },
  }));
  const watched = [
    ...new Set([...pipeline.barriers.map((b) => b.publishes.name), ...pipeline.coordinators.flatMap((c) => (c.publishes ? [c.publishes.name] : []))]),
  ];
  return { options, pipeline, runId, subscriptions, silent, watched };
}

/** What a session tells its caller as it goes (in a child process: one JSON line each on stdout). */
export interface SessionEvents {
  published(topic: string, message: OutgoingMessage): void;
  fired(id: string): void;
  duplicate(): void;
  clock(now: number): void;
}

/** How a session ended. */
export interface SessionOutcome {
  readonly finished: boolean;
  readonly killed: boolean;
  readonly crashReason: string | undefined;
  readonly counts: FaultCounts;
  readonly clockEnd: number;
}

/**
 * One process's life over the SQLite file: open, resume the keys already started, run to quiescence under
 * the injected faults — or die at `killAtCall` (the in-process kill: every port call from then on fails).
 */
export async function runSession(
  plan: ChaosPlan,
  session: number,
  clockAt: number,
  killAtCall: number | undefined,
  events: SessionEvents,
): Promise<SessionOutcome> {
  const { options, pipeline, runId, subscriptions, silent } = plan;
  const faults = new FaultInjector({
    seed: `${runId}:${session}`,
    publishFaultRate: options.publishFaultRate ?? 0.1,
    storeFaultRate: options.storeFaultRate ?? 0.05,
    duplicateRate: options.duplicateRate ?? 0.2,
    maxCopies: 4,
    killAtCall,
    silent: (processor, key) => silent.get(key) === processor,
  });
  const clock = new VirtualClock(clockAt);
  const backend = openChaosBackend(options, clock);
  // Watched as `baton run` watches its bus: the run loop pulls only subscriptions that may have work.
  const bus = new WatchedMessageBus(
    new FaultyMessageBus(backend.bus, faults, (topic, message) => events.published(topic, message)),
    clock,
    subscriptions.map((s) => s.config),
  );
  const store = new FaultyStateStore(backend.store, faults);
  const simulator = new ProcessorSimulator(pipeline, bus, clock, subscriptions, { runId, full: false, overrides: {} });
  const runtime = new PipelineRuntime({
    pipeline,
    subscriptions,
    store,
    bus,
    clock,
    fullList: (coordinator) => {
      const type = pipeline.coordinators.find((c) => c.name === coordinator)?.entityType ?? '';
      return () => Promise.resolve(simulator.fullList(type));
    },
    onEvent: (event) => {
      if (event.kind === 'duplicate') events.duplicate();
      if (event.kind === 'fired') events.fired(`${event.trigger.emitter} × ${event.trigger.scope}`);
    },
  });
  const feeder = new KeyFeeder(
    options.keys,
    options.keys.length,
    async (key) => isKeyFinished(pipeline, await inspectKey(pipeline, runtime, key)),
    (keys) => simulator.startKeys(keys),
  );
  let finished = false;
  let crashReason: string | undefined;
  try {
    await feeder.resume(async (key) => (await inspectKey(pipeline, runtime, key)).correlationId !== undefined);
    await runToQuiet(pipeline, runtime, simulator, feeder, subscriptions, store, bus, clock, events);
    finished = true;
  } catch (error) {
    if (!(error instanceof ProcessKilled)) crashReason = error instanceof Error ? error.message : String(error);
  }
  // Let the dead session's pending promise chains settle against the dead ports before the file closes: every port call
  // still out (on the emulators, other handlers of the same pull may be mid-call), then what runs after them.
  await faults.settled();
  await new Promise((resolve) => setImmediate(resolve));
  await backend.close();
  return { finished, killed: faults.counts.killed, crashReason, counts: faults.counts, clockEnd: clock.now() };
}

/**
 * Runs the pipeline to quiescence under faults, kills and resumes, then checks it against the reference
 * model. The first `kills` sessions die in-process at a random port call; the next `processKills` run in
 * a child process that is SIGKILLed at a random point (one that finishes first ends the run); the last is let finish.
 */
export async function runChaos(options: ChaosOptions): Promise<ChaosResult> {
  const wallStart = Date.now();
  const plan = planChaos(options);
  const { pipeline, subscriptions, silent, watched } = plan;
  const rng = seededRandom(plan.runId, 'kills');
  const ledger: ChaosLedger = { published: [], poison: [], fired: new Map() };
  const totals: FaultCounts = { calls: 0, publishFaults: 0, storeFaults: 0, duplicateDeliveries: 0, swallowed: 0, killed: false };
  let kills = 0;
  let processKills = 0;
  const crashReasons: string[] = [];
  let duplicatesAbsorbed = 0;
  let clockAt = START;
  const events: SessionEvents = {
    published: (topic, message) => ledger.published.push({ topic, message }),
    fired: (id) => ledger.fired.set(id, (ledger.fired.get(id) ?? 0) + 1),
    duplicate: () => duplicatesAbsorbed++,
    clock: () => undefined,
  };

  if (options.gcp === undefined) for (const suffix of ['', '-wal', '-shm']) rmSync(`${options.dbFile}${suffix}`, { force: true });
  {
    const { bus, close } = openChaosBackend(options, new VirtualClock(clockAt));
    for (const { config } of subscriptions) await bus.subscribe(config);
    for (const topic of watched)
      await bus.subscribe({ name: `chaos-watch--${topic}`, topic, ackDeadlineMs: 60_000, maxDeliveryAttempts: 5, minBackoffMs: 1_000, maxBackoffMs: 10_000 });
    ledger.poison.push(...(await publishPoison(bus, pipeline, options.poisonPerTopic ?? 2)));
    await close();
  }

  const leaseMs = Math.max(...subscriptions.map((s) => s.config.ackDeadlineMs)) + 1;
  const realKills = options.processKills ?? 0;
  for (let session = 0; ; session++) {
    let outcome: SessionOutcome;
    if (session >= options.kills && session < options.kills + realKills) {
      outcome = await runKilledProcess(options, session, clockAt, 10 + Math.floor(rng() * 200), events);
      if (outcome.killed) processKills++;
    } else {
      // Within the first few hundred port calls: a session of the event-driven loop makes no call for a pull that cannot
      // find anything, so a short run (two keys on the emulators) may finish in fewer than a thousand.
      const killAtCall = session < options.kills ? 20 + Math.floor(rng() * 200) : undefined;
      outcome = await runSession(plan, session, clockAt, killAtCall, events);
      if (outcome.killed) kills++;
    }
    if (outcome.crashReason !== undefined) crashReasons.push(outcome.crashReason);
    add(totals, outcome.counts);
    clockAt = outcome.clockEnd + leaseMs;
    if (outcome.finished) break;
    if (session > realKills + options.kills + 50) throw new Error(`chaos run did not finish after ${session + 1} sessions`);
  }

  const final = openChaosBackend(options, new VirtualClock(clockAt));
  try {
    const check = await checkChaos(pipeline, subscriptions, watched, final.bus, final.store, ledger);
    return {
      figures: {
        pipeline: pipeline.name,
        seed: options.seed,
        keys: options.keys.length,
        messages: ledger.published.length,
        duplicateDeliveries: totals.duplicateDeliveries,
        duplicatesAbsorbed,
        publishFaults: totals.publishFaults,
        storeFaults: totals.storeFaults,
        processKills,
        kills,
        crashes: crashReasons.length,
        silentMembers: silent.size,
        poison: ledger.poison.length,
        triggers: check.triggers,
        batches: check.batches,
        deadLettered: check.deadLettered,
        lost: check.lost,
        doubled: check.doubled,
        wallMs: Date.now() - wallStart,
      },
      crashReasons,
      violations: check.violations,
    };
  } finally {
    await final.close();
  }
}

/** The real adapters a session runs over: the SQLite file, or the Pub/Sub and Firestore emulators. */
function openChaosBackend(options: ChaosOptions, clock: VirtualClock): { bus: MessageBus; store: StateStore; close: () => Promise<void> } {
  if (options.gcp !== undefined) {
    const gcp = openGcpBackend({
      projectId: options.gcp.projectId,
      pubsubEmulatorHost: options.gcp.pubsubHost,
      firestoreEmulatorHost: options.gcp.firestoreHost,
      clock,
    });
    return { bus: gcp.bus, store: gcp.store, close: () => gcp.close() };
  }
  const db = openSqliteDatabase(options.dbFile);
  return {
    bus: new SqliteMessageBus(db, clock),
    store: new SqliteStateStore(db, clock),
    close: () => {
      db.close();
      return Promise.resolve();
    },
  };
}

/**
 * Runs one session in a child process (`session-worker.ts`) and SIGKILLs it once it has put `killAfter`
 * messages on the bus — wherever it is then, mid-transaction included. What it reported before dying
 * (one JSON line per event; pipe writes are synchronous on Linux) goes into the ledger.
 */
function runKilledProcess(options: ChaosOptions, session: number, clockAt: number, killAfter: number, events: SessionEvents): Promise<SessionOutcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'session-worker.ts'), JSON.stringify({ options, session, clockAt })], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let buffered = '';
    let published = 0;
    let clockEnd = clockAt;
    let end: SessionOutcome | undefined;
    // Decoded as a stream: a multi-byte character split across chunks stays whole.
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      buffered += chunk;
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        let event: WorkerLine;
        try {
          event = JSON.parse(line) as WorkerLine;
        } catch {
          reject(new Error(`chaos session worker wrote a line that is not an event: ${line.slice(0, 200)}`));
          child.kill('SIGKILL');
          return;
        }
        if (event.t === 'published') {
          events.published(event.topic, event.message);
          if (++published === killAfter) child.kill('SIGKILL');
        } else if (event.t === 'fired') events.fired(event.id);
        else if (event.t === 'duplicate') events.duplicate();
        else if (event.t === 'clock') clockEnd = event.now;
        else end = event.outcome;
      }
    });
    child.on('error', reject);
    child.on('close', (_code, signal) => {
      if (end !== undefined) resolve(end);
      else if (signal === 'SIGKILL') resolve({ finished: false, killed: true, crashReason: undefined, counts: emptyCounts(), clockEnd });
      else reject(new Error(`chaos session ${session} exited without reporting (signal ${signal ?? 'none'})`));
    });
  });
}

/** One line a session worker writes. */
export type WorkerLine =
  | { readonly t: 'published'; readonly topic: string; readonly message: OutgoingMessage }
  | { readonly t: 'fired'; readonly id: string }
  | { readonly t: 'duplicate' }
  | { readonly t: 'clock'; readonly now: number }
  | { readonly t: 'end'; readonly outcome: SessionOutcome };

function emptyCounts(): FaultCounts {
  return { calls: 0, publishFaults: 0, storeFaults: 0, duplicateDeliveries: 0, swallowed: 0, killed: false };
}

/** One session: the run loop of `baton run` until nothing is due, under the injected faults. */
async function runToQuiet(
  pipeline: ResolvedPipeline,
  runtime: PipelineRuntime,
  simulator: ProcessorSimulator,
  feeder: KeyFeeder,
  subscriptions: readonly RuntimeSubscription[],
  store: FaultyStateStore,
  bus: MessageBus,
  clock: VirtualClock,
  events: SessionEvents,
): Promise<void> {
  let reported = clock.now();
  const end = await runSimulation({
    pipeline,
    runtime,
    simulator,
    subscriptions,
    bus,
    store,
    clock,
    feeder,
    limitAt: clock.now() + 7 * 86_400_000,
    // A key whose tick hit an injected fault is ticked again at the next pass rather than at the next event.
    tolerate: (failure) => failure.reason.includes('injected') || failure.reason.includes('killed'),
    onStep: () => {
      if (clock.now() !== reported) events.clock((reported = clock.now()));
    },
  });
  if (end === 'time-limit') {
    const stuck: string[] = [];
    for (const { config } of subscriptions) {
      const backlog = await bus.backlog(config.name);
      if (backlog > 0) stuck.push(`${config.name}: ${backlog}`);
    }
    throw new Error(`chaos session ran past seven simulated days; in flight: ${stuck.join(', ') || 'nothing'}`);
  }
}

/** Messages no handler can ever process, on every topic a barrier or coordinator listens to. */
async function publishPoison(bus: MessageBus, pipeline: ResolvedPipeline, perTopic: number): Promise<{ topic: string; message: OutgoingMessage }[]> {
  const topics = new Set([...pipeline.barriers.map((b) => b.listens.name), ...pipeline.coordinators.flatMap((c) => [c.listens.name, c.readyTopic.name])]);
  const poison: { topic: string; message: OutgoingMessage }[] = [];
  for (const topic of topics) {
    for (let i = 0; i < perTopic; i++) {
      const id = `poison:${topic}:${i}`;
      const message: OutgoingMessage =
        i % 2 === 0
          ? { id, attributes: { 'ce-id': id, 'ce-type': 'dev.baton.completion.v1' }, data: '{"not": "an envelope"' }
          : { id, attributes: {}, data: JSON.stringify({ key: 'not-a-date', processor_name: 'nobody' }) };
      await bus.publish(topic, message);
      poison.push({ topic, message });
    }
  }
  return poison;
}

function withEntities(pipeline: ResolvedPipeline, entities: Readonly<Record<string, number>> | undefined): ResolvedPipeline {
  if (entities === undefined) return pipeline;
  return { ...pipeline, simulation: { ...pipeline.simulation, entities: { ...pipeline.simulation.entities, ...entities } } };
}

function add(into: FaultCounts, from: FaultCounts): void {
  into.calls += from.calls;
  into.publishFaults += from.publishFaults;
  into.storeFaults += from.storeFaults;
  into.duplicateDeliveries += from.duplicateDeliveries;
  into.swallowed += from.swallowed;
}
