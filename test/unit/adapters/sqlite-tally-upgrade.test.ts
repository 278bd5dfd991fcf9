import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openSqliteDatabase, type SqliteDatabase } from '../../../engine/adapters/sqlite/open-sqlite-database.ts';
import { SqliteMessageBus } from '../../../engine/adapters/sqlite/sqlite-message-bus.ts';
import { SqliteStateStore } from '../../../engine/adapters/sqlite/sqlite-state-store.ts';
import type { KeySnapshot, MemberRecord } from '../../../engine/ports/state-store.ts';
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

describe('SqliteStateStore on a database written before keys kept a tally (issue 11)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'baton-tally-upgrade-'));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('counts each stored key from its records once, so an open key fires on its next completion and a fired one stays fired', async () => {
    const db = openSqliteDatabase(join(dir, 'baton.db'));
    writeOldState(db);
    const store = new SqliteStateStore(db, clock);
    // A second open (the next process) finds the tally there and counts nothing twice.
    const reopened = new SqliteStateStore(db, clock);
    expect(db.prepare('SELECT key, counted, required_counted FROM barrier_keys ORDER BY key').all()).toEqual([
      { key: '2025-11-27', counted: 1, required_counted: 0 },
      { key: '2025-11-28', counted: 1, required_counted: 0 },
    ]);

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
