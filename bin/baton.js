#!/usr/bin/env node
// Entry point of the `baton` command. The TypeScript CLI is bundled with esbuild the first time it runs
// and again whenever a source file changes, so there is no separate build step and start-up needs no
// transpiler. The bundle is split: the Google Cloud clients and the generators load only for the
// commands that use them. It is written under node_modules/.cache/baton/, out of the source tree, so
// no source tool (ESLint, Prettier, TypeScript, Vitest, git) ever sees it.
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { bundle as bundled } from './bundle.js';

// A closed stdout or stderr (`baton status --help | head -2`) ends the command quietly, as
// `git log | head` does, instead of an unhandled EPIPE stack trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
}

const bundle = await bundled('cli', join('engine', 'cli', 'main.ts'), { split: true });

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
