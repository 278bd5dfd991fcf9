import { withPipelineFile } from './pipeline-file.ts';
import { Command, Option } from 'commander';
import { EmulatorCapture } from '../adapters/gcp/emulator-capture.ts';
import { suggestHint } from '../config/suggest.ts';
import type { CheckResult } from '../contract/check-completions.ts';
import { processorContract } from '../contract/processor-contract.ts';
import { runProcessorCheck, type ProcessorCheckReport } from '../contract/run-processor-check.ts';
import { keyOptionError, keyRuleContext } from './parse-keys.ts';
import { EXIT, type CommandContext } from './exit-codes.ts';
import { loadValidPipeline } from './load-valid-pipeline.ts';
import { paletteFor } from './terminal.ts';

interface CheckProcessorOptions {
  url: string;
  pubsubEmulator?: string;
  project?: string;
  file: string;
  key?: string;
  wait: string;
  json: boolean;
}

/** `baton check-processor <name> --url URL`: the processor contract (generated/docs/processors.md) as a test any processor can run in its CI. */
export function checkProcessorCommand(context: CommandContext): Command {
  return withPipelineFile(new Command('check-processor'), { positional: false })
    .description('contract-test a running processor: send it realistic triggers, a redelivery and malformed requests, and check what it answers and publishes')
    .argument('<name>', 'the processor, as named in pipeline.yaml')
    .requiredOption('--url <url>', 'where the processor takes push requests, e.g. http://127.0.0.1:8080/')
    .option('--pubsub-emulator <host:port>', 'the Pub/Sub emulator the processor publishes to (default: $PUBSUB_EMULATOR_HOST)')
    .option('--project <id>', 'the project the processor publishes in (default: pipeline.project)')
    .option('--key <key>', 'the key to send (default: a random past date, so re-runs never repeat a trigger)')
    .addOption(new Option('--wait <seconds>', 'how long to wait for the completion after the trigger is answered').default('10'))
    .option('--json', 'print the report as JSON', false)
    .addHelpText(
      'after',
      `
Creates (if missing) every topic of the pipeline on the emulator and a pull subscription
baton-check--<topic> on each, then POSTs to --url: the processor's trigger as its barrier, coordinator
or upstream phase sends it (an entry request for an entry-phase processor), the same delivery again,
a body that is not JSON and one that is not a trigger. Requests carry no OIDC token.

Each rule of generated/docs/processors.md is one line, ✓ or ✗. Exit codes: 0 every check passed,
1 a violation, 2 usage error (unknown processor, no emulator).`,
    )
    .action(async (name: string, options: CheckProcessorOptions) => {
      const { stdout, stderr } = context;
      const usage = (message: string): void => {
        stderr.write(`baton check-processor: ${message}\n`);
        context.setExitCode(EXIT.usage);
      };
      const loaded = loadValidPipeline(options.file, context, 'nothing was checked');
      if (loaded === undefined) return;
      const { pipeline, hash } = loaded;
      const contract = processorContract(pipeline, name);
      if (contract === undefined) {
        const hint = suggestHint(
          name,
          pipeline.processors.map((p) => p.name),
          'processors',
        );
        return usage(`no processor "${name}" in ${options.file}${hint === undefined ? '' : `; ${hint}`}`);
      }
      const badKey = options.key === undefined ? undefined : keyOptionError('--key', options.key, keyRuleContext(loaded));
      if (badKey !== undefined) return usage(badKey);
      // A made-up key (check-<hex>) would break the pattern, and the processor would rightly refuse it.
      if (options.key === undefined && pipeline.key.type === 'string' && pipeline.key.pattern !== undefined)
        return usage(`pass --key: ${pipeline.key.name} must match key.pattern ${pipeline.key.pattern}, so no key can be made up`);
      const host = options.pubsubEmulator ?? process.env.PUBSUB_EMULATOR_HOST;
      if (host === undefined || host === '') {
        return usage('no Pub/Sub emulator: pass --pubsub-emulator HOST:PORT or set PUBSUB_EMULATOR_HOST (start one with `gcloud beta emulators pubsub start`)');
      }
      const waitSeconds = Number(options.wait);
      if (!Number.isFinite(waitSeconds) || waitSeconds <= 0) return usage(`--wait must be a positive number of seconds, got "${options.wait}"`);
      if (!/^https?:\/\//.test(options.url)) return usage(`--url must be an http(s) URL, got "${options.url}"`);
      const projectId = options.project ?? pipeline.project ?? 'baton-check';
      let report: ProcessorCheckReport;
      try {
        report = await runProcessorCheck({
          pipeline,
          pipelineHash: hash ?? '',
          contract,
          url: options.url,
          projectId,
          capture: new EmulatorCapture(host, projectId),
          waitMs: waitSeconds * 1000,
          ...(options.key === undefined ? {} : { key: options.key }),
        });
      } catch (error) {
        stderr.write(`baton check-processor: ${error instanceof Error ? error.message : String(error)}\n`);
        context.setExitCode(EXIT.invalid);
        return;
      }
      if (options.json) stdout.write(`${JSON.stringify(report, null, 2)}\n`);
      else stdout.write(formatReport(report, contract.publishes, host, projectId, paletteFor(stdout)));
      context.setExitCode(report.ok ? EXIT.ok : EXIT.invalid);
    });
}

/** One line per check, grouped by request, then a count. */
function formatReport(report: ProcessorCheckReport, topic: string, host: string, projectId: string, palette: ReturnType<typeof paletteFor>): string {
  const lines = [
    `check-processor ${report.processor} at ${report.url}`,
    `  sent ${report.sentAs}; listening on ${topic} (emulator ${host}, project ${projectId})`,
  ];
  let request: string | undefined;
  const width = Math.max(...report.results.map((r) => r.check.length));
  for (const result of report.results) {
    if (result.request !== request) {
      request = result.request;
      lines.push(`${request}`);
    }
    lines.push(`  ${mark(result, palette)} ${result.check.padEnd(width)}  ${result.detail}`);
  }
  const failed = report.results.filter((r) => !r.ok).length;
  lines.push(
    failed === 0
      ? `${report.results.length} checks passed: ${report.processor} keeps the processor contract`
      : `${failed} of ${report.results.length} checks failed (see generated/docs/processors.md)`,
  );
  return `${lines.join('\n')}\n`;
}

function mark(result: CheckResult, palette: ReturnType<typeof paletteFor>): string {
  return result.ok ? palette.green('✓') : palette.red('✗');
}
