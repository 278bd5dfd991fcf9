// Data flow: gcloud SDK jars → java processes on free 127.0.0.1 ports → readiness probe → hosts for the clients → stop().
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../free-port.ts';

/** Running emulators, as `openGcpBackend` and the tests need them. */
export interface RunningEmulators {
  /** `127.0.0.1:<port>` of the Pub/Sub emulator. */
  readonly pubsubHost: string;
  /** `127.0.0.1:<port>` of the Firestore emulator. */
  readonly firestoreHost: string;
  /** Project id the emulators were warmed with; any other id works too. */
  readonly projectId: string;
  /** Stops the two java processes this call started (and only those). */
  stop(): Promise<void>;
}

/** Where the emulator jars are, or why they are not usable here. */
export type EmulatorJars =
  { readonly found: true; readonly pubsubJar: string; readonly firestoreJar: string } | { readonly found: false; readonly reason: string };

/** Finds the jars shipped with the Google Cloud CLI (`platform/pubsub-emulator`, `platform/cloud-firestore-emulator`). */
export function findEmulatorJars(sdkRoot: string | undefined = process.env.CLOUDSDK_ROOT_DIR): EmulatorJars {
  const root = sdkRoot ?? gcloudSdkRoot();
  if (root === undefined) return { found: false, reason: 'gcloud is not installed (no CLOUDSDK_ROOT_DIR and `gcloud info` failed)' };
  const pubsubLib = join(root, 'platform', 'pubsub-emulator', 'lib');
  const pubsubJar = existsSync(pubsubLib) ? readdirSync(pubsubLib).find((f) => /^cloud-pubsub-emulator-.*\.jar$/.test(f)) : undefined;
  const firestoreJar = join(root, 'platform', 'cloud-firestore-emulator', 'cloud-firestore-emulator.jar');
  if (pubsubJar === undefined) return { found: false, reason: `no Pub/Sub emulator jar under ${pubsubLib}` };
  if (!existsSync(firestoreJar)) return { found: false, reason: `no Firestore emulator jar at ${firestoreJar}` };
  if (!hasJava()) return { found: false, reason: 'java is not on PATH' };
  return { found: true, pubsubJar: join(pubsubLib, pubsubJar), firestoreJar };
}

/**
 * Starts the Pub/Sub and Firestore emulators with `java` directly (gcloud's wrappers add seconds and
 * leave children behind), each on a free 127.0.0.1 port, waits until both answer, warms them with one
 * round trip each, and sets `PUBSUB_EMULATOR_HOST`, `FIRESTORE_EMULATOR_HOST` and
 * `METADATA_SERVER_DETECTION=none` in this process so every client finds them.
 */
export async function startEmulators(options: { projectId?: string; timeoutMs?: number } = {}): Promise<RunningEmulators> {
  const jars = findEmulatorJars();
  if (!jars.found) throw new Error(`cannot start the emulators: ${jars.reason}`);
  const projectId = options.projectId ?? 'baton-local';
  const timeoutMs = options.timeoutMs ?? 60_000;
  const [pubsubPort, firestorePort] = [await freePort(), await freePort()];
  const children: ChildProcess[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(children.map(stopChild));
  };
  try {
    children.push(launch('pubsub', ['-jar', jars.pubsubJar, '--host=127.0.0.1', `--port=${pubsubPort}`]));
    children.push(
      launch('firestore', [
        '-Duser.language=en',
        '-cp',
        jars.firestoreJar,
        'com.google.cloud.datastore.emulator.firestore.CloudFirestore',
        'start',
        '--host=127.0.0.1',
        `--port=${firestorePort}`,
      ]),
    );
    const pubsubHost = `127.0.0.1:${pubsubPort}`;
    const firestoreHost = `127.0.0.1:${firestorePort}`;
    const deadline = Date.now() + timeoutMs;
    await Promise.all([
      waitFor(`http://${pubsubHost}/v1/projects/${projectId}/topics`, 'GET', deadline, children[0]),
      waitFor(`http://${firestoreHost}/`, 'GET', deadline, children[1]),
    ]);
    // Warm-up: the first real request of each emulator pays for class loading; do it here, not in a test.
    await fetch(`http://${pubsubHost}/v1/projects/${projectId}/topics/baton-warmup`, { method: 'PUT' });
    await clearFirestore(firestoreHost, projectId);
    process.env.PUBSUB_EMULATOR_HOST = pubsubHost;
    process.env.FIRESTORE_EMULATOR_HOST = firestoreHost;
    process.env.METADATA_SERVER_DETECTION = 'none';
    return { pubsubHost, firestoreHost, projectId, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Deletes every document of a project in the Firestore emulator (its own reset endpoint). */
export async function clearFirestore(firestoreHost: string, projectId: string): Promise<void> {
  const response = await fetch(`http://${firestoreHost}/emulator/v1/projects/${projectId}/databases/(default)/documents`, { method: 'DELETE' });
  if (!response.ok) throw new Error(`clearing the Firestore emulator failed: HTTP ${response.status}`);
}

function launch(name: string, args: string[]): ChildProcess {
  // The emulator's log goes to a file, not a pipe: a pipe is drained only while this process's event
  // loop runs, and a caller blocked in spawnSync (e.g. running gcloud) would let it fill and freeze Java.
  const log = join(tmpdir(), `baton-${name}-emulator-${process.pid}-${Date.now()}.log`);
  const fd = openSync(log, 'w');
  // Its own process group, so stop() can signal the java process and anything it forked, and nothing else.
  const child = spawn('java', args, { detached: true, stdio: ['ignore', 'ignore', fd] });
  closeSync(fd);
  child.once('exit', (code) => {
    if (code !== null && code !== 0 && code !== 143) {
      const tail = readFileSync(log, 'utf8').slice(-2_000);
      process.stderr.write(`[baton] ${name} emulator exited with ${code}: ${tail}\n`);
    }
    rmSync(log, { force: true });
  });
  return child;
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  signalGroup(child.pid, 'SIGTERM');
  const timer = setTimeout(() => signalGroup(child.pid ?? 0, 'SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
}

async function waitFor(url: string, method: string, deadline: number, child: ChildProcess | undefined): Promise<void> {
  for (;;) {
    if (child?.exitCode !== null && child?.exitCode !== undefined) throw new Error(`emulator for ${url} exited with ${child.exitCode}`);
    try {
      const response = await fetch(url, { method, signal: AbortSignal.timeout(2_000) });
      if (response.ok) return;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) throw new Error(`emulator at ${url} did not answer in time`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

function gcloudSdkRoot(): string | undefined {
  try {
    const out = execFileSync('gcloud', ['info', '--format=value(installation.sdk_root)'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    return out === '' ? undefined : out;
  } catch {
    return undefined;
  }
}

function hasJava(): boolean {
  try {
    execFileSync('java', ['-version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
