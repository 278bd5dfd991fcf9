import { describe, expect, it } from 'vitest';
import { openSqliteDatabase, type SqliteDatabase } from '../../../engine/adapters/sqlite/open-sqlite-database.ts';
import { SqliteMessageBus } from '../../../engine/adapters/sqlite/sqlite-message-bus.ts';
import { SqliteStateStore } from '../../../engine/adapters/sqlite/sqlite-state-store.ts';
import { RETENTION_MS } from '../../../engine/config/conventions.ts';
import type { KeySnapshot } from '../../../engine/ports/state-store.ts';
import { FakeClock } from '../../../engine/runtime/fake-clock.ts';

// Issue 16 #7: SQLite kept every key, published message and dead letter forever. The sweep (run when
// the database opens, bounded per call) deletes what is older than the retention, a key with all its
// rows, and never a key younger than the retention.

const DAY = 24 * 60 * 60 * 1000;

function snapshot(key: string, firstCompletionAt: number): KeySnapshot {
  return {
    barrier: 'b',
    key,
    expected: ['m1', 'm2'],
    mode: undefined,
    threshold: { kind: 'all', required: [], count: undefined, quorum: undefined },
    deadlines: [],
    countsAsComplete: ['success'],
    firstCompletionAt,
    correlationId: `c-${key}`,
    traceparent: undefined,
  };
}

async function addKey(store: SqliteStateStore, key: string, at: number): Promise<void> {
  await store.openKey(snapshot(key, at));
  const member = {
    executionId: `e-${key}`,
    messageId: `m-${key}`,
    status: 'success',
    recordedAt: at,
    entitiesChanged: undefined,
    incremental: undefined,
  } as const;
  await store.recordMember('b', key, { ...member, member: 'm1' });
  await store.decideTrigger('b', key, {
    fires: () => true,
    draft: () => ({ topic: 't', message: { id: `trigger:b:${key}`, attributes: {}, data: '{}' }, reason: 'threshold', decidedAt: at }),
  });
}

function count(db: SqliteDatabase, table: string): number {
  return (db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
}

describe('SQLite retention sweep (issue 16 #7)', () => {
  it('deletes a key older than the retention with all its rows, keeps a younger one, and stops at the limit', async () => {
    const db = openSqliteDatabase(':memory:');
    const clock = new FakeClock('2026-01-01T00:00:00Z');
    const start = clock.now();
    const store = new SqliteStateStore(db, clock);
    for (const key of ['2026-01-01', '2026-01-02', '2026-01-03']) await addKey(store, key, start);
    clock.advance(20 * DAY);
    await addKey(store, '2026-01-21', clock.now());
    expect(count(db, 'barrier_keys')).toBe(4);
    expect(count(db, 'triggers')).toBe(4);

    clock.advance(RETENTION_MS - 20 * DAY); // exactly the retention after the first three: not yet older
    expect(store.sweepExpired()).toEqual({ keys: 0, batches: 0 });

    clock.advance(1);
    expect(store.sweepExpired(2)).toEqual({ keys: 2, batches: 0 });
    expect(store.sweepExpired(2)).toEqual({ keys: 1, batches: 0 });
    expect(await store.readKey('b', '2026-01-01')).toBeUndefined();
    expect(await store.readKey('b', '2026-01-21')).toMatchObject({ members: [{ member: 'm1' }], trigger: { scope: '2026-01-21' } });
    expect([count(db, 'barrier_keys'), count(db, 'barrier_members'), count(db, 'triggers')]).toEqual([1, 1, 1]);

    // Opening the database runs the sweep: 20 days later the last key has expired too.
    clock.advance(20 * DAY);
    new SqliteStateStore(db, clock);
    expect([count(db, 'barrier_keys'), count(db, 'barrier_members'), count(db, 'triggers')]).toEqual([0, 0, 0]);
  });

  it('deletes settled bus messages older than the retention when the database opens, never a pending delivery', async () => {
    const db = openSqliteDatabase(':memory:');
    const clock = new FakeClock('2026-01-01T00:00:00Z');
    const bus = new SqliteMessageBus(db, clock);
    const config = { name: 's', topic: 't', ackDeadlineMs: 10_000, maxDeliveryAttempts: 5, minBackoffMs: 10, maxBackoffMs: 100 };
    await bus.subscribe(config);
    await bus.publish('t', { id: 'acked', attributes: {}, data: '{}' });
    await bus.publish('t', { id: 'pending', attributes: {}, data: '{}' });
    const [first] = await bus.pull('s', 1);
    if (first === undefined) throw new Error('nothing pulled');
    await bus.ack(first.ackId);
    expect(count(db, 'bus_messages')).toBe(2);

    clock.advance(RETENTION_MS + 1);
    new SqliteMessageBus(db, clock);
    expect((db.prepare('SELECT id FROM bus_messages').all() as { id: string }[]).map((r) => r.id)).toEqual([first.id === 'acked' ? 'pending' : 'acked']);
    expect(bus.sweepExpired()).toEqual({ messages: 0, deadLetters: 0 });
  });
});
