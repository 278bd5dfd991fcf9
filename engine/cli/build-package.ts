import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { BuildOptions, Plugin } from 'esbuild';
import type { LoadResult } from '../config/load-pipeline.ts';
import { packageRoot } from '../config/package-root.ts';
import type { ResolvedPipeline } from '../config/resolved-pipeline.ts';

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
 * Writes the one deployable package every barrier function and the coordinator service run into
 * `out` (replaced): the bundled entry points, a package.json whose start script is the coordinator
 * container's command, this pipeline.yaml and the schemas. `baton package` and `baton rehearse` both
 * build it here, so the rehearsal runs exactly what is deployed.
 */
export async function buildPackage(loaded: LoadResult & { readonly pipeline: ResolvedPipeline }, out: string): Promise<void> {
  const root = packageRoot();
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  // esbuild is loaded only when a package is built. The shipped schemas go in compiled to code, as in the
  // CLI's own bundle (bin/bundle.js, read from the package at run time): a function instance compiles no
  // schema on its cold start.
  const { build } = await import('esbuild');
  const { nodeBundleOptions, shippedValidatorsPlugin } = (await import(pathToFileURL(join(root, 'bin', 'bundle.js')).href)) as {
    nodeBundleOptions: BuildOptions;
    shippedValidatorsPlugin: () => Promise<Plugin>;
  };
  await build({
    entryPoints: [join(root, 'engine', 'entry', 'index.ts')],
    outfile: join(out, 'index.js'),
    ...nodeBundleOptions,
    plugins: [await shippedValidatorsPlugin()],
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
  writeFileSync(join(out, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  cpSync(loaded.file, join(out, 'pipeline.yaml'));
  cpSync(join(root, 'schemas'), join(out, 'schemas'), { recursive: true });
}
