// Data flow: the SQLite file after a chaos run + what was published → reference model → violations and figures.
import type { ResolvedPipeline } from '../../engine/config/resolved-pipeline.ts';
import { matchesFilter, type MessageBus, type OutgoingMessage, type ReceivedMessage } from '../../engine/ports/message-bus.ts';
import type { KeyState, StateStore } from '../../engine/ports/state-store.ts';
import type { RuntimeSubscription } from '../../engine/runtime/pipeline-runtime.ts';
import { modelDecision, type ModelKey } from './reference-model.ts';

/** What the run saw while it ran, across every session. */
export interface ChaosLedger {
  /** Every message that reached the bus (first publish of its id on its topic). */
  readonly published: { readonly topic: string; readonly message: OutgoingMessage }[];
  readonly poison: { readonly topic: string; readonly message: OutgoingMessage }[];
  /** `fired` events per `emitter × scope`: more than one is a doubled trigger. */
  readonly fired: Map<string, number>;
}

/** What the check found. */
export interface ChaosCheck {
  readonly violations: string[];
  /** Distinct barrier triggers published. */
  readonly triggers: number;
  /** Coordinator batches completed. */
  readonly batches: number;
  readonly deadLettered: number;
  /** Accepted completions a barrier did not record, and triggers decided but never published. */
  readonly lost: number;
  /** Barrier × key (× generation) or batches with more than one trigger. */
  readonly doubled: number;
}

interface TriggerBody {
  key: string;
  emitter: string;
  mode?: string;
  reason: string;
  deadline_tier?: { tier: number };
  members_completed: string[];
  members_missing: string[];
}

/**
 * Checks a finished chaos run: per barrier × key × generation exactly one trigger, with the reason,
 * tier and members the reference model gives for the members it joined at the time it was decided,
 * and none where the model says nothing may fire; every accepted completion recorded; every poison
 * message dead-lettered with a reason and nothing else dead-lettered; nothing left in flight.
 */
export async function checkChaos(
  pipeline: ResolvedPipeline,
  subscriptions: readonly RuntimeSubscription[],
  watched: readonly string[],
  bus: MessageBus,
  store: StateStore,
  ledger: ChaosLedger,
): Promise<ChaosCheck> {
  const violations: string[] = [];
  let lost = 0;
  let doubled = 0;
  const now = await store.now();

  // What reached the consumers of each trigger topic: distinct ids per emitter × key × mode.
  const seen = new Map<string, Set<string>>();
  for (const topic of watched) {
    for (const message of await drain(bus, `chaos-watch--${topic}`)) {
      if (ledger.poison.some((p) => p.message.id === message.id)) continue;
      const body = JSON.parse(message.data) as TriggerBody;
      const id = `${body.emitter}${body.mode === undefined ? '' : `~${body.mode}`} × ${body.key}`;
      seen.set(id, (seen.get(id) ?? new Set()).add(message.id));
    }
  }
  for (const [id, ids] of seen) {
    // A coordinator × key may complete several batches (a superseded batch's key gets a newer one); barriers fire once.
    if (ids.size > 1 && !pipeline.coordinators.some((c) => id.startsWith(`${c.name} × `))) {
      doubled++;
      violations.push(`${id}: ${ids.size} distinct triggers published (${[...ids].join(', ')})`);
    }
  }
  for (const [id, count] of ledger.fired) {
    if (count > 1) {
      doubled++;
      violations.push(`${id}: decided ${count} times`);
    }
  }

  let triggers = 0;
  const keys = [...new Set(ledger.published.map(({ message }) => subjectOf(message)).filter((k): k is string => k !== undefined))];
  for (const barrier of pipeline.barriers) {
    const generations = [barrier.name, ...(barrier.modes?.profiles.map((p) => `${barrier.name}~${p.name}`) ?? [])];
    for (const key of keys) {
      for (const generation of generations) {
        const state = await store.readKey(generation, key);
        if (state === undefined) continue;
        const where = `${generation} × ${key}`;
        if (state.trigger !== undefined) {
          triggers++;
          if (state.trigger.publishedAt === undefined) {
            lost++;
            violations.push(`${where}: trigger decided but never published`);
          }
          if (!(seen.get(where)?.has(state.trigger.message.id) ?? false))
            violations.push(`${where}: trigger ${state.trigger.message.id} never reached its topic`);
        }
        violations.push(...checkDecision(where, state, now));
      }
      // Every completion that reached this barrier's subscription, from one of its members, was recorded.
      const members = new Set(barrier.members.map((m) => m.name));
      const configs = subscriptions.filter((s) => s.role === 'barrier' && s.consumer === barrier.name).map((s) => s.config);
      const records = new Set<string>();
      for (const generation of generations) for (const r of (await store.readKey(generation, key))?.members ?? []) records.add(`${r.member}/${r.executionId}`);
      for (const { topic, message } of ledger.published) {
        if (subjectOf(message) !== key || message.attributes['ce-type'] !== 'dev.baton.completion.v1') continue;
        if (!configs.some((c) => c.topic === topic && matchesFilter(c.filter, message.attributes))) continue;
        const data = JSON.parse(message.data) as { processor_name: string; execution_id: string };
        if (!members.has(data.processor_name) || records.has(`${data.processor_name}/${data.execution_id}`)) continue;
        lost++;
        violations.push(`${barrier.name} × ${key}: accepted completion ${message.id} (${data.processor_name}) was never recorded`);
      }
    }
  }

  for (const coordinator of pipeline.coordinators) {
    const active = await store.listActiveBatches(coordinator.name);
    for (const batch of active) violations.push(`${coordinator.name}: batch ${batch.id} still active`);
  }
  const coordinators = new Set(pipeline.coordinators.map((c) => c.name));
  const batches = [...seen.entries()].filter(([id]) => coordinators.has(id.split(' × ')[0] ?? '')).reduce((n, [, ids]) => n + ids.size, 0);

  const deadLetters = await bus.deadLetters();
  for (const { topic, message } of ledger.poison) {
    const letters = deadLetters.filter((d) => d.topic === topic && d.message.id === message.id);
    if (letters.length === 0) violations.push(`poison ${message.id} on ${topic} was not dead-lettered`);
    for (const letter of letters) if (letter.reason.trim() === '') violations.push(`poison ${message.id} was dead-lettered without a reason`);
  }
  const poisonIds = new Set(ledger.poison.map((p) => p.message.id));
  for (const letter of deadLetters) {
    if (!poisonIds.has(letter.message.id)) violations.push(`${letter.subscription}: ${letter.message.id} dead-lettered: ${letter.reason}`);
  }

  for (const { config } of subscriptions) {
    const backlog = await bus.backlog(config.name);
    if (backlog > 0) violations.push(`${config.name}: ${backlog} messages still in flight`);
  }
  for (const trigger of await store.listUnpublished()) violations.push(`${trigger.emitter} × ${trigger.scope}: decided, not published`);

  return { violations, triggers, batches, deadLettered: deadLetters.length, lost, doubled };
}

