// Data flow: one key's completions (+20 % redeliveries), all at once from four clients → seed design | lock-free floor | Baton, on the Firestore emulator.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Firestore } from '@google-cloud/firestore';
import { clearFirestore, openGcpBackend, type GcpBackend, type RunningEmulators } from '../engine/adapters/gcp/index.ts';
import { loadPipeline } from '../engine/config/load-pipeline.ts';
import { CompletionBarrier } from '../engine/runtime/completion-barrier.ts';
import { buildEnvelope, ENVELOPE_TYPES, toMessage } from '../engine/runtime/envelope.ts';
import { SystemClock } from '../engine/runtime/system-clock.ts';
import { seededRandom } from '../engine/simulator/seeded-random.ts';
import { SeedOrchestrator } from './seed-design.ts';
import { FAN_IN_BARRIER, FAN_IN_TOPICS, fanInPipelineYaml, processorNames } from './synthetic-pipeline.ts';

/** The three ways to fan in one key. */
export type FanInDesign = 'seed' | 'floor' | 'baton';

/** One run of one design at one size. */
export interface FanInRun {
  readonly design: FanInDesign;
  readonly members: number;
  readonly messages: number;
  /** Wall time from the first completion sent to the last one answered (or the cap). */
  readonly ms: number;
  /** Triggers published (the design's own count of the calls that won the decision). */
  readonly triggers: number;
  /** Completions whose handling threw (e.g. the seed's transactions after their 5 attempts). */
  readonly errors: number;
  /** True when the run hit the cap before every completion was answered. */
  readonly capped: boolean;
  /** Writes to the trigger document that the server applied (a failed precondition or an aborted commit is not one). */
  readonly triggerDocWrites: number;
  /** Write requests that named the trigger document, applied or not (each aborted transaction attempt, each refused create). */
  readonly triggerDocAttempts: number;
  /** The document the most write requests named, and how many (applied or not). */
  readonly hottestDoc: string;
  readonly hottestDocAttempts: number;
}

const KEY = '2025-11-29';
const INSTANCES = 4;
/** The seed design at 500 never fires and takes minutes to give up: its run stops here, marked capped. */
const CAP_MS = 60_000;

/** Write requests per document name: all of them, and those the server applied. */
export interface WriteCounts {
  readonly attempted: Map<string, number>;
  readonly applied: Map<string, number>;
}

/**
 * Counts write requests per document name on a Firestore client, at the SDK's one funnel for
 * non-streaming calls (`Firestore#request`): every `commit` (a create, an update, a transaction's
 * commit) passes there once per attempt — the SDK retries an aborted transaction by running it again,
 * so each attempt is counted; a gRPC-level retry inside one request (UNAVAILABLE) is not. A request
 * that resolves was applied; one that rejects (ABORTED, ALREADY_EXISTS) was not. The funnel is
 * internal to the SDK, so a version without it stops the bench with this error rather than
 * reporting zero writes.
 */
export function countWrites(db: Firestore, counts: WriteCounts): void {
  type Write = { update?: { name?: string }; delete?: string; transform?: { document?: string } };
  const funnel = db as unknown as { request?: (method: string, request: { writes?: Write[] }, ...rest: unknown[]) => Promise<unknown> };
  const original = funnel.request;
  if (typeof original !== 'function')
    throw new Error('bench: this @google-cloud/firestore has no Firestore#request funnel; update countWrites in bench/firestore-fan-in.ts');
  funnel.request = (method, request, ...rest) => {
    const names = method === 'commit' ? (request.writes ?? []).map((w) => w.update?.name ?? w.delete ?? w.transform?.document ?? '') : [];
    const add = (map: Map<string, number>): void => {
      for (const name of names) map.set(name, (map.get(name) ?? 0) + 1);
    };
    add(counts.attempted);
    const call = original.call(db, method, request, ...rest);
    void call.then(
      () => add(counts.applied),
      () => undefined,
    );
    return call;
  };
}

