import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openSqliteDatabase, type SqliteDatabase } from '../../../engine/adapters/sqlite/open-sqlite-database.ts';
import { SqliteMessageBus } from '../../../engine/adapters/sqlite/sqlite-message-bus.ts';
import { SqliteStateStore } from '../../../engine/adapters/sqlite/sqlite-state-store.ts';
import type { KeySnapshot, MemberRecord, TriggerRule } from '../../../engine/ports/state-store.ts';
import { CompletionBarrier } from '../../../engine/runtime/completion-barrier.ts';
import type { TriggerData } from '../../../engine/runtime/envelope.ts';
import { FakeClock } from '../../../engine/runtime/fake-clock.ts';
import { barrierOf, completion, pipelineOf, subscriptionOf, thresholdOf, TRIGGER_TOPIC, Watcher } from '../../contract/fixtures.ts';

// The barrier tables as every version before issue 11 created them: no tally beside the snapshot.
const BEFORE = `
CREATE TABLE barrier_keys (barrier TEXT NOT NULL, key TEXT NOT NULL, snapshot TEXT NOT NULL, PRIMARY KEY (barrier, key));
CREATE TABLE barrier_members (
  barrier TEXT NOT NULL, key TEXT NOT NULL, member TEXT NOT NULL, execution_id TEXT NOT NULL, record TEXT NOT NULL,
  PRIMARY KEY (barrier, key, member, execution_id)
);
CREATE TABLE triggers (
  emitter TEXT NOT NULL, scope TEXT NOT NULL, topic TEXT NOT NULL, message TEXT NOT NULL, reason TEXT NOT NULL,
  decided_at INTEGER NOT NULL, published_at INTEGER,
  PRIMARY KEY (emitter, scope)
);
`;

const clock = new FakeClock('2025-11-29T12:00:00Z');
const members = ['a', 'b', 'c'];
// Fires on 2 of 3 counted, b required.
const config = barrierOf(members, { threshold: thresholdOf('count', { count: 2, required: ['b'] }) });

function oldSnapshot(key: string): KeySnapshot {
  return {
    barrier: 'gate',
    key,
    expected: members,
    mode: undefined,
    threshold: { kind: 'count', required: ['b'], count: 2, quorum: undefined },
    deadlines: [],
    countsAsComplete: ['success', 'partial'],
    firstCompletionAt: clock.now(),
    correlationId: `run-${key}`,
    traceparent: undefined,
  };
}

function oldRecord(member: string, status: MemberRecord['status'], key: string): MemberRecord {
  return {
    member,
    executionId: 'e1',
    messageId: `c:${member}:${key}:e1`,
    status,
    recordedAt: clock.now(),
    entitiesChanged: { players: [member] },
    incremental: true,
  };
}

/** Writes keys the way the previous version did: snapshot and member rows only. */
function writeOldState(db: SqliteDatabase): void {
  db.exec(BEFORE);
  for (const key of ['2025-11-27', '2025-11-28']) {
    db.prepare('INSERT INTO barrier_keys VALUES (?, ?, ?)').run('gate', key, JSON.stringify(oldSnapshot(key)));
    // a counted, c failed; b (required) missing.
    for (const record of [oldRecord('a', 'success', key), oldRecord('c', 'failed', key), oldRecord('a', 'success', key)]) {
      db.prepare('INSERT OR IGNORE INTO barrier_members VALUES (?, ?, ?, ?, ?)').run('gate', key, record.member, record.executionId, JSON.stringify(record));
    }
  }
  // 2025-11-27 already fired (by a deadline, say) and was published.
  const message = { id: 'trigger:gate:2025-11-27', attributes: {}, data: '{}' };
  db.prepare('INSERT INTO triggers VALUES (?, ?, ?, ?, ?, ?, ?)').run('gate', '2025-11-27', TRIGGER_TOPIC, JSON.stringify(message), 'deadline', 1, 2);
}

const columnsOf = (db: SqliteDatabase, table: string): string[] => (db.prepare(`PRAGMA table_info(${table})`).all() as { name: string }[]).map((c) => c.name);

