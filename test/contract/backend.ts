import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryMessageBus } from '../../engine/adapters/memory/memory-message-bus.ts';
import { MemoryStateStore } from '../../engine/adapters/memory/memory-state-store.ts';
import { openSqliteDatabase } from '../../engine/adapters/sqlite/open-sqlite-database.ts';
import { SqliteMessageBus } from '../../engine/adapters/sqlite/sqlite-message-bus.ts';
import { SqliteStateStore } from '../../engine/adapters/sqlite/sqlite-state-store.ts';
import type { Clock } from '../../engine/ports/clock.ts';
import type { MessageBus } from '../../engine/ports/message-bus.ts';
import type { StateStore } from '../../engine/ports/state-store.ts';

/** One backend under contract: a bus and a store sharing a clock. */
export interface Backend {
  readonly bus: MessageBus;
  readonly store: StateStore;
  /** Whether `restart` really drops in-process state (true for durable backends). */
  readonly durable: boolean;
  /** A process restart: fresh adapters over the same durable state; the old ones must not be used again. */
  restart(): Backend;
  /** Releases everything (files included). */
  dispose(): void;
}

/** Creates a fresh, empty backend. */
export type BackendFactory = (clock: Clock) => Backend;

/** The memory backend: a restart keeps the same objects, since nothing outlives the process anyway. */
export function memoryBackend(clock: Clock): Backend {
  const backend: Backend = {
    bus: new MemoryMessageBus(clock),
    store: new MemoryStateStore(),
    durable: false,
    restart: () => backend,
    dispose: () => undefined,
  };
  return backend;
}

/** The embedded SQLite backend in a temporary folder; a restart closes and reopens the database file. */
export function sqliteBackend(clock: Clock): Backend {
  const dir = mkdtempSync(join(tmpdir(), 'baton-contract-'));
  const open = (): Backend => {
    const db = openSqliteDatabase(join(dir, 'baton.db'));
    return {
      bus: new SqliteMessageBus(db, clock),
      store: new SqliteStateStore(db),
      durable: true,
      restart: () => {
        db.close();
        return open();
      },
      dispose: () => {
        if (db.open) db.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  };
  return open();
}
