// Data flow: pre-built completions → CompletionBarrier → SqliteStateStore + SqliteMessageBus (file, WAL) | raw INSERT-per-transaction loop, same process.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { openSqliteDatabase } from '../engine/adapters/sqlite/open-sqlite-database.ts';
import { SqliteMessageBus } from '../engine/adapters/sqlite/sqlite-message-bus.ts';
import { SqliteStateStore } from '../engine/adapters/sqlite/sqlite-state-store.ts';
import { loadPipeline } from '../engine/config/load-pipeline.ts';
import { CompletionBarrier } from '../engine/runtime/completion-barrier.ts';
import { SystemClock } from '../engine/runtime/system-clock.ts';
import { completionMessage } from './firestore-fan-in.ts';
import { FAN_IN_BARRIER, fanInPipelineYaml, processorNames } from './synthetic-pipeline.ts';

/** One side-by-side measurement at one size. */
export interface EmbeddedRatio {
  readonly members: number;
  readonly keys: number;
  readonly completions: number;
  /** Median over the repetitions. */
  readonly batonPerSecond: number;
  readonly rawPerSecond: number;
  /** Median of each repetition's Baton ÷ raw: the two run back to back, so a slow patch of a shared machine slows both. */
  readonly ratio: number;
  /** Each repetition's Baton ÷ raw. */
  readonly ratios: readonly number[];
  /** Triggers Baton fired: one per key when correct. */
  readonly triggers: number;
}

const median = (values: readonly number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN;

/**
 * Completions per second through Baton's barrier on the embedded backend (a fresh file database in WAL
 * mode, opened as `baton run` opens it) against raw SQLite commits per second on a file opened the same
 * way (one INSERT per transaction), the two interleaved `repetitions` times in this process; the ratio is
 * the median of the repetitions' ratios (each pair measured back to back). About
 * `completions` completions, `members` per key over as many keys as that takes.
 */
export async function measureEmbeddedRatio(members: number, completions: number, repetitions: number): Promise<EmbeddedRatio> {
  const dir = mkdtempSync(join(tmpdir(), 'baton-bench-embedded-'));
  try {
    writeFileSync(join(dir, 'pipeline.yaml'), fanInPipelineYaml(members));
    const { pipeline, diagnostics } = loadPipeline(join(dir, 'pipeline.yaml'));
    const barrier = pipeline?.barriers.find((b) => b.name === FAN_IN_BARRIER);
    if (pipeline === undefined || barrier === undefined)
      throw new Error(`bench: the synthetic ${members}-member pipeline did not load: ${JSON.stringify(diagnostics)}`);
    const keys = Math.max(1, Math.round(completions / members));
    const names = processorNames(members, 'm');
    const keyNames = Array.from({ length: keys }, (_, i) => new Date(Date.UTC(2025, 0, 1) + i * 86_400_000).toISOString().slice(0, 10));
    // Built before the clock starts: building an envelope checks it against the schema, a processor's cost, not the barrier's.
    const messages = keyNames.flatMap((key) => names.map((member) => completionMessage(member, `exec-${member}`, key)));
    const baton: number[] = [];
    const raw: number[] = [];
    let triggers = 0;
    for (let rep = 0; rep < repetitions; rep++) {
      raw.push(rawCommitsPerSecond(join(dir, `raw-${rep}.db`), messages.length));
      const clock = new SystemClock();
      const db = openSqliteDatabase(join(dir, `baton-${rep}.db`));
      try {
        const store = new SqliteStateStore(db, clock);
        const bus = new SqliteMessageBus(db, clock);
        const gate = new CompletionBarrier({ barrier, pipeline, store, bus, clock });
        triggers = 0;
        const started = performance.now();
        for (const message of messages) if ((await gate.handle(message)).fired !== undefined) triggers++;
        baton.push(messages.length / ((performance.now() - started) / 1000));
      } finally {
        db.close();
      }
    }
    const ratios = baton.map((b, i) => b / (raw[i] ?? Number.NaN));
    return { members, keys, completions: messages.length, batonPerSecond: median(baton), rawPerSecond: median(raw), ratio: median(ratios), ratios, triggers };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The floor: `count` INSERTs, each its own transaction, on a fresh file opened as Baton opens its database. */
function rawCommitsPerSecond(file: string, count: number): number {
  const db = openSqliteDatabase(file);
  try {
    db.exec('CREATE TABLE completions (key TEXT NOT NULL, member TEXT NOT NULL, record TEXT NOT NULL, PRIMARY KEY (key, member))');
    const insert = db.prepare('INSERT INTO completions (key, member, record) VALUES (?, ?, ?)');
    const record = JSON.stringify({ status: 'success', recordedAt: Date.now() });
    const started = performance.now();
    for (let i = 0; i < count; i++) insert.run(`k${Math.floor(i / 100)}`, `m${i}`, record);
    return count / ((performance.now() - started) / 1000);
  } finally {
    db.close();
  }
}