/** The key's trigger against the reference model, or, with none, that the model lets nothing fire by now. */
function checkDecision(where: string, state: KeyState, now: number): string[] {
  const { snapshot } = state;
  const model: ModelKey = { expected: snapshot.expected, threshold: snapshot.threshold, deadlines: snapshot.deadlines };
  const counts = new Set<string>(snapshot.countsAsComplete);
  const counted = new Set(state.members.filter((m) => counts.has(m.status) && snapshot.expected.includes(m.member)).map((m) => m.member));
  if (state.trigger === undefined) {
    const must = modelDecision(model, counted, now - snapshot.firstCompletionAt);
    return must === undefined ? [] : [`${where}: no trigger, but the model fires ${must.reason} with ${must.members.join(', ')}`];
  }
  const body = JSON.parse(state.trigger.message.data) as TriggerBody;
  const joined = new Set(body.members_completed);
  const problems: string[] = [];
  for (const member of joined) if (!counted.has(member)) problems.push(`${where}: trigger joins ${member}, which has no counting completion`);
  const expected = modelDecision(model, joined, state.trigger.decidedAt - snapshot.firstCompletionAt);
  const got = `${body.reason}${body.deadline_tier ? ` tier ${body.deadline_tier.tier}` : ''} [${body.members_completed.join(', ')}] missing [${body.members_missing.join(', ')}]`;
  const want =
    expected && `${expected.reason}${expected.tier ? ` tier ${expected.tier}` : ''} [${expected.members.join(', ')}] missing [${expected.missing.join(', ')}]`;
  if (got !== want) problems.push(`${where}: trigger is ${got}; the model says ${want ?? 'nothing may fire'}`);
  return problems;
}

function subjectOf(message: OutgoingMessage): string | undefined {
  return message.attributes['ce-subject'];
}

async function drain(bus: MessageBus, subscription: string): Promise<ReceivedMessage[]> {
  const all: ReceivedMessage[] = [];
  for (;;) {
    const batch = await bus.pull(subscription, 500);
    if (batch.length === 0) return all;
    for (const message of batch) await bus.ack(message.ackId);
    all.push(...batch);
  }
}
