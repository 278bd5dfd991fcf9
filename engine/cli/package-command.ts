import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { packageRoot } from '../config/package-root.ts';
import { EXIT, type CommandContext } from './exit-codes.ts';
import { loadValidPipeline } from './load-valid-pipeline.ts';

/** Runtime dependencies of the deployed entry points (the rest of Baton's are for the CLI and tests). */
const ENTRY_DEPENDENCIES = [
  // Cloud Functions installs it anyway; listed so the bundle runs the same way anywhere (`npx functions-framework`).
  '@google-cloud/functions-framework',
  '@google-cloud/firestore',
  '@google-cloud/pubsub',
  'google-auth-library',
  'ajv',
  'ajv-formats',
  'yaml',
  'graphology',
  'fastest-levenshtein',
];

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
      const root = packageRoot();
      const { buildSync } = await import('esbuild');
      rmSync(options.out, { recursive: true, force: true });
      mkdirSync(options.out, { recursive: true });
      buildSync({
        entryPoints: [join(root, 'engine', 'entry', 'index.ts')],
        outfile: join(options.out, 'index.js'),
        bundle: true,
        platform: 'node',
        format: 'esm',
        target: 'node20',
        packages: 'external',
        logLevel: 'error',
      });
      const rootPackage = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string; dependencies: Record<string, string> };
      const dependencies = Object.fromEntries(ENTRY_DEPENDENCIES.map((name) => [name, rootPackage.dependencies[name] ?? '*']));
      const manifest = {
        name: `baton-${loaded.pipeline.name}-functions`,
        version: rootPackage.version,
        private: true,
        type: 'module',
        main: 'index.js',
        description: `Baton entry points for pipeline ${loaded.pipeline.name} (hash ${loaded.hash ?? '?'})`,
        scripts: { start: 'node -e "import(\'./index.js\').then((m) => m.serve(process.env))"' },
        engines: { node: '>=20' },
        dependencies,
      };
      writeFileSync(join(options.out, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
      cpSync(file, join(options.out, 'pipeline.yaml'));
      cpSync(join(root, 'schemas'), join(options.out, 'schemas'), { recursive: true });
      context.stdout.write(
        `packaged pipeline ${loaded.pipeline.name} (hash ${loaded.hash ?? '?'}) into ${options.out}/: index.js, package.json, pipeline.yaml, schemas/\n`,
      );
      context.setExitCode(EXIT.ok);
    });
}
