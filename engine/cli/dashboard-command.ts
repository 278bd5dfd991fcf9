import { statSync } from 'node:fs';
import { Command, InvalidArgumentError } from 'commander';
import type { ResolvedPipeline } from '../config/resolved-pipeline.ts';
import type { SnapshotSource } from '../dashboard/dashboard-snapshot.ts';
import type { RunningDashboard } from '../dashboard/dashboard-server.ts';
import { VirtualClock } from '../simulator/virtual-clock.ts';
import { backendChoice, backendUsageError, stateLocation, withBackendOptions, type BackendOptions } from './backend-options.ts';
import { commandLine } from './command-line.ts';
import { asStateError, databaseFile } from './embedded-backend.ts';
import { EXIT, type CommandContext } from './exit-codes.ts';
import { loadValidPipeline } from './load-valid-pipeline.ts';
import { withPipelineFile } from './pipeline-file.ts';
import type { BackendChoice } from './run-backend.ts';
import { openStoredRun, type RunRecord, type StoredRun } from './stored-run.ts';

/** The port `baton dashboard` listens on when none is given. */
export const DEFAULT_DASHBOARD_PORT = 4646;

/** `baton dashboard [--port N]`: the live dashboard of a stored run, on 127.0.0.1, until Ctrl-C. */
export function dashboardCommand(context: CommandContext): Command {
  const command = withPipelineFile(new Command('dashboard'), { positional: true })
    .description('serve a live dashboard of the stored run on 127.0.0.1: the diagram coloured by state for a key, per-phase tables, dead letters')
    .option('--port <n>', 'the port on 127.0.0.1 (0 picks a free one)', parsePort, DEFAULT_DASHBOARD_PORT);
  return withBackendOptions(command)
    .addHelpText(
      'after',
      `
Listens on 127.0.0.1 only and prints the URL; Ctrl-C (or SIGTERM) stops it. The page shows the
pipeline diagram with each barrier, coordinator, processor and dead-letter topic coloured by its state
for the chosen key (waiting, partial n of N, fired, done, failed, stuck, dead letters), a table per
phase, and the dead letters. It updates live (server-sent events; the state is re-read every second),
also while a \`baton run\` holds --state-dir, which the dashboard reads without writing.
Exit codes: 0 stopped by a signal, 1 no state or invalid pipeline, 2 usage error (bad port, port in use),
74 the state database cannot be used.`,
    )
    .action(async (_file: string, options: BackendOptions & { file: string; port: number }) => {
      const { stdout, stderr } = context;
      const badBackend = backendUsageError(options);
      if (badBackend !== undefined) {
        stderr.write(`baton dashboard: ${badBackend}\n`);
        context.setExitCode(EXIT.usage);
        return;
      }
      const loaded = loadValidPipeline(options.file, context);
      if (loaded === undefined) return;
      const choice = backendChoice(options);
      const live = new LiveStoredRun(loaded.pipeline, choice);
      let run: StoredRun | undefined;
      try {
        run = await live.current();
      } catch (error) {
        throw asStateError(error, options);
      }
      if (run === undefined) {
        stderr.write(`baton dashboard: ${stateLocation(options)} holds no state; start one with: ${commandLine('run', options)}\n`);
        context.setExitCode(EXIT.invalid);
        return;
      }
      // Loaded only here: the diagram generators and wasm Graphviz are not needed by other commands.
      const [{ buildDiagramModel }, { generateDot }, { renderSvg }, { startDashboardServer }, { readDashboardSnapshot }] = await Promise.all([
        import('../../generators/diagram-model.ts'),
        import('../../generators/dot.ts'),
        import('../../generators/render-svg.ts'),
        import('../dashboard/dashboard-server.ts'),
        import('../dashboard/dashboard-snapshot.ts'),
      ]);
      const svg = await renderSvg(generateDot(buildDiagramModel(loaded)));
      let server: RunningDashboard;
      try {
        server = await startDashboardServer({
          svg,
          port: options.port,
          read: async (key) => readDashboardSnapshot(loaded.pipeline, await live.source(), key),
        });
      } catch (error) {
        await live.close();
        if ((error as { code?: string }).code !== 'EADDRINUSE') throw error;
        stderr.write(`baton dashboard: port ${options.port} on 127.0.0.1 is in use; pick another with --port (0 picks a free one)\n`);
        context.setExitCode(EXIT.usage);
        return;
      }
      stdout.write(`baton dashboard: ${loaded.pipeline.name} on ${run.backend.where}\n${server.url}\n`);
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      await server.close();
      await live.close();
      context.setExitCode(EXIT.ok);
    });
}

function parsePort(value: string): number {
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65_535) throw new InvalidArgumentError(`"${value}" is not a port (0 to 65535)`);
  return port;
}

/**
 * The stored run the dashboard reads, kept current while a run writes it: each read takes the run's
 * record and clock from the journal again, and on the embedded backend a database that a
 * `baton run --fresh` replaced (a new file under the same name) is opened again.
 */
class LiveStoredRun {
  private run: StoredRun | undefined;
  private file: string | undefined;

  constructor(
    private readonly pipeline: ResolvedPipeline,
    private readonly choice: BackendChoice,
  ) {}

  async current(): Promise<StoredRun | undefined> {
    const identity = this.fileIdentity();
    if (this.run !== undefined && identity === this.file) return this.run;
    await this.close();
    this.file = identity;
    this.run = await openStoredRun(this.pipeline, this.choice);
    return this.run;
  }

  async source(): Promise<SnapshotSource> {
    const run = await this.current();
    if (run === undefined) throw new Error(`${this.choice.stateDir}/ holds no state any more`);
    return {
      runtime: run.runtime,
      bus: run.backend.bus,
      // Pub/Sub keeps no history: there the barriers alone say which processors reported.
      ...(this.choice.backend === 'embedded' ? { history: run.backend.bus } : {}),
      readRun: async () => {
        const record = await run.backend.journal.get<RunRecord>('run');
        const now = await run.backend.journal.get<number>('clock');
        if (now !== undefined && run.clock instanceof VirtualClock) run.clock.advanceTo(now);
        return { runId: record?.runId, keys: record?.keys ?? [], now: run.clock.now() };
      },
    };
  }

  async close(): Promise<void> {
    const run = this.run;
    this.run = undefined;
    await run?.backend.close();
  }

  /** The embedded database file's identity (device and inode); undefined on gcp or when absent. */
  private fileIdentity(): string | undefined {
    if (this.choice.backend !== 'embedded') return undefined;
    const stat = statSync(databaseFile(this.choice.stateDir), { throwIfNoEntry: false });
    return stat === undefined ? undefined : `${stat.dev}:${stat.ino}`;
  }
}
