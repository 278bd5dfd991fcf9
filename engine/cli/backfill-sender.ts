// Data flow: keys → (skip finished) → rate-limited sends (topic publishes or entry POSTs) → journal → poll state until finished → summary.
import { setTimeout as delay } from 'node:timers/promises';
import type { ResolvedPipeline } from '../config/resolved-pipeline.ts';
import { backfillCompletion, entryRequest, isBackfillFinished, isBackfillObservable, type BackfillIds, type BackfillStart } from '../runtime/backfill-start.ts';
import { inspectKey } from '../runtime/inspect-key.ts';
import { BackfillJournal, type BackfillArgs } from './backfill-journal.ts';
import { formatDuration } from './format-time.ts';
import type { OutgoingMessage } from '../ports/message-bus.ts';
import type { KeyView } from '../runtime/inspect-key.ts';
import type { StoredRun } from './stored-run.ts';

/** What a backfill needs of a deployment. */
export interface BackfillDeployment {
  publish(topic: string, message: OutgoingMessage): Promise<void>;
  inspect(key: string): Promise<KeyView>;
}

/** A stored run (gcp: the deployed project) as a backfill uses it. */
export function deploymentOf(pipeline: ResolvedPipeline, run: StoredRun): BackfillDeployment {
  return {
    publish: async (topic, message) => {
      await run.backend.bus.publish(topic, message);
    },
    inspect: (key) => inspectKey(pipeline, run.runtime, key),
  };
}

/** Everything one backfill needs. */
export interface BackfillPlan {
  readonly pipeline: ResolvedPipeline;
  readonly pipelineHash: string | undefined;
  readonly keys: readonly string[];
  readonly start: BackfillStart;
  /** The phases it runs (for when a key is finished). */
  readonly phases: readonly string[];
  readonly entryUrls: ReadonlyMap<string, string>;
  /** The deployment as the backfill uses it: publish on a topic, and read a key's state. */
  readonly deployment: BackfillDeployment;
  /** How often keys in flight are checked (default 500 ms). */
  readonly pollMs?: number;
  readonly args: BackfillArgs;
  readonly journalFile: string;
  readonly ratePerSecond: number;
  readonly maxInFlight: number;
  readonly dryRun: boolean;
  readonly waitTimeoutMs: number;
  readonly out: NodeJS.WriteStream;
  readonly json: boolean;
}

/** How a backfill went. */
export interface BackfillSummary {
  readonly keys: number;
  /** Keys whose messages this process sent. */
  readonly sent: readonly string[];
  /** Keys left alone because they had finished already. */
  readonly skipped: readonly string[];
  readonly finished: readonly string[];
  /** Keys that did not finish (or could not be sent) before the wait timeout. */
  readonly unfinished: readonly string[];
  readonly messages: number;
  readonly resumed: boolean;
  readonly journal: string;
  readonly wallMs: number;
}

/** One message of a key: a publish on a topic or an entry POST. */
interface Send {
  readonly to: string;
  readonly id: string;
  readonly send: () => Promise<void>;
}

