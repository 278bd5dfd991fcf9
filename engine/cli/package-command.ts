import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { withPipelineFile } from './pipeline-file.ts';
import { Command } from 'commander';
import { buildPackage } from './build-package.ts';
import { EXIT, type CommandContext } from './exit-codes.ts';
import { loadValidPipeline } from './load-valid-pipeline.ts';
import { zipFolder } from './write-zip.ts';

/**
 * `baton package`: the one generic package every barrier function and the coordinator service run
 * (#22: no function can miss a shared module, because there is one bundle), with this pipeline.yaml
 * and the schemas inside it, so what runs is exactly what was validated (#23).
 */
export function packageCommand(context: CommandContext): Command {
  return withPipelineFile(new Command('package'), { positional: true })
    .description('build the deployable function package: one bundle of the generic entry points, with pipeline.yaml and the schemas')
    .option('--out <dir>', 'output folder (replaced)', 'dist/functions')
    .option('--zip <file>', 'the same folder as a deterministic zip, what Terraform uploads (default: baton-functions.zip beside --out)')
    .addHelpText(
      'after',
      `
The folder holds index.js (entry point batonBarrier for Cloud Functions; npm start serves HTTP for the
coordinator's Cloud Run service), package.json, pipeline.yaml and schemas/. The zip holds the same
files with fixed timestamps, so its MD5 changes exactly when the package does. Terraform uploads it
as baton-functions-<md5>.zip (var.baton_package_zip): a new package is a new object, so every function
and the coordinator roll out again. The command prints the exact next steps.`,
    )
    .action(async (file: string, options: { out: string; zip?: string }) => {
      const loaded = loadValidPipeline(file, context, 'nothing packaged: fix the pipeline first');
      if (loaded === undefined) return;
      await buildPackage(loaded, options.out);
      const zipFile = options.zip ?? join(dirname(options.out), 'baton-functions.zip');
      const zip = zipFolder(options.out);
      mkdirSync(dirname(zipFile), { recursive: true });
      writeFileSync(zipFile, zip);
      const md5 = createHash('md5').update(zip).digest('hex');
      const project = loaded.pipeline.project ?? 'PROJECT';
      const region = loaded.pipeline.region ?? 'REGION';
      const image = `${region}-docker.pkg.dev/${project}/baton/coordinator:${md5}`;
      const zipPath = resolve(zipFile);
      const terraformDir = join('generated', 'terraform');
      context.stdout.write(
        [
          `packaged pipeline ${loaded.pipeline.name} (hash ${loaded.hash ?? '?'}) into ${options.out}/: index.js, package.json, pipeline.yaml, schemas/`,
          `zipped it into ${zipFile} (md5 ${md5}); Terraform uploads it as baton-functions-${md5}.zip`,
          '',
          'next:',
          `  1. build the coordinator image from the same package (once per project: gcloud artifacts repositories create baton --repository-format docker --location ${region} --project ${project}):`,
          `     gcloud builds submit ${options.out} --pack image=${image} --project ${project}`,
          `  2. deploy with Terraform (uploads the zip, rolls out every function and a new coordinator revision):`,
          `     terraform -chdir=${terraformDir} apply -var baton_package_zip=${zipPath} -var baton_coordinator_image=${image}`,
          `     or with gcloud: BATON_SOURCE=${options.out} BATON_COORDINATOR_IMAGE=${image} generated/gcloud/deploy.sh`,
          '',
        ].join('\n'),
      );
      context.setExitCode(EXIT.ok);
    });
}
