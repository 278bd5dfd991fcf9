import { describe } from 'vitest';
import { openGcpBackend } from '../../engine/adapters/gcp/index.ts';
import type { Clock } from '../../engine/ports/clock.ts';
import type { Backend } from '../contract/backend.ts';
import { runContractSuites } from '../contract/contract-suites.ts';
import { clearProject, EMULATORS_AVAILABLE, freshProjectId, useEmulators } from './emulator-harness.ts';

const emulators = useEmulators();

/** Pub/Sub + Firestore on the emulators, one fresh project per backend so tests never share state. */
function gcpBackend(clock: Clock): Backend {
  const projectId = freshProjectId('contract');
  const { pubsubHost, firestoreHost } = emulators();
  const open = (): Backend => {
    const gcp = openGcpBackend({ projectId, pubsubEmulatorHost: pubsubHost, firestoreEmulatorHost: firestoreHost, clock });
    return {
      bus: gcp.bus,
      store: gcp.store,
      durable: true,
      restart: () => {
        void gcp.close();
        return open();
      },
      dispose: async () => {
        await gcp.close();
        await clearProject(emulators(), projectId);
      },
      // The emulator applies the subscription's retry backoff (1–8 s in the fixtures) in real time.
      wait: (ms) => new Promise((resolve) => setTimeout(resolve, Math.min(ms, 2_500))),
    };
  };
  return open();
}

describe.skipIf(!EMULATORS_AVAILABLE)('gcp backend on the Pub/Sub and Firestore emulators', () => {
  runContractSuites('gcp emulators', gcpBackend, { brokerTimers: true, testTimeoutMs: 60_000 });
});
