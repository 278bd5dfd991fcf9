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
  /** Releases everything (files included); may be async for backends with remote state. */
  dispose(): void | Promise<void>;
  /**
   * Real time to let pass after the test clock moved `ms`, for a broker that keeps its own timers
   * (Pub/Sub's retry backoff). Absent for backends whose timers all follow the injected clock.
   */
  wait?(ms: number): Promise<void>;
}

/** What a backend can promise about delivery timing, known before any test runs. */
export interface BackendTraits {
  /**
   * True when leases, redelivery backoff and delivery order are owned by a real broker in real time
   * (Pub/Sub): tests that steer them with the fake clock, or rely on cross-pull order, cannot run.
   */
  readonly brokerTimers?: boolean;
  /** Per-test timeout for a backend whose every call is a network round trip (default: vitest's). */
  readonly testTimeoutMs?: number;
}

/** Creates a fresh, empty backend. */
export type BackendFactory = (clock: Clock) => Backend;

/** The memory backend: a restart keeps the same objects, since nothing outlives the process anyway. */
export function memoryBackend(clock: Clock): Backend {
  const backend: Backend = {
    bus: new MemoryMessageBus(clock),
    store: new MemoryStateStore(clock),
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
      store: new SqliteStateStore(db, clock),
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
