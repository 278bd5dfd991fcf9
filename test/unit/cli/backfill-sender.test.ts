import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sendBackfill, type BackfillDeployment, type BackfillPlan } from '../../../engine/cli/backfill-sender.ts';
import { loadPipeline } from '../../../engine/config/load-pipeline.ts';
import { packageRoot } from '../../../engine/config/package-root.ts';
import type { ResolvedPipeline } from '../../../engine/config/resolved-pipeline.ts';
import { backfillPhases, backfillStart, type BackfillStart } from '../../../engine/runtime/backfill-start.ts';
import type { KeyView } from '../../../engine/runtime/inspect-key.ts';
import { Capture } from '../../helpers/run-cli.ts';

const pipeline = loadPipeline(join(packageRoot(), 'pipeline.yaml')).pipeline as ResolvedPipeline;
const found = backfillStart(pipeline, 'raw');
if (!found.ok) throw new Error(found.error);
const start: BackfillStart = found.start;
const KEYS = ['2025-11-01', '2025-11-02', '2025-11-03', '2025-11-04', '2025-11-05'];

/** A key's view: every phase gate fired and the batch completed when `finished`, nothing otherwise. */
function viewOf(key: string, finished: boolean): KeyView {
  const trigger = finished ? { publishedAt: 1 } : undefined;
  return {
    key,
    correlationId: finished ? 'c' : undefined,
    barriers: pipeline.barriers.map((b) => ({ barrier: b.name, kind: b.kind, status: trigger && { trigger }, generations: [] })),
    batches: pipeline.coordinators.map((c) => ({ coordinator: c.name, batchId: 'b', progress: finished ? { state: { completion: trigger } } : undefined })),
  } as unknown as KeyView;
}

/**
 * A deployment where keys in `done` are finished, and a key finishes on the third look after its
 * message was published; it records every publish and how many keys were in flight at the time.
 */
function fakeDeployment(done: readonly string[]) {
  const finished = new Set(done);
  const looks = new Map<string, number>();
  const published: { topic: string; id: string; inFlight: number }[] = [];
  const deployment: BackfillDeployment = {
    publish: (topic, message) => {
      const key = message.attributes['ce-subject'] ?? '';
      looks.set(key, 0);
      published.push({ topic, id: message.id, inFlight: looks.size - [...looks.keys()].filter((k) => finished.has(k)).length });
      return Promise.resolve();
    },
    inspect: (key) => {
      const seen = looks.get(key);
      if (seen !== undefined) {
        looks.set(key, seen + 1);
        if (seen + 1 >= 3) finished.add(key);
      }
      return Promise.resolve(viewOf(key, finished.has(key)));
    },
  };
  return { deployment, published };
}

function plan(deployment: BackfillDeployment, journalFile: string, out: Capture): BackfillPlan {
  return {
    pipeline,
    pipelineHash: 'h',
    keys: KEYS,
    start,
    phases: backfillPhases(pipeline, start),
    entryUrls: new Map(),
    deployment,
    args: { from: KEYS[0] ?? '', to: KEYS.at(-1) ?? '', phase: 'raw', force: false },
    journalFile,
    ratePerSecond: 1000,
    maxInFlight: 2,
    dryRun: false,
    waitTimeoutMs: 60_000,
    out: out as unknown as NodeJS.WriteStream,
    json: false,
    pollMs: 1,
  };
}

describe('sendBackfill', () => {
  it('skips finished keys, keeps at most --max-in-flight keys unfinished, sends each key once, and a rerun sends nothing more', async () => {
    const journal = join(mkdtempSync(join(tmpdir(), 'baton-sender-')), 'j.jsonl');
    const { deployment, published } = fakeDeployment(['2025-11-02']);
    const out = new Capture();
    const summary = await sendBackfill(plan(deployment, journal, out));

    expect(published.map((p) => p.id)).toEqual(['2025-11-01', '2025-11-03', '2025-11-04', '2025-11-05'].map((key) => `backfill:nba_scrapers:${key}`));
    expect(new Set(published.map((p) => p.topic))).toEqual(new Set(['nba-phase1-scrapers-complete']));
    expect(Math.max(...published.map((p) => p.inFlight))).toBe(2);
    expect(summary).toMatchObject({ keys: 5, skipped: ['2025-11-02'], unfinished: [], messages: 4, resumed: false });
    expect(summary.finished).toEqual(['2025-11-01', '2025-11-03', '2025-11-04', '2025-11-05']);
    expect(out.text).toContain('skipped 2025-11-02: finished already (--force sends it anyway)\n');
    expect(out.text).toContain('sent 2025-11-01: 1 message(s) to nba-phase1-scrapers-complete (completions of scrapers)\n');
    expect(out.text).toContain('backfill 2025-11-01..2025-11-05 from phase raw: 5 key(s), 4 finished, 1 skipped (finished already), 0 not finished;');

    const again = fakeDeployment([]);
    const rerun = await sendBackfill(plan(again.deployment, journal, new Capture()));
    expect(again.published).toEqual([]);
    expect(rerun).toMatchObject({ resumed: true, unfinished: [], messages: 0 });
  });

  it('gives up on keys that do not finish within --wait-timeout, and says which', async () => {
    const journal = join(mkdtempSync(join(tmpdir(), 'baton-sender-')), 'j.jsonl');
    const never: BackfillDeployment = { publish: () => Promise.resolve(), inspect: (key) => Promise.resolve(viewOf(key, false)) };
    const out = new Capture();
    const summary = await sendBackfill({ ...plan(never, journal, out), waitTimeoutMs: 0 });
    expect(summary.unfinished).toEqual(KEYS);
    expect(summary.sent).toEqual(KEYS.slice(0, 2));
    expect(out.text).toContain('0 finished, 0 skipped (finished already), 5 not finished; not finished: 2025-11-01, 2025-11-02');
  });
});
