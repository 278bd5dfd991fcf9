import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { RETENTION_DAYS } from '../config/conventions.ts';
import { packageRoot } from '../config/package-root.ts';
import type { ResolvedPipeline } from '../config/resolved-pipeline.ts';
import { planSubscriptions } from '../graph/subscription-plan.ts';

/** `data/gcp-prices.json`: dated Google Cloud list prices, kept as data. */
export interface PriceTable {
  readonly as_of: string;
  readonly currency: string;
  readonly note: string;
  readonly pubsub: {
    readonly throughput_per_tib: number;
    readonly free_gib_per_month: number;
    readonly min_bytes_per_request: number;
    readonly source: string;
  };
  readonly cloud_run: {
    readonly vcpu_second: number;
    readonly gib_second: number;
    readonly requests_per_million: number;
    readonly free_vcpu_seconds_per_month: number;
    readonly free_gib_seconds_per_month: number;
    readonly free_requests_per_month: number;
    readonly billing_granularity_ms: number;
    readonly source: string;
  };
  readonly cloud_run_functions: { readonly vcpu_by_memory_mb: Readonly<Record<string, number>>; readonly source: string };
  readonly firestore: {
    readonly reads_per_100k: number;
    readonly writes_per_100k: number;
    readonly deletes_per_100k: number;
    readonly free_reads_per_day: number;
    readonly free_writes_per_day: number;
    readonly free_deletes_per_day: number;
    readonly source: string;
  };
  readonly cloud_scheduler: { readonly job_per_month: number; readonly free_jobs: number; readonly source: string };
}

/** The price table shipped with Baton. */
export function readPriceTable(path = join(packageRoot(), 'data', 'gcp-prices.json')): PriceTable {
  return JSON.parse(readFileSync(path, 'utf8')) as PriceTable;
}

/** One billed quantity (a SKU) per month. */
export interface CostLine {
  readonly product: string;
  readonly sku: string;
  readonly quantity: number;
  readonly unit: string;
  /** Cost at list price, before any free tier. */
  readonly listUsd: number;
  /** Cost after the free tier (shared by the whole billing account: an upper bound on the saving). */
  readonly billedUsd: number;
  /** Where the quantity comes from, in words. */
  readonly from: string;
}

/** A monthly cost estimate of one pipeline. */
export interface CostEstimate {
  readonly asOf: string;
  readonly keysPerMonth: number;
  readonly lines: readonly CostLine[];
  readonly listUsd: number;
  readonly billedUsd: number;
}

/** A scheduled tick and its cron schedule, as the deploy model renders it. */
export interface TickSchedule {
  readonly component: string;
  readonly schedule: string;
}

/** Hours in the average month Google bills by. */
export const HOURS_PER_MONTH = 730;
/** Billed time of one barrier, coordinator or tick request (Cloud Run rounds up to 100 ms). */
export const ORCHESTRATION_REQUEST_MS = 200;
/** Cloud Run's default instance size, assumed for processors and the coordinator service. */
const DEFAULT_VCPU = 1;
const DEFAULT_GIB = 0.5;

/** What the estimate assumes, printed with it. */
export function costAssumptions(prices: PriceTable): string[] {
  return [
    `list prices as of ${prices.as_of} (data/gcp-prices.json), ${prices.currency}, Tier 1 regions, no committed-use discounts; free tiers are per billing account`,
    `one run per key; keys per month = ${HOURS_PER_MONTH} h ÷ key.cadence`,
    'messages per key: one completion per processor (one per entity for a coordinator phase, from simulate.entities), one trigger per barrier, one work message per entity and one completion per coordinator; duplicates (simulate duplicate_rate) are extra deliveries',
    `every Pub/Sub message is billed at the ${prices.pubsub.min_bytes_per_request}-byte request minimum, once when published and once per subscription it is delivered to (filtered-out messages included)`,
    'processors run on Cloud Run at 1 vCPU and 512 MiB for the mean of their simulate latency_ms; the coordinator service at the same size',
    `barrier functions and the coordinator bill ${ORCHESTRATION_REQUEST_MS} ms per request at their memory's vCPU (orchestrator.memory_mb); ticks follow the generated scheduler jobs`,
    `Firestore: per completion a barrier reads its snapshot, trigger and the key's member records so far and writes one member record; per key it writes a snapshot, a trigger and its published mark; a coordinator re-reads the batch's reports on every report; a tick lists the keys kept for ${RETENTION_DAYS} days; every document is deleted by TTL (no free quota)`,
    'not estimated: BigQuery, Cloud Logging and Monitoring, Artifact Registry and Cloud Build, storage, egress, minimum instances, retries beyond the simulated duplicates',
  ];
}

