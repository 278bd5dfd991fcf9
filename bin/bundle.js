// Bundles a TypeScript entry point of Baton with esbuild the first time it is needed and again whenever
// a source file changes, under node_modules/.cache/baton/, out of every source tool's view. Used by
// bin/baton.js (the CLI) and bin/processor.js (the `baton/processor` SDK export).
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** The Baton package folder. */
export const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** How every Baton bundle is built (the CLI, the SDK, the deployed functions' package): ESM for Node 20, dependencies left to node_modules. */
export const nodeBundleOptions = { bundle: true, platform: 'node', format: 'esm', target: 'node20', packages: 'external', logLevel: 'error' };

function newestSource(dir, extension) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(path, extension));
    else if (entry.name.endsWith(extension)) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

/**
 * The shipped schemas compiled to code (engine/config/precompiled-validators-source.ts, bundled and run
 * here), to bundle in place of engine/config/shipped-validators.ts: a bundled process then compiles no
 * schema before it builds or reads its first message.
 */
async function precompiledValidators(buildSync, cache) {
  const generator = join(cache, `precompile-${process.pid}.mjs`);
  try {
    buildSync({
      entryPoints: [join(root, 'engine', 'config', 'precompiled-validators-source.ts')],
      outfile: generator,
      ...nodeBundleOptions,
    });
    const { precompiledValidatorsSource } = await import(pathToFileURL(generator).href);
    return precompiledValidatorsSource();
  } finally {
    rmSync(generator, { force: true });
  }
}

/**
 * The esbuild plugin that bundles the shipped schemas compiled to code in place of
 * engine/config/shipped-validators.ts: used for the CLI and SDK bundles here, and for the deployed
 * functions' package (engine/cli/build-package.ts), so no bundled process compiles a schema at start.
 */
export async function shippedValidatorsPlugin() {
  const { buildSync } = await import('esbuild');
  const cache = join(root, 'node_modules', '.cache', 'baton');
  mkdirSync(cache, { recursive: true });
  const validators = await precompiledValidators(buildSync, cache);
  return {
    name: 'precompiled-validators',
    setup(build) {
      build.onLoad({ filter: /[\\/]engine[\\/]config[\\/]shipped-validators\.ts$/ }, () => ({ contents: validators, loader: 'js' }));
    },
  };
}

/**
 * The folder of an up-to-date bundle of `entry` (a path below the package root), named `<name>-<stamp>`;
 * `split` loads rarely used modules (the Google Cloud clients, the generators) only when imported.
 */
export async function bundle(name, entry, { split = false } = {}) {
  const sources = ['engine', 'generators'].map((d) => join(root, d)).filter((d) => existsSync(d));
  // The schemas count too: the bundle carries the shipped ones compiled.
  const stamp = Math.floor(Math.max(...sources.map((d) => newestSource(d, '.ts')), newestSource(join(root, 'schemas'), '.json'))).toString(36);
  const cache = join(root, 'node_modules', '.cache', 'baton');
  const folder = join(cache, `${name}-${stamp}`);
  if (existsSync(join(folder, basename(entry).replace(/\.ts$/, '.js')))) return folder;
  const { build } = await import('esbuild');
  mkdirSync(cache, { recursive: true });
  // Build beside and rename: concurrent first runs never import a half-written bundle.
  const temporary = `${folder}.${process.pid}.tmp`;
  // The asynchronous build: only it takes plugins.
  await build({
    entryPoints: [join(root, entry)],
    outdir: temporary,
    ...nodeBundleOptions,
    splitting: split,
    plugins: [await shippedValidatorsPlugin()],
  });
  try {
    renameSync(temporary, folder);
  } catch {
    rmSync(temporary, { recursive: true, force: true }); // another process built it first
  }
  // Drop bundles of older sources (left alone if another process still runs one).
  for (const old of readdirSync(cache)) {
    const path = join(cache, old);
    if (old.startsWith(`${name}-`) && path !== folder && Date.now() - statSync(path).mtimeMs > 60_000) rmSync(path, { recursive: true, force: true });
  }
  return folder;
}