/** Sends the backfill (or, dry, prints what it would send) and waits for its keys to finish. */
export async function sendBackfill(plan: BackfillPlan): Promise<BackfillSummary> {
  const { pipeline, deployment, out } = plan;
  const startedAt = Date.now();
  // No barrier or batch covers the phases run (a last phase without one): a key counts as finished once sent, and none is skipped.
  const observable = isBackfillObservable(pipeline, plan.phases);
  const finished = async (key: string): Promise<boolean> => observable && isBackfillFinished(pipeline, await deployment.inspect(key), plan.phases);
  if (plan.dryRun) return dryRun(plan, finished, startedAt);

  const journal = new BackfillJournal(plan.journalFile, plan.args);
  const ids: BackfillIds = { execution: journal.execution };
  const tty = out.isTTY === true && !plan.json;
  const say = (line: string): void => {
    if (!plan.json) out.write(tty ? `\r\x1b[2K${line}\n` : `${line}\n`);
  };
  const sent: string[] = [];
  const failedToSend: string[] = [];
  let messages = 0;
  let nextSendAt = Date.now();
  const inFlight = new Set([...journal.sent].filter((k) => plan.keys.includes(k) && !journal.done.has(k)));
  const queue = plan.keys.filter((k) => !journal.sent.has(k) && !journal.done.has(k) && !journal.skipped.has(k));
  if (journal.resumed)
    say(`resuming ${plan.journalFile}: ${journal.done.size + journal.skipped.size} done, ${inFlight.size} sent and not finished, ${queue.length} to send`);
  const progress = (): void => {
    if (!tty) return;
    const done = plan.keys.filter((k) => journal.done.has(k) || journal.skipped.has(k)).length;
    const width = 24;
    const filled = Math.round((width * done) / Math.max(1, plan.keys.length));
    out.write(
      `\r\x1b[2K[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${done}/${plan.keys.length} finished, ${inFlight.size} in flight, ${messages} sent`,
    );
  };
  let lastFinishAt = Date.now();
  for (;;) {
    for (const key of [...inFlight]) {
      if (!(await finished(key))) continue;
      inFlight.delete(key);
      journal.record('done', key);
      lastFinishAt = Date.now();
      say(`finished ${key}`);
    }
    while (inFlight.size < plan.maxInFlight && queue.length > 0) {
      const key = queue.shift() ?? '';
      if (!plan.args.force && (await finished(key))) {
        journal.record('skipped', key);
        say(`skipped ${key}: finished already (--force sends it anyway)`);
        continue;
      }
      try {
        for (const message of messagesOf(plan, key, ids)) {
          // Rate limit: one message every 1/rate seconds, measured from the last one.
          const wait = nextSendAt - Date.now();
          if (wait > 0) await delay(wait);
          nextSendAt = Math.max(Date.now(), nextSendAt) + 1000 / plan.ratePerSecond;
          await message.send();
          messages++;
        }
      } catch (error) {
        failedToSend.push(key);
        say(`could not send ${key}: ${error instanceof Error ? error.message : String(error)}`);
        continue;
      }
      journal.record('sent', key);
      sent.push(key);
      if (observable) inFlight.add(key);
      else journal.record('done', key);
      lastFinishAt = Math.max(lastFinishAt, Date.now());
      say(`sent ${key}: ${messagesOf(plan, key, ids).length} message(s) to ${describeTarget(plan.start)}`);
    }
    progress();
    if (inFlight.size === 0 && queue.length === 0) break;
    if (Date.now() - lastFinishAt > plan.waitTimeoutMs) break;
    await delay(plan.pollMs ?? 500);
  }
  const finishedKeys = plan.keys.filter((k) => journal.done.has(k));
  const skipped = plan.keys.filter((k) => journal.skipped.has(k));
  const unfinished = plan.keys.filter((k) => !journal.done.has(k) && !journal.skipped.has(k));
  const summary: BackfillSummary = {
    keys: plan.keys.length,
    sent,
    skipped,
    finished: finishedKeys,
    unfinished,
    messages,
    resumed: journal.resumed,
    journal: plan.journalFile,
    wallMs: Date.now() - startedAt,
  };
  if (plan.json) out.write(`${JSON.stringify(summary, null, 2)}\n`);
  else {
    if (tty) out.write('\r\x1b[2K');
    const stuck = unfinished.length === 0 ? '' : `; not finished: ${unfinished.slice(0, 5).join(', ')}${unfinished.length > 5 ? ', …' : ''}`;
    out.write(
      `backfill ${plan.args.from}..${plan.args.to} from phase ${plan.start.phase}: ${plan.keys.length} key(s), ${finishedKeys.length} finished, ${skipped.length} skipped (finished already), ${unfinished.length} not finished${stuck}; ${messages} message(s) sent in ${formatDuration(summary.wallMs)}; journal ${plan.journalFile}\n`,
    );
  }
  return summary;
}

/** Where a start sends its messages, for the log. */
function describeTarget(start: BackfillStart): string {
  return start.kind === 'entry' ? `the entry processors of ${start.phase}` : `${start.topic} (completions of ${start.upstream})`;
}

/** The messages that start `key`: an entry POST per entry processor, or a completion per upstream processor. */
function messagesOf(plan: BackfillPlan, key: string, ids: BackfillIds): Send[] {
  const { start } = plan;
  if (start.kind === 'entry') {
    return start.processors.map((processor) => {
      const url = plan.entryUrls.get(processor.name) ?? '';
      const body = entryRequest(ids, key);
      return {
        to: `POST ${url}`,
        id: body.id,
        send: async () => {
          const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
          await response.arrayBuffer();
          if (!response.ok) throw new Error(`${processor.name} at ${url} answered HTTP ${response.status}`);
        },
      };
    });
  }
  return start.processors.map((processor) => {
    const message = backfillCompletion(plan.pipeline, processor, key, ids, Date.now(), plan.pipelineHash);
    return {
      to: start.topic,
      id: message.id,
      send: async () => {
        await plan.deployment.publish(start.topic, message);
      },
    };
  });
}

async function dryRun(plan: BackfillPlan, finished: (key: string) => Promise<boolean>, startedAt: number): Promise<BackfillSummary> {
  const ids: BackfillIds = { execution: plan.args.force ? 'backfill-<new>' : 'backfill' };
  const rows: { key: string; skip: boolean; messages: { to: string; id: string }[] }[] = [];
  for (const key of plan.keys) {
    const skip = !plan.args.force && (await finished(key));
    rows.push({ key, skip, messages: skip ? [] : messagesOf(plan, key, ids).map(({ to, id }) => ({ to, id })) });
  }
  if (plan.json) plan.out.write(`${JSON.stringify({ dryRun: true, phase: plan.start.phase, keys: rows }, null, 2)}\n`);
  else {
    for (const row of rows) {
      if (row.skip) plan.out.write(`${row.key}: skip, finished already\n`);
      else for (const m of row.messages) plan.out.write(`${row.key}: ${m.to} ${m.id}\n`);
    }
    const count = rows.reduce((n, r) => n + r.messages.length, 0);
    plan.out.write(
      `dry run: would send ${count} message(s) for ${rows.filter((r) => !r.skip).length} of ${rows.length} key(s) at ${plan.ratePerSecond}/s; nothing sent\n`,
    );
  }
  const skipped = rows.filter((r) => r.skip).map((r) => r.key);
  return {
    keys: rows.length,
    sent: [],
    skipped,
    finished: [],
    unfinished: [],
    messages: 0,
    resumed: false,
    journal: plan.journalFile,
    wallMs: Date.now() - startedAt,
  };
}
