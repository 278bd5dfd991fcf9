import { afterAll, beforeAll } from 'vitest';
import { clearFirestore, findEmulatorJars, startEmulators, type RunningEmulators } from '../../engine/adapters/gcp/emulators.ts';

const jars = findEmulatorJars();

/** Whether the Pub/Sub and Firestore emulator jars (and java) are on this machine. */
export const EMULATORS_AVAILABLE = jars.found;

if (!jars.found) {
  // One loud line, so a skipped gcp suite is never mistaken for a passing one.
  console.warn(`\n!!! [baton] SKIPPING the gcp emulator integration suite: ${jars.reason} !!!\n`);
}

/**
 * Starts both emulators once for the calling test file (beforeAll) and stops exactly those processes
 * (afterAll). Returns a getter, valid inside tests and hooks.
 */
export function useEmulators(): () => RunningEmulators {
  let running: RunningEmulators | undefined;
  beforeAll(async () => {
    if (EMULATORS_AVAILABLE) running = await startEmulators({ projectId: 'baton-it' });
  }, 90_000);
  afterAll(async () => {
    await running?.stop();
  });
  return () => {
    if (running === undefined) throw new Error('emulators are not running');
    return running;
  };
}

let projects = 0;

/** A fresh project id: each one is an empty Pub/Sub and Firestore namespace in the emulators. */
export function freshProjectId(label: string): string {
  projects += 1;
  return `${label}-${process.pid}-${projects}`.slice(0, 30);
}

/** Empties a project's Firestore through the emulator's reset endpoint. */
export function clearProject(emulators: RunningEmulators, projectId: string): Promise<void> {
  return clearFirestore(emulators.firestoreHost, projectId);
}
