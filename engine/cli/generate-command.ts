import { chmod, mkdir, open, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { withPipelineFile } from './pipeline-file.ts';
import { Command } from 'commander';
import { loadValidPipeline } from './load-valid-pipeline.ts';
import type * as generators from '../../generators/generate.ts';
import { EXIT, type CommandContext } from './exit-codes.ts';
import { HeapCeiling } from './heap-ceiling.ts';

/** How far the heap may grow past what generate holds before a full collection (see HeapCeiling for the measurements). */
const HEAP_HEADROOM_BYTES = 96 * 1024 * 1024;

/** The generators, loaded on demand. */
type Generate = typeof generators;

/** `baton generate [file] [--out generated/] [--check]`: render manifests, diagram and docs from the graph. */
export function generateCommand(context: CommandContext): Command {
  return withPipelineFile(new Command('generate'), { positional: true })
    .description('render Terraform, the gcloud deploy script, the architecture diagram and reference docs from the pipeline')
    .option('--out <dir>', 'output folder', 'generated')
    .option('--check', 'write nothing; exit 1 and list what differs if the folder is out of date')
    .addHelpText(
      'after',
      `
Every output is rendered from the graph by templates in generators/templates/; the folder is complete,
so files that no longer belong are deleted (and reported by --check). Exit codes: 0 done / up to date,
1 invalid pipeline or drift, 2 usage error.`,
    )
    .action(async (file: string, options: { out: string; check?: boolean }) => {
      // Loaded on demand: the templates and the Graphviz WebAssembly are not needed by other commands.
      const generate = await import('../../generators/generate.ts');
      const ceiling = new HeapCeiling(HEAP_HEADROOM_BYTES);
      const files = filesOf(file, context, generate);
      if (files === undefined) return;
      // Each file is compared and written piece by piece as it is rendered: a large pipeline's files are
      // far larger than the pipeline (at 30,000 processors deploy.sh alone is ~57 MB).
      let count = 0;
      const drift = await generate.checkDrift(options.out, files, async (path) => {
        count++;
        ceiling.check();
        if (options.check) {
          return {
            write: () => {
              ceiling.check();
              return Promise.resolve();
            },
            close: async () => {},
          };
        }
        const target = join(options.out, path);
        await mkdir(dirname(target), { recursive: true });
        // Written beside the file and renamed over it when complete: the file on disk is compared as the new one is written.
        const partial = `${target}.partial`;
        const handle = await open(partial, 'w', path.endsWith('.sh') ? 0o755 : 0o644);
        return {
          write: async (chunk) => {
            ceiling.check();
            await handle.write(chunk);
          },
          close: async (complete) => {
            await handle.close();
            if (!complete) return rm(partial, { force: true });
            if (path.endsWith('.sh')) await chmod(partial, 0o755);
            await rename(partial, target);
          },
        };
      });
      const differs = drift.changed.length + drift.missing.length + drift.extra.length > 0;
      if (options.check) {
        if (!differs) {
          context.stdout.write(`${options.out}/ is up to date with ${file} (${count} files)\n`);
          context.setExitCode(EXIT.ok);
          return;
        }
        const lines = [
          ...drift.changed.map((p) => `  changed  ${options.out}/${p}`),
          ...drift.missing.map((p) => `  missing  ${options.out}/${p}`),
          ...drift.extra.map((p) => `  extra    ${options.out}/${p}`),
        ];
        context.stderr.write(
          `${options.out}/ is out of date with ${file}:\n${lines.join('\n')}\nrun: ${['npx baton generate', ...(file === 'pipeline.yaml' ? [] : [file]), ...(options.out === 'generated' ? [] : ['--out', options.out])].join(' ')}\n`,
        );
        context.setExitCode(EXIT.invalid);
        return;
      }
      for (const extra of drift.extra) await rm(join(options.out, extra));
      const changed = drift.changed.length + drift.missing.length + drift.extra.length;
      context.stdout.write(`wrote ${count} files to ${options.out}/ (${changed === 0 ? 'no changes' : `${changed} changed, added or removed`})\n`);
      context.setExitCode(EXIT.ok);
    });
}

/**
 * The generated files of a valid pipeline, or undefined (diagnostics printed) for an invalid one. The
 * loaded pipeline is held only by `sourceOf`'s frame: once it returns, the graph can be let go before
 * the deploy model is built.
 */
function filesOf(file: string, context: CommandContext, generate: Generate): AsyncGenerator<readonly [string, Iterable<string>]> | undefined {
  const source = sourceOf(file, context, generate);
  return source === undefined ? undefined : generate.generateEach(source);
}

function sourceOf(file: string, context: CommandContext, generate: Generate): generators.GenerateSource | undefined {
  const result = loadValidPipeline(file, context, 'nothing generated: fix the pipeline first');
  return result === undefined ? undefined : generate.generateSourceOf(result);
}
