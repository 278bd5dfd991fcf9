import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runChaos } from '../../chaos/run-chaos.ts';

const root = join(import.meta.dirname, '../../..');
const dir = mkdtempSync(join(tmpdir(), 'baton-chaos-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const keys = (n: number): string[] => Array.from({ length: n }, (_, i) => new Date(Date.UTC(2025, 10, 1) + i * 86_400_000).toISOString().slice(0, 10));

// A bounded `npm run chaos`: a few seeds, few keys, on SQLite. Each run checks itself against the reference model.
describe('chaos on SQLite (bounded npm run chaos)', () => {
  it.each([11, 12])('retail-close holds every invariant under duplicates, faults, silent members, poison and kills (seed %i)', async (seed) => {
    const { figures, violations } = await runChaos({
      pipelineFile: join(root, 'test/fixtures/valid/retail-close.yaml'),
      keys: keys(4),
      seed,
      dbFile: join(dir, `retail-${seed}.db`),
      kills: 2,
      // One session in a child process, SIGKILLed wherever it is when the parent reacts (or let finish, if first).
      processKills: seed === 11 ? 1 : 0,
      silentRate: 0.5,
      entities: { stores: 10 },
    });
    expect(violations).toEqual([]);
    expect(figures.kills).toBe(2);
    expect(figures.publishFaults + figures.storeFaults).toBeGreaterThan(0);
    expect(figures.duplicateDeliveries).toBeGreaterThan(0);
    expect(figures.triggers).toBe(2 * 4);
    expect(figures.batches).toBe(4);
    expect({ lost: figures.lost, doubled: figures.doubled }).toEqual({ lost: 0, doubled: 0 });
  });

  it('the NBA graph holds every invariant under the same chaos', async () => {
    const { figures, violations } = await runChaos({
      pipelineFile: join(root, 'pipeline.yaml'),
      keys: keys(2),
      seed: 13,
      dbFile: join(dir, 'nba.db'),
      kills: 2,
      entities: { players: 40 },
    });
    expect(violations).toEqual([]);
    expect(figures.kills).toBe(2);
    expect(figures.poison).toBeGreaterThan(0);
    expect({ lost: figures.lost, doubled: figures.doubled }).toEqual({ lost: 0, doubled: 0 });
  });
});
