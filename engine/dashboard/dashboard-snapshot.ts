import type { ResolvedPipeline } from '../config/resolved-pipeline.ts';
import { planSubscriptions } from '../graph/subscription-plan.ts';
import type { DeadLetterQueue, DeadLetterRecord } from '../ports/dead-letter-queue.ts';
import type { MessageHistory } from '../ports/message-history.ts';
import { ENVELOPE_TYPES, type CompletionData } from '../runtime/envelope.ts';
import { inspectKey } from '../runtime/inspect-key.ts';
import type { PipelineRuntime } from '../runtime/pipeline-runtime.ts';
import { componentStates, phaseTables, type ComponentState, type PhaseTable, type ProcessorReport } from './component-states.ts';

/**
 * state store + bus + run journal → snapshot → the page. What the dashboard shows at one instant:
 * the keys, the chosen key's component states and phase tables, and the dead letters. The server
 * sends a new snapshot whenever this value changes.
 */
export interface DashboardSnapshot {
  readonly pipeline: string;
  /** The run's id, when a `baton run` journal is there. */
  readonly runId: string | undefined;
  /** The run's clock (simulated on the embedded backend), epoch ms. */
  readonly now: number;
  readonly keys: readonly string[];
  /** The key shown; undefined when the state knows no key yet. */
  readonly key: string | undefined;
  readonly components: Readonly<Record<string, ComponentState>>;
  readonly phases: readonly PhaseTable[];
  readonly deadLetters: readonly DeadLetterRow[];
}

/** One dead letter as the page lists it. */
export interface DeadLetterRow {
  /** The dead letter's id in its backend: what a redrive names. */
  readonly id: string;
  readonly subscription: string;
  readonly topic: string;
  readonly key: string | undefined;
  readonly type: string | undefined;
  readonly reason: string;
  readonly deliveryAttempts: number;
  readonly at: number;
  /** What its redrive did, once it was redriven. */
  readonly redriven: string | undefined;
}

/** What a snapshot is read from: one opened stored run, re-read each time. */
export interface SnapshotSource {
  readonly runtime: PipelineRuntime;
  readonly deadLetters: Pick<DeadLetterQueue, 'list'>;
  /** What the backend published, where it keeps it (embedded): processors outside every barrier get a state too. */
  readonly history?: MessageHistory;
  /** The run's id and clock as the run journal holds them now, and every key the state knows (the run's first). */
  readRun(): Promise<{ runId: string | undefined; keys: readonly string[]; now: number }>;
}

/** Reads a snapshot for `key` (or the first known key when undefined or unknown). */
export async function readDashboardSnapshot(pipeline: ResolvedPipeline, source: SnapshotSource, key: string | undefined): Promise<DashboardSnapshot> {
  const run = await source.readRun();
  const keys = run.keys;
  const chosen = key !== undefined && keys.includes(key) ? key : keys[0];
  const deadLetters = (await source.deadLetters.list()).map(deadLetterRow);
  const empty = { pipeline: pipeline.name, runId: run.runId, now: run.now, keys, deadLetters, components: {}, phases: [] };
  if (chosen === undefined) return { ...empty, key: undefined };
  const view = await inspectKey(pipeline, source.runtime, chosen);
  const reported = source.history === undefined ? new Map<string, ProcessorReport>() : await reportsOf(source.history, chosen);
  return {
    ...empty,
    key: chosen,
    components: componentStates(pipeline, view, run.now, { deadLettersByTopic: deadLettersByTopic(pipeline, deadLetters, chosen), reported }),
    phases: phaseTables(pipeline, view, run.now, reported),
  };
}

/** Each processor's latest phase-level completion for the key (a worker's per-entity reports are the coordinator's). */
async function reportsOf(history: MessageHistory, key: string): Promise<Map<string, ProcessorReport>> {
  const reports = new Map<string, ProcessorReport>();
  for (const message of await history.messagesOf(key)) {
    if (message.attributes['ce-type'] !== ENVELOPE_TYPES.completion) continue;
    let data: Partial<CompletionData>;
    try {
      data = JSON.parse(message.data) as Partial<CompletionData>;
    } catch {
      continue; // a malformed message is the dead-letter list's business
    }
    if (data.key !== key || data.processor_name === undefined || data.entity_id !== undefined) continue;
    reports.set(data.processor_name, data.status === 'failed' ? 'failed' : 'done');
  }
  return reports;
}

/** A dead letter as a row: the key is the envelope's subject (or its data's key). */
export function deadLetterRow(letter: DeadLetterRecord): DeadLetterRow {
  return {
    id: letter.id,
    subscription: letter.subscription,
    topic: letter.topic,
    key: letter.message.attributes['ce-subject'] ?? keyOf(letter.message.data),
    type: letter.message.attributes['ce-type'],
    reason: letter.reason,
    deliveryAttempts: letter.deliveryAttempts,
    at: letter.lastAttemptAt,
    redriven: letter.redrive?.result,
  };
}

function keyOf(data: string): string | undefined {
  try {
    const key = (JSON.parse(data) as { key?: unknown }).key;
    return typeof key === 'string' ? key : undefined;
  } catch {
    return undefined; // not JSON: the reason says why it died
  }
}

/** The key's dead letters per dead-letter topic (what the diagram's dead-letter nodes show). */
function deadLettersByTopic(pipeline: ResolvedPipeline, letters: readonly DeadLetterRow[], key: string): Map<string, number> {
  const topicOf = new Map(planSubscriptions(pipeline).map((p) => [p.name, p.deadLetterTopic]));
  const counts = new Map<string, number>();
  for (const letter of letters) {
    const topic = topicOf.get(letter.subscription);
    if (letter.key === key && topic !== undefined) counts.set(topic, (counts.get(topic) ?? 0) + 1);
  }
  return counts;
}
