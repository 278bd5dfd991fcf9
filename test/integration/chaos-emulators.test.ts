import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runChaos } from '../chaos/run-chaos.ts';
import { EMULATORS_AVAILABLE, freshProjectId, useEmulators } from './emulator-harness.ts';

const root = join(import.meta.dirname, '../..');

// A bounded chaos run on the Pub/Sub and Firestore emulators: duplicates, reordering, publish and store
// faults, a silent member, poison, and two sessions killed at a port call and resumed (a dead session's
// deliveries come back when their 10 s Pub/Sub lease ends).
describe.skipIf(!EMULATORS_AVAILABLE)('chaos on the Pub/Sub and Firestore emulators', () => {
  const emulators = useEmulators();

  it('holds every invariant of retail-close for two keys under duplicates, faults, a silent member, poison and kills', async () => {
    const { pubsubHost, firestoreHost } = emulators();
    const { figures, violations } = await runChaos({
      pipelineFile: join(root, 'test/fixtures/valid/retail-close.yaml'),
      keys: ['2025-11-01', '2025-11-02'],
      seed: 21,
      dbFile: '',
      gcp: { projectId: freshProjectId('chaos'), pubsubHost, firestoreHost },
      kills: 2,
      silentRate: 0.5,
      entities: { stores: 5 },
    });
    expect(violations).toEqual([]);
    expect(figures.kills).toBe(2);
    expect(figures.publishFaults + figures.storeFaults).toBeGreaterThan(0);
    expect(figures.triggers).toBe(2 * 2);
    expect(figures.batches).toBe(2);
    expect({ lost: figures.lost, doubled: figures.doubled }).toEqual({ lost: 0, doubled: 0 });
  }, 120_000);
});
