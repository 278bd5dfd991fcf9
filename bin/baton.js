#!/usr/bin/env node
// Entry point of the `baton` command. The TypeScript CLI is bundled with esbuild into dist/baton.mjs
// the first time it runs and again whenever a source file is newer than the bundle, so there is no
// separate build step and start-up stays fast (no on-the-fly transpiler on every run).
import { existsSync, mkdirSync, readdirSync, renameSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bundle = join(root, 'dist', 'baton.mjs');

function newestSource(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(path));
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

function sourceDirs() {
  return ['engine', 'generators'].map((d) => join(root, d)).filter((d) => existsSync(d));
}

if (!existsSync(bundle) || statSync(bundle).mtimeMs < Math.max(...sourceDirs().map(newestSource))) {
  const { buildSync } = await import('esbuild');
  mkdirSync(dirname(bundle), { recursive: true });
  // Write beside and rename, so concurrent first runs never import a half-written bundle.
  const temporary = `${bundle}.${process.pid}.tmp`;
  buildSync({
    entryPoints: [join(root, 'engine', 'cli', 'main.ts')],
    outfile: temporary,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    logLevel: 'error',
  });
  renameSync(temporary, bundle);
}

// Client libraries can reject a promise nobody awaits after the command has already reported the
// problem; say it in one line instead of Node's crash dump (BATON_DEBUG=1 shows the stack).
process.on('unhandledRejection', (reason) => {
  const text = reason instanceof Error ? (process.env.BATON_DEBUG ? (reason.stack ?? reason.message) : reason.message.split('\n')[0]) : String(reason);
  process.stderr.write(`baton: ${text}\n`);
  process.exitCode = process.exitCode || 1;
});

const { main } = await import(pathToFileURL(bundle).href);
try {
  process.exitCode = await main(process.argv.slice(2));
} catch (error) {
  // A bug, not a user error: say so plainly, with the stack for the report.
  process.stderr.write(`baton: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 70;
}
