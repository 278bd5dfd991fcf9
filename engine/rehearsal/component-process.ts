// Data flow: the deployed command line + environment (as the manifests give them) → a child process on 127.0.0.1:<port> → its Cloud Logging JSON lines → onLog; /healthz → ready.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

/** One deployed component run as Google would run it, as a local process. */
export interface ComponentProcessOptions {
  /** For messages: `barrier phase2-to-phase3`, `coordinator prediction-coordinator`. */
  readonly label: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly cwd: string;
  readonly env: Readonly<Record<string, string>>;
  readonly port: number;
  /** Each structured log line the component writes (one JSON object per line). */
  readonly onLog: (entry: Record<string, unknown>) => void;
  /** How long it may take to answer `/healthz` (default 60 s: two cores, several JVMs). */
  readonly readyTimeoutMs?: number;
}

/** A started component. */
export interface ComponentProcess {
  readonly label: string;
  readonly url: string;
  /** Lines it wrote that were not JSON log entries (start-up errors, stack traces). */
  readonly otherOutput: readonly string[];
  /** Ends the process: SIGTERM, then SIGKILL if it has not exited after 5 s. */
  stop(): Promise<void>;
}

/** The component could not start, with what it printed. */
export class ComponentStartError extends Error {
  readonly code = 'rehearsal/component-start';
  readonly retryable = false;
}

/** Starts a component and waits until it answers `GET /healthz` with 200. */
export async function startComponentProcess(options: ComponentProcessOptions): Promise<ComponentProcess> {
  const child = spawn(options.command, options.args, {
    cwd: options.cwd,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...options.env, PORT: String(options.port) },
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group: a container command (npm → sh → node) is stopped as a whole.
    detached: true,
  });
  const otherOutput: string[] = [];
  const keep = (line: string): void => {
    otherOutput.push(line);
    if (otherOutput.length > 200) otherOutput.shift();
  };
  createInterface({ input: child.stdout }).on('line', (line) => {
    const entry = parseLogLine(line);
    if (entry === undefined) keep(line);
    else options.onLog(entry);
  });
  createInterface({ input: child.stderr }).on('line', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${options.port}`;
  try {
    await waitReady(child, url, options.readyTimeoutMs ?? 60_000);
  } catch (error) {
    await stopChild(child, exited);
    const printed = otherOutput.slice(-15).join('\n');
    throw new ComponentStartError(`${options.label} did not start: ${error instanceof Error ? error.message : String(error)}${printed ? `\n${printed}` : ''}`);
  }
  return { label: options.label, url, otherOutput, stop: () => stopChild(child, exited) };
}

function parseLogLine(line: string): Record<string, unknown> | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    const value: unknown = JSON.parse(line);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

async function waitReady(child: ChildProcess, url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`it exited with ${child.exitCode ?? child.signalCode}`);
    try {
      const response = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(5_000) });
      if (response.status === 200) return;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) throw new Error(`no 200 from ${url}/healthz within ${Math.round(timeoutMs / 1000)} s`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function stopChild(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  signalGroup(child, 'SIGTERM');
  const timer = setTimeout(() => signalGroup(child, 'SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
  // What the command left in its group (a shell's child) goes too.
  signalGroup(child, 'SIGKILL');
}

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    if (child.pid !== undefined) process.kill(-child.pid, signal);
  } catch {
    // Already gone.
  }
}