/** The completions of one key: every member once, plus `duplicates` redeliveries, in a seeded order. */
function completionsOf(members: number, duplicateRate: number): { member: string; execution: string }[] {
  const random = seededRandom('fan-in', members);
  const names = processorNames(members, 'm');
  const list = names.map((member) => ({ member, execution: `exec-${member}` }));
  const duplicates = Math.round(members * duplicateRate);
  for (let i = 0; i < duplicates; i++) list.push(list[Math.floor(random() * members)] as { member: string; execution: string });
  for (let i = list.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [list[i], list[j]] = [list[j] as (typeof list)[number], list[i] as (typeof list)[number]];
  }
  return list;
}

let projects = 0;

/** Runs one design once: fresh project, four clients, every completion in flight at once. */
export async function runFanIn(emulators: RunningEmulators, design: FanInDesign, members: number, duplicateRate = 0.2): Promise<FanInRun> {
  projects += 1;
  const projectId = `bench-${design}-${process.pid}-${projects}`.slice(0, 30);
  const clock = new SystemClock();
  const backends: GcpBackend[] = Array.from({ length: INSTANCES }, () =>
    openGcpBackend({ projectId, pubsubEmulatorHost: emulators.pubsubHost, firestoreEmulatorHost: emulators.firestoreHost, clock }),
  );
  const writes: WriteCounts = { attempted: new Map(), applied: new Map() };
  for (const backend of backends) countWrites(backend.firestore, writes);
  const first = backends[0] as GcpBackend;
  await first.pubsub.createTopic(FAN_IN_TOPICS.trigger);
  const handlers = backends.map((backend) => handlerOf(design, backend, members));
  const messages = completionsOf(members, duplicateRate);

  let triggers = 0;
  let errors = 0;
  const started = performance.now();
  const all = Promise.all(
    messages.map(async (message, i) => {
      try {
        if (await (handlers[i % INSTANCES] as Handler)(message.member, message.execution)) triggers++;
      } catch {
        errors++;
      }
    }),
  );
  let timer: NodeJS.Timeout | undefined;
  const capped = await Promise.race([all.then(() => false), new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), CAP_MS)))]);
  clearTimeout(timer);
  const ms = performance.now() - started;

  // A capped run's calls are still running: closing the clients ends them, and the SDK then rejects
  // the retries it had scheduled inside runTransaction, where no caller can catch them.
  if (capped) ignoreTerminatedClients();
  await Promise.race([Promise.all(backends.map((b) => b.close().catch(() => undefined))), new Promise((resolve) => setTimeout(resolve, 15_000))]);
  await clearFirestore(emulators.firestoreHost, projectId).catch(() => undefined);
  // The trigger document: the seed's one document per key; the floor's and Baton's document in a `*triggers` collection.
  const triggerDoc =
    [...writes.attempted.keys()].find((name) => (design === 'seed' ? name.endsWith(`/seed_phase2/${KEY}`) : /triggers\/[^/]+$/.test(name))) ?? '';
  const [hottestDoc, hottestDocAttempts] = [...writes.attempted].reduce<[string, number]>((top, entry) => (entry[1] > top[1] ? entry : top), ['', 0]);
  return {
    design,
    members,
    messages: messages.length,
    ms,
    triggers,
    errors,
    capped,
    triggerDocWrites: writes.applied.get(triggerDoc) ?? 0,
    triggerDocAttempts: writes.attempted.get(triggerDoc) ?? 0,
    hottestDoc: hottestDoc.replace(/^projects\/[^/]+\/databases\/[^/]+\/documents\//, ''),
    hottestDocAttempts,
  };
}

let ignoringTerminated = false;

/** From now on, an unhandled rejection saying a closed client was terminated is expected; any other still ends the process. */
function ignoreTerminatedClients(): void {
  if (ignoringTerminated) return;
  ignoringTerminated = true;
  process.on('unhandledRejection', (reason) => {
    if (reason instanceof Error && reason.message.includes('client has already been terminated')) return;
    throw reason;
  });
}

