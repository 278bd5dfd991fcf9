import { Command } from 'commander';
import { buildPackage } from './build-package.ts';
import { EXIT, type CommandContext } from './exit-codes.ts';
import { loadValidPipeline } from './load-valid-pipeline.ts';

/**
 * `baton package`: the one generic package every barrier function and the coordinator service run
 * (#22: no function can miss a shared module, because there is one bundle), with this pipeline.yaml
 * and the schemas inside it, so what runs is exactly what was validated (#23).
 */
export function packageCommand(context: CommandContext): Command {
  return new Command('package')
    .description('build the deployable function package: one bundle of the generic entry points, with pipeline.yaml and the schemas')
    .argument('[file]', 'pipeline file', 'pipeline.yaml')
    .option('--out <dir>', 'output folder (replaced)', 'dist/functions')
    .addHelpText(
      'after',
      `
The folder holds index.js (entry point batonBarrier for Cloud Functions; node index.js serves HTTP
for the coordinator's Cloud Run service), package.json, pipeline.yaml and schemas/. Zip it and upload
it as var.baton_source_object, e.g.:
  (cd dist/functions && zip -qr ../baton-functions.zip .) && gcloud storage cp dist/baton-functions.zip gs://BUCKET/`,
    )
    .action(async (file: string, options: { out: string }) => {
      const loaded = loadValidPipeline(file, context, 'nothing packaged: fix the pipeline first');
      if (loaded === undefined) return;
      await buildPackage(loaded, options.out);
      context.stdout.write(
        `packaged pipeline ${loaded.pipeline.name} (hash ${loaded.hash ?? '?'}) into ${options.out}/: index.js, package.json, pipeline.yaml, schemas/\n`,
      );
      context.setExitCode(EXIT.ok);
    });
}