describe('SqliteStateStore on a database an earlier release wrote (issue 11)', () => {
  let dir = '';
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'baton-tally-upgrade-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it.each([
    ['before keys kept a tally', 0],
    ['with the tally columns the previous release kept (stale here: they say nothing counted)', 1],
  ])('decides each stored key from its records (%s), so an open key fires on its next completion and a fired one stays fired', async (_written, tallies) => {
    const db = openSqliteDatabase(join(dir, 'baton.db'));
    writeOldState(db);
    if (tallies === 1)
      db.exec(
        'ALTER TABLE barrier_keys ADD COLUMN counted INTEGER NOT NULL DEFAULT 0; ALTER TABLE barrier_keys ADD COLUMN required_counted INTEGER NOT NULL DEFAULT 0;',
      );
    const store = new SqliteStateStore(db, clock);
    // No tally is kept in the file: a release that reads one finds none and counts from the records.
    expect(columnsOf(db, 'barrier_keys')).toEqual(['barrier', 'key', 'snapshot']);
    // A second open (the next process) changes nothing.
    const reopened = new SqliteStateStore(db, clock);

    const bus = new SqliteMessageBus(db, clock);
    await bus.subscribe(subscriptionOf('watch', TRIGGER_TOPIC));
    const barrier = new CompletionBarrier({ barrier: config, pipeline: pipelineOf(members), store: reopened, bus, clock });
    // c failing again does not tip it; b does, only if a's completion recorded before the upgrade was counted.
    expect((await barrier.handle(completion({ member: 'c', key: '2025-11-28', execution: 'e2', status: 'failed' }))).fired).toBeUndefined();
    expect((await barrier.handle(completion({ member: 'b', key: '2025-11-28' }))).fired?.reason).toBe('count');
    expect((await barrier.handle(completion({ member: 'b', key: '2025-11-27' }))).fired).toBeUndefined();

    const watcher = new Watcher(bus, 'watch');
    await watcher.drain();
    const data = watcher.unique().map((e) => e.data as TriggerData);
    expect(data.map((d) => [d.key, d.members_completed, d.lineage])).toEqual([['2025-11-28', ['a', 'b'], ['c:a:2025-11-28:e1', 'c:b:2025-11-28:e1']]]);
    expect((await store.readKey('gate', '2025-11-27'))?.trigger?.reason).toBe('deadline');
    db.close();
  });
});

describe('SqliteStateStore with two connections to one file (issue 11: tallies counted per connection)', () => {
  let dir = '';
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'baton-two-connections-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("counts the other connection's records, its trigger and its publish in the next decision, so a key fires once whoever records last", async () => {
    const all = ['a', 'b', 'c', 'd'];
    const gate = barrierOf(all);
    const first = openSqliteDatabase(join(dir, 'baton.db'));
    const second = openSqliteDatabase(join(dir, 'baton.db'));
    const busOf = (db: SqliteDatabase) => new SqliteMessageBus(db, clock);
    const barrierOn = (db: SqliteDatabase) =>
      new CompletionBarrier({ barrier: gate, pipeline: pipelineOf(all), store: new SqliteStateStore(db, clock), bus: busOf(db), clock });
    const [one, two] = [barrierOn(first), barrierOn(second)];
    const key = '2025-11-28';
    // The first connection knows a and b; the second records c; the first's d must see c (4 of 4).
    expect((await one.handle(completion({ member: 'a', key }))).fired).toBeUndefined();
    expect((await one.handle(completion({ member: 'b', key }))).fired).toBeUndefined();
    expect((await two.handle(completion({ member: 'c', key }))).fired).toBeUndefined();
    expect((await one.handle(completion({ member: 'd', key }))).fired?.reason).toBe('all_complete');
    // The second connection learns of the trigger (and that it was published): a redelivery there fires nothing and publishes nothing.
    const again = await two.handle(completion({ member: 'c', key }));
    expect(again).toMatchObject({ outcome: 'duplicate', fired: undefined, published: undefined });
    expect((await new SqliteStateStore(second, clock).readKey('gate', key))?.trigger?.publishedAt).toBeDefined();
    first.close();
    second.close();
  });

  it("keeps nothing of a completion made inside a caller's transaction that then rolled back: its redelivery decides again", async () => {
    const db = openSqliteDatabase(join(dir, 'baton.db'));
    const store = new SqliteStateStore(db, clock);
    const snapshot: KeySnapshot = {
      ...oldSnapshot('2025-11-28'),
      expected: ['a'],
      threshold: { kind: 'all', required: [], count: undefined, quorum: undefined },
    };
    const record = oldRecord('a', 'success', '2025-11-28');
    const rule: TriggerRule = {
      fires: (tally) => tally.counted === 1,
      draft: () => ({ topic: TRIGGER_TOPIC, message: { id: 't', attributes: {}, data: '{}' }, reason: 'all_complete', decidedAt: 1 }),
    };
    const rolledBack = db.transaction(() => {
      void store.recordCompletion(snapshot, record, rule);
      void store.decideTrigger('gate', '2025-11-28', rule);
      throw new Error('the caller gives up');
    });
    expect(() => rolledBack()).toThrow('the caller gives up');
    expect(await store.readKey('gate', '2025-11-28')).toBeUndefined();
    const again = await store.recordCompletion(snapshot, record, rule);
    expect(again).toMatchObject({ recorded: true, decision: { created: true } });
    db.close();
  });
});