/** Handles one completion; resolves true when this call published the trigger. */
type Handler = (member: string, execution: string) => Promise<boolean>;

function handlerOf(design: FanInDesign, backend: GcpBackend, members: number): Handler {
  const publish = async (key: string, correlationId: string): Promise<void> => {
    await backend.pubsub.topic(FAN_IN_TOPICS.trigger).publishMessage({ json: { key, correlationId } });
  };
  if (design === 'seed') {
    const seed = new SeedOrchestrator(backend.firestore, { collection: 'seed_phase2', expected: members, publish });
    return async (member, execution) =>
      (await seed.handle({ processor: member, key: KEY, status: 'success', executionId: execution, correlationId: `run-${KEY}` })) === 'triggered';
  }
  if (design === 'floor') return floorHandler(backend.firestore, members, publish);
  const barrier = batonBarrier(backend, members);
  return async (member, execution) => (await barrier.handle(completionMessage(member, execution))).fired !== undefined;
}

/**
 * The lock-free floor: the least work a correct fan-in can do on Firestore. Each completion creates
 * its own member document (an existing one is a redelivery and stops there), counts the key's member
 * documents with one aggregation query, and when all are in creates the trigger document with the
 * must-not-exist precondition; the one create that succeeds publishes. No transaction, no shared write.
 */
function floorHandler(db: Firestore, members: number, publish: (key: string, correlationId: string) => Promise<void>): Handler {
  const memberDocs = db.collection('floor_keys').doc(KEY).collection('members');
  const trigger = db.collection('floor_triggers').doc(KEY);
  const created = async (create: Promise<unknown>): Promise<boolean> => {
    try {
      await create;
      return true;
    } catch (error) {
      if ((error as { code?: unknown }).code === 6) return false; // ALREADY_EXISTS
      throw error;
    }
  };
  return async (member, execution) => {
    if (!(await created(memberDocs.doc(`${member}~${execution}`).create({ member, execution, at: Date.now() })))) return false;
    const count = (await memberDocs.count().get()).data().count;
    if (count < members || !(await created(trigger.create({ key: KEY, at: Date.now() })))) return false;
    await publish(KEY, `run-${KEY}`);
    return true;
  };
}

const barriers = new Map<number, ReturnType<typeof loadPipeline>>();

/** Baton's real barrier over this backend's FirestoreStateStore and PubSubMessageBus, for a one-barrier pipeline of `members`. */
function batonBarrier(backend: GcpBackend, members: number): CompletionBarrier {
  let loaded = barriers.get(members);
  if (loaded === undefined) {
    const dir = mkdtempSync(join(tmpdir(), 'baton-bench-'));
    const file = join(dir, 'pipeline.yaml');
    writeFileSync(file, fanInPipelineYaml(members));
    loaded = loadPipeline(file);
    rmSync(dir, { recursive: true, force: true });
    barriers.set(members, loaded);
  }
  const { pipeline } = loaded;
  const barrier = pipeline?.barriers.find((b) => b.name === FAN_IN_BARRIER);
  if (pipeline === undefined || barrier === undefined)
    throw new Error(`bench: the synthetic ${members}-member pipeline did not load: ${JSON.stringify(loaded.diagnostics)}`);
  return new CompletionBarrier({ barrier, pipeline, store: backend.store, bus: backend.bus, clock: new SystemClock() });
}

/** A member's completion envelope, as a processor publishes it. */
export function completionMessage(member: string, execution: string, key = KEY): ReturnType<typeof toMessage> {
  const time = Date.now();
  return toMessage(
    buildEnvelope({
      id: `completion:${member}:${key}:${execution}`,
      source: `//baton/bench/processors/${member}`,
      type: ENVELOPE_TYPES.completion,
      time,
      subject: key,
      correlationId: `run-${key}`,
      data: {
        processor_name: member,
        phase: 'work',
        execution_id: execution,
        correlation_id: `run-${key}`,
        key,
        status: 'success',
        timestamp: new Date(time).toISOString(),
      },
    }),
  );
}
