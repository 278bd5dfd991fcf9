import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openSqliteDatabase } from '../../../engine/adapters/sqlite/open-sqlite-database.ts';
import { SqliteStateStore } from '../../../engine/adapters/sqlite/sqlite-state-store.ts';

// The tables as they were before reports were keyed by entity × execution and batches by trigger time.
const BEFORE = `
CREATE TABLE batches (id TEXT PRIMARY KEY, coordinator TEXT NOT NULL, key TEXT NOT NULL, state TEXT NOT NULL, record TEXT NOT NULL, last_progress_at INTEGER NOT NULL);
CREATE UNIQUE INDEX batches_one_active ON batches (coordinator, key) WHERE state = 'active';
CREATE TABLE batch_items (batch_id TEXT NOT NULL, entity_id TEXT NOT NULL, item TEXT NOT NULL, PRIMARY KEY (batch_id, entity_id));
`;

const oldBatch = {
  id: 'b1',
  coordinator: 'coord',
  key: '2025-11-29',
  correlationId: 'c',
  traceparent: undefined,
  triggerMessageId: 't-b1',
  entityType: 'players',
  entities: [1, 2],
  incremental: true,
  createdAt: 100,
  state: 'active',
};

describe('SqliteStateStore on a database written before issue 16 #5 and #8', () => {
  const dir = mkdtempSync(join(tmpdir(), 'baton-upgrade-'));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps an active batch and its reports, reads them in the new shape, and takes a retry of a failed entity', async () => {
    const db = openSqliteDatabase(join(dir, 'baton.db'));
    db.exec(BEFORE);
    db.prepare('INSERT INTO batches VALUES (?, ?, ?, ?, ?, ?)').run('b1', 'coord', '2025-11-29', 'active', JSON.stringify(oldBatch), 500);
    const item = { entityId: 1, status: 'failed', messageId: 'r1', recordedAt: 500 };
    db.prepare('INSERT INTO batch_items VALUES (?, ?, ?)').run('b1', '1', JSON.stringify(item));

    const store = new SqliteStateStore(db);
    const state = await store.readBatch('b1');
    expect(state?.batch).toMatchObject({ id: 'b1', state: 'active', triggeredAt: 100 });
    expect(state?.items).toEqual([{ ...item, executionId: 'r1' }]);
    expect(await store.recordBatchItem('b1', { entityId: 1, executionId: 'e2', status: 'success', messageId: 'r2', recordedAt: 600 })).toBe(true);
    expect(db.prepare("SELECT name FROM sqlite_master WHERE name = 'batch_items'").all()).toEqual([]);
    // A second open (the next process) finds nothing left to move.
    expect((await new SqliteStateStore(db).readBatch('b1'))?.items).toHaveLength(2);
    db.close();
  });
});
