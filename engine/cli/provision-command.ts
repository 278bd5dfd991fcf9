import { withPipelineFile } from './pipeline-file.ts';
import { Command } from 'commander';
import { loadValidPipeline } from './load-valid-pipeline.ts';
import { EXIT, type CommandContext } from './exit-codes.ts';
import { cloudProblem } from './run-backend.ts';

/** `baton provision`: create the pipeline's topics, dead-letter topics and subscriptions through the Pub/Sub admin API. */
export function provisionCommand(context: CommandContext): Command {
  return withPipelineFile(new Command('provision'), { positional: true })
    .description('create every topic, dead-letter topic and subscription of the pipeline in Pub/Sub (emulator or real project); idempotent')
    .option('--project <id>', 'the project (default: pipeline.project; on the emulator any id works)')
    .addHelpText(
      'after',
      `
Uses the Pub/Sub emulator when PUBSUB_EMULATOR_HOST is set, else Application Default Credentials.
Existing resources are left as they are. IAM, functions, services and schedulers are not created here:
deploy generated/terraform or run generated/gcloud/deploy.sh for those.`,
    )
    .action(async (file: string, options: { project?: string }) => {
      const { stdout, stderr } = context;
      const loaded = loadValidPipeline(file, context);
      if (loaded === undefined) return;
      const projectId = options.project ?? loaded.pipeline.project;
      if (projectId === undefined) {
        stderr.write('baton provision: pass --project (pipeline.project is not set)\n');
        context.setExitCode(EXIT.usage);
        return;
      }
      const target = process.env.PUBSUB_EMULATOR_HOST ? `the Pub/Sub emulator at ${process.env.PUBSUB_EMULATOR_HOST}` : `project ${projectId}`;
      stdout.write(`provisioning ${loaded.pipeline.name} in ${target}\n`);
      const { provisionTopology } = await import('../adapters/gcp/index.ts');
      let report;
      try {
        report = await provisionTopology(loaded.pipeline, { projectId });
      } catch (error) {
        stderr.write(`baton provision: ${cloudProblem(error, projectId)}\n`);
        context.setExitCode(EXIT.invalid);
        return;
      }
      for (const t of report.topics) stdout.write(`  topic         ${t.outcome.padEnd(7)} ${t.name}\n`);
      for (const s of report.subscriptions) stdout.write(`  subscription  ${s.outcome.padEnd(7)} ${s.name}\n`);
      const created = [...report.topics, ...report.subscriptions].filter((r) => r.outcome === 'created').length;
      stdout.write(`${report.topics.length} topics and ${report.subscriptions.length} subscriptions: ${created} created, the rest already existed\n`);
      context.setExitCode(EXIT.ok);
    });
}