/**
 * The monthly Google Cloud cost of a pipeline: volumes from the graph and `simulate:` (messages per
 * key, keys per month), priced with `prices`. An estimate with its assumptions (`costAssumptions`),
 * never a quote.
 */
export function estimateCost(pipeline: ResolvedPipeline, ticks: readonly TickSchedule[], prices: PriceTable): CostEstimate {
  const keysPerMonth = (HOURS_PER_MONTH * 3_600_000) / pipeline.keyCadenceMs;
  const sim = pipeline.simulation;
  const behaviour = (name: string) => sim.processors.get(name) ?? sim.defaults;
  const workerPhases = new Map(pipeline.coordinators.map((c) => [c.phase.name, sim.entities[c.entityType] ?? 0]));
  const runsOf = (processor: string, phase: string): number => workerPhases.get(phase) ?? 1;

  // Per key: messages published to each topic, and deliveries of each to one subscription (duplicates included).
  const published = new Map<string, number>();
  const delivered = new Map<string, number>();
  const add = (topic: string, count: number, duplicateRate: number): void => {
    published.set(topic, (published.get(topic) ?? 0) + count);
    delivered.set(topic, (delivered.get(topic) ?? 0) + count * (1 + duplicateRate));
  };
  let processorSeconds = 0;
  let processorRequests = 0;
  for (const p of pipeline.processors) {
    const runs = runsOf(p.name, p.phase);
    const b = behaviour(p.name);
    add(p.publishes.name, runs, b.duplicateRate);
    processorRequests += runs;
    processorSeconds += (runs * (b.latencyMs[0] + b.latencyMs[1])) / 2 / 1000;
  }
  for (const b of pipeline.barriers) add(b.publishes.name, 1, 0);
  for (const c of pipeline.coordinators) {
    add(c.workTopic.name, sim.entities[c.entityType] ?? 0, 0);
    if (c.publishes) add(c.publishes.name, 1, 0);
  }
  const subscriptions = planSubscriptions(pipeline);
  const publishesPerKey = [...published.values()].reduce((a, b) => a + b, 0);
  const deliveriesPerKey = subscriptions.reduce((sum, s) => sum + (delivered.get(s.topic) ?? 0), 0);
  const deliveredTo = (role: string): number => subscriptions.filter((s) => s.role === role).reduce((sum, s) => sum + (delivered.get(s.topic) ?? 0), 0);

  // Ticks per month from the generated scheduler jobs.
  const ticksPerMonth = (schedule: string): number => {
    const every = /^\*\/(\d+) \* \* \* \*$/.exec(schedule)?.[1];
    const perHour = schedule === '* * * * *' ? 60 : every === undefined ? 12 : 60 / Number(every);
    return perHour * HOURS_PER_MONTH;
  };
  const tickCount = (names: readonly string[]): number => {
    const wanted = new Set(names);
    return ticks.filter((t) => wanted.has(t.component)).reduce((sum, t) => sum + ticksPerMonth(t.schedule), 0);
  };
  const barrierTicks = tickCount(pipeline.barriers.map((b) => b.name));
  const coordinatorTicks = tickCount(pipeline.coordinators.map((c) => c.name));

  // Compute.
  const functionVcpu = prices.cloud_run_functions.vcpu_by_memory_mb[String(pipeline.orchestrator.memoryMb)] ?? pipeline.orchestrator.memoryMb / 1536;
  const functionGib = pipeline.orchestrator.memoryMb / 1024;
  const barrierRequests = deliveredTo('barrier') * keysPerMonth + barrierTicks;
  const coordinatorRequests = (deliveredTo('coordinator') + deliveredTo('coordinator-ready')) * keysPerMonth + coordinatorTicks;
  const requestSeconds = ORCHESTRATION_REQUEST_MS / 1000;
  const vcpu = {
    processors: processorSeconds * keysPerMonth * DEFAULT_VCPU,
    barriers: barrierRequests * requestSeconds * functionVcpu,
    coordinators: coordinatorRequests * requestSeconds * DEFAULT_VCPU,
  };
  const gib = {
    processors: processorSeconds * keysPerMonth * DEFAULT_GIB,
    barriers: barrierRequests * requestSeconds * functionGib,
    coordinators: coordinatorRequests * requestSeconds * DEFAULT_GIB,
  };
  const requests = { processors: processorRequests * keysPerMonth, barriers: barrierRequests, coordinators: coordinatorRequests };

  // Firestore, per key and per tick.
  const retainedKeys = (RETENTION_DAYS * 86_400_000) / pipeline.keyCadenceMs;
  let reads = 0;
  let writes = 0;
  let deletes = 0;
  const processorsByName = new Map(pipeline.processors.map((p) => [p.name, p]));
  for (const b of pipeline.barriers) {
    const completions = b.members.reduce((sum, m) => {
      const p = processorsByName.get(m.name);
      return sum + (p === undefined ? 0 : runsOf(p.name, p.phase) * (1 + behaviour(p.name).duplicateRate));
    }, 0);
    reads += (3 * completions + (completions * (completions + 1)) / 2) * keysPerMonth;
    writes += (completions + 3) * keysPerMonth;
    deletes += (completions + 2) * keysPerMonth;
  }
  reads += barrierTicks * (2 * retainedKeys + 1);
  for (const c of pipeline.coordinators) {
    const reports =
      (sim.entities[c.entityType] ?? 0) * (1 + behaviour(pipeline.phases.find((p) => p.name === c.phase.name)?.processors[0] ?? '').duplicateRate);
    reads += (2 + reports * (reports + 1) + 4 * reports) * keysPerMonth;
    writes += (2 + reports + 3) * keysPerMonth;
    deletes += (3 + reports) * keysPerMonth;
  }
  reads += coordinatorTicks * 2;

  const schedulerJobs = ticks.length;
  const daysPerMonth = HOURS_PER_MONTH / 24;
  const pubsubGib = ((publishesPerKey + deliveriesPerKey) * keysPerMonth * prices.pubsub.min_bytes_per_request) / 2 ** 30;
  const run = prices.cloud_run;
  const fs = prices.firestore;
  const sum = (o: Record<string, number>): number => Object.values(o).reduce((a, b) => a + b, 0);
  const breakdown = (o: Record<string, number>): string =>
    Object.entries(o)
      .filter(([, v]) => v > 0)
      .map(([k, v]) => `${k} ${formatCount(v)}`)
      .join(', ');
  const line = (product: string, sku: string, quantity: number, unit: string, unitPrice: number, free: number, from: string): CostLine => ({
    product,
    sku,
    quantity,
    unit,
    listUsd: quantity * unitPrice,
    billedUsd: Math.max(0, quantity - free) * unitPrice,
    from,
  });
  const lines = [
    line(
      'Pub/Sub',
      'throughput',
      pubsubGib,
      'GiB',
      prices.pubsub.throughput_per_tib / 1024,
      prices.pubsub.free_gib_per_month,
      `${formatCount(publishesPerKey)} publishes + ${formatCount(deliveriesPerKey)} deliveries per key`,
    ),
    line('Cloud Run', 'vCPU-seconds', sum(vcpu), 'vCPU-s', run.vcpu_second, run.free_vcpu_seconds_per_month, breakdown(vcpu)),
    line('Cloud Run', 'GiB-seconds', sum(gib), 'GiB-s', run.gib_second, run.free_gib_seconds_per_month, breakdown(gib)),
    line('Cloud Run', 'requests', sum(requests), 'requests', run.requests_per_million / 1e6, run.free_requests_per_month, breakdown(requests)),
    line('Firestore', 'reads', reads, 'reads', fs.reads_per_100k / 1e5, fs.free_reads_per_day * daysPerMonth, 'barrier and coordinator state, ticks'),
    line(
      'Firestore',
      'writes',
      writes,
      'writes',
      fs.writes_per_100k / 1e5,
      fs.free_writes_per_day * daysPerMonth,
      'member records, snapshots, triggers, batch reports',
    ),
    line('Firestore', 'deletes', deletes, 'deletes', fs.deletes_per_100k / 1e5, 0, 'TTL deletes of every state document'),
    line(
      'Cloud Scheduler',
      'jobs',
      schedulerJobs,
      'jobs',
      prices.cloud_scheduler.job_per_month,
      prices.cloud_scheduler.free_jobs,
      'one tick job per barrier and coordinator',
    ),
  ];
  return {
    asOf: prices.as_of,
    keysPerMonth,
    lines,
    listUsd: lines.reduce((a, l) => a + l.listUsd, 0),
    billedUsd: lines.reduce((a, l) => a + l.billedUsd, 0),
  };
}

/** 1234567.8 → `1,234,568`; below 10, one decimal. */
export function formatCount(n: number): string {
  return n < 10 && !Number.isInteger(n) ? n.toFixed(1) : Math.round(n).toLocaleString('en-US');
}

/** `$1.23`, `-$0.05`, `<$0.01` for tiny positive amounts. */
export function formatUsd(usd: number): string {
  if (usd > 0 && usd < 0.005) return '<$0.01';
  const sign = usd < 0 ? '-' : '';
  return `${sign}$${Math.abs(usd).toFixed(2)}`;
}
