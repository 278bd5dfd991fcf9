import { Command, InvalidArgumentError } from 'commander';
import type { RunningDashboard } from '../dashboard/dashboard-server.ts';
import { backendChoice, backendUsageError, stateLocation, withBackendOptions, type BackendOptions } from './backend-options.ts';
import { commandLine } from './command-line.ts';
import { asStateError } from './embedded-backend.ts';
import { EXIT, type CommandContext } from './exit-codes.ts';
import { loadValidPipeline } from './load-valid-pipeline.ts';
import { withPipelineFile } from './pipeline-file.ts';
import { LiveStoredRun } from './live-stored-run.ts';
import type { StoredRun } from './stored-run.ts';

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
phase, and the dead letters, each with a redrive button (on the embedded backend refused while a run
holds --state-dir). It updates live (server-sent events; the state is re-read every second), also
while a \`baton run\` holds --state-dir: reading never writes to it.
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
      const live = new LiveStoredRun(loaded.pipeline, choice, loaded.hash);
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
          redrive: (id) => live.redrive(id, commandLine('dashboard', options)),
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
