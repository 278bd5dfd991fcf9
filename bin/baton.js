#!/usr/bin/env node
// Entry point of the `baton` command. The TypeScript CLI is bundled with esbuild the first time it runs
// and again whenever a source file changes, so there is no separate build step and start-up needs no
// transpiler. The bundle is split: the Google Cloud clients and the generators load only for the
// commands that use them. It is written under node_modules/.cache/baton/, out of the source tree, so
// no source tool (ESLint, Prettier, TypeScript, Vitest, git) ever sees it.
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

// A closed stdout or stderr (`baton status --help | head -2`) ends the command quietly, as
// `git log | head` does, instead of an unhandled EPIPE stack trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
}

function newestSource(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(path));
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

const sources = ['engine', 'generators'].map((d) => join(root, d)).filter((d) => existsSync(d));
const stamp = Math.floor(Math.max(...sources.map(newestSource))).toString(36);
const cache = join(root, 'node_modules', '.cache', 'baton');
const bundle = join(cache, `cli-${stamp}`);

if (!existsSync(join(bundle, 'main.js'))) {
  const { buildSync } = await import('esbuild');
  mkdirSync(cache, { recursive: true });
  // Build beside and rename: concurrent first runs never import a half-written bundle.
  const temporary = `${bundle}.${process.pid}.tmp`;
  buildSync({
    entryPoints: [join(root, 'engine', 'cli', 'main.ts')],
    outdir: temporary,
    bundle: true,
    splitting: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    logLevel: 'error',
  });
  try {
    renameSync(temporary, bundle);
  } catch {
    rmSync(temporary, { recursive: true, force: true }); // another process built it first
  }
  // Drop bundles of older sources (left alone if another process still runs one).
  for (const name of readdirSync(cache)) {
    const path = join(cache, name);
    if (name.startsWith('cli-') && path !== bundle && Date.now() - statSync(path).mtimeMs > 60_000) rmSync(path, { recursive: true, force: true });
  }
}

// Client libraries can reject a promise nobody awaits after the command has already reported the
// problem; say it in one line instead of Node's crash dump (BATON_DEBUG=1 shows the stack).
process.on('unhandledRejection', (reason) => {
  const text = reason instanceof Error ? (process.env.BATON_DEBUG ? (reason.stack ?? reason.message) : reason.message.split('\n')[0]) : String(reason);
  process.stderr.write(`baton: ${text}\n`);
  process.exitCode = process.exitCode || 1;
});

const { main } = await import(pathToFileURL(join(bundle, 'main.js')).href);
try {
  process.exitCode = await main(process.argv.slice(2));
} catch (error) {
  // A bug, not a user error: say so plainly, with the stack for the report.
  process.stderr.write(`baton: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 70;
}
