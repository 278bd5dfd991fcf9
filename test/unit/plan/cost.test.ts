import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadPipeline } from '../../../engine/config/load-pipeline.ts';
import type { ResolvedPipeline } from '../../../engine/config/resolved-pipeline.ts';
import { estimateCost, readPriceTable, type CostEstimate, type TickSchedule } from '../../../engine/plan/cost.ts';
import { buildDeployModel } from '../../../generators/deploy-model.ts';

const prices = readPriceTable();

function estimate(file: string): CostEstimate {
  const loaded = loadPipeline(file);
  const model = buildDeployModel(loaded);
  const ticks: TickSchedule[] = [
    ...model.barriers.map((b) => ({ component: b.name, schedule: b.tick.schedule })),
    ...model.coordinators.map((c) => ({ component: c.name, schedule: c.tick.schedule })),
  ];
  return estimateCost(loaded.pipeline as ResolvedPipeline, ticks, prices);
}

const line = (e: CostEstimate, product: string, sku: string) => {
  const found = e.lines.find((l) => l.product === product && l.sku === sku);
  if (found === undefined) throw new Error(`no ${product} ${sku} line`);
  return found;
};

const minimal = new URL('../../fixtures/valid/minimal.yaml', import.meta.url).pathname;
const nbaBase = new URL('../../fixtures/plan/base.yaml', import.meta.url).pathname;

describe('cost estimate', () => {
  it('prices come from a dated table that names its sources', () => {
    expect(prices.as_of).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    for (const product of [prices.pubsub, prices.cloud_run, prices.cloud_run_functions, prices.firestore, prices.cloud_scheduler])
      expect(product.source).toMatch(/^https:\/\/cloud\.google\.com\//);
  });

  it('counts the small pipeline’s Pub/Sub messages and Firestore reads as a hand calculation does', () => {
    const e = estimate(minimal);
    // A date key runs once a day: 730 h a month / 24 h.
    const keys = 730 / 24;
    expect(e.keysPerMonth).toBeCloseTo(keys, 9);

    // Published per key: 3 ingest completions + 2 stage completions + 3 barrier triggers (ingest-done,
    // stage-done, build_y-dependencies) = 8. Delivered per key: ingest-complete (3) to ingest-done;
    // stage-complete (2) to stage-done and to build_y-dependencies; stage-trigger (2: the phase trigger
    // and build_y's dependency trigger) to build_x and build_y = 3 + 2 + 2 + 2 + 2 = 11.
    // Each billed at the 1000-byte minimum.
    const pubsub = line(e, 'Pub/Sub', 'throughput');
    expect(pubsub.from).toBe('8 publishes + 11 deliveries per key');
    expect(pubsub.quantity).toBeCloseTo(((8 + 11) * 1000 * keys) / 2 ** 30, 12);
    expect(pubsub.listUsd).toBeCloseTo(((19 * 1000 * keys) / 2 ** 40) * 40, 12);

    // Firestore reads. Ticks: 3 barriers every 5 minutes (no tier is 20 minutes or shorter) = 3 × 12 × 730
    // = 26,280 a month, each listing the 30 retained keys and their 30 triggers plus one outbox query:
    // 61 reads. Per key, a barrier with c completions reads 3 per completion plus the members so far
    // (1 + 2 + … + c): ingest-done c=3 → 9 + 6 = 15, stage-done c=2 → 6 + 3 = 9, build_y-dependencies
    // c=1 → 3 + 1 = 4; 28 a key.
    const reads = 26_280 * 61 + 28 * keys;
    const firestore = line(e, 'Firestore', 'reads');
    expect(firestore.quantity).toBeCloseTo(reads, 6);
    expect(firestore.listUsd).toBeCloseTo((reads * 0.03) / 100_000, 9);
    // 50,000 free reads a day: 1,520,833.3 a month; 83,098.3 billed → $0.0249.
    expect(firestore.billedUsd).toBeCloseTo(((reads - 50_000 * keys) * 0.03) / 100_000, 9);
    expect(firestore.billedUsd).toBeCloseTo(0.0249, 4);

    // Three tick jobs at $0.10, all three within the free three.
    const scheduler = line(e, 'Cloud Scheduler', 'jobs');
    expect([scheduler.quantity, scheduler.listUsd, scheduler.billedUsd]).toEqual([3, 0.30000000000000004, 0]);
  });

  it('prices an added raw processor as its simulated run plus the barrier deliveries it adds', () => {
    const base = estimate(nbaBase);
    const dir = mkdtempSync(join(tmpdir(), 'baton-cost-'));
    const edited = join(dir, 'pipeline.yaml');
    writeFileSync(edited, readFileSync(nbaBase, 'utf8').replace('      - bdl_player_boxscores\n', '      - nbac_box_score_v3\n      - bdl_player_boxscores\n'));
    const head = estimate(edited);
    rmSync(dir, { recursive: true });
    const keys = 730 / 24;
    // The processor: latency 30–300 s (simulate.defaults), so 165 s a key on one vCPU.
    const processor = 165 * keys;
    // Its completion, 5% duplicated, is delivered to phase2-to-phase3 (a 512 MB function: 0.333 vCPU)
    // for 200 ms each.
    const barrier = 1.05 * keys * 0.2 * 0.333;
    const vcpu = line(head, 'Cloud Run', 'vCPU-seconds').quantity - line(base, 'Cloud Run', 'vCPU-seconds').quantity;
    expect(vcpu).toBeCloseTo(processor + barrier, 6);
    expect(vcpu).toBeCloseTo(5020.877, 3);
    expect(line(head, 'Cloud Run', 'vCPU-seconds').listUsd - line(base, 'Cloud Run', 'vCPU-seconds').listUsd).toBeCloseTo(5020.877 * 0.000024, 6);
  });
});
