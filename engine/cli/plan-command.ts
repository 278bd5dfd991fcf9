import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { Command, Option } from 'commander';
import { hasErrors } from '../config/diagnostic.ts';
import { formatReport } from '../config/format-diagnostics.ts';
import { loadPipeline, loadPipelineBytes, type LoadResult } from '../config/load-pipeline.ts';
import type { ResolvedPipeline } from '../config/resolved-pipeline.ts';
import type { PlannedSide } from '../plan/build-plan.ts';
import { EXIT, type CommandContext } from './exit-codes.ts';
import { loadValidPipeline } from './load-valid-pipeline.ts';
import { withPipelineFile } from './pipeline-file.ts';
import { paletteFor } from './terminal.ts';

type Format = 'text' | 'json' | 'markdown';

const HELP_AFTER = `
The base is the pipeline the edit is compared with:
  --base FILE   another pipeline file (a path that exists is always read as a file)
  --base REF    a git revision: the same file as committed there (git show REF:<file>)
  (none)        HEAD, when the file is in a git repository: plain \`baton plan\` after an edit
                shows what the edit means against the last commit

The plan says what the edit means (components added, removed and renamed — by \`renamed_from:\`
or by shape —, thresholds, deadline tiers, modes and subscription settings in words), what happens
to keys in flight on each barrier when it deploys (their expectations are fixed at their first
completion), the failure modes it risks, the resources and generated files that change (changes
that are only the pipeline hash label kept apart), and the monthly Google Cloud cost of both
pipelines from the graph and \`simulate:\` (prices: data/gcp-prices.json, assumptions printed).

--format markdown prints a pull-request comment; --format json the plan object (format 1).

Exit codes: 0 no change (an edit that changes only the pipeline hash label, e.g. a comment, is no
change), 1 the edit changes something, 2 error: a usage error, a base that does not exist, is not in
git or is invalid, or an invalid edited pipeline (its diagnostics are printed).

--against DIR (deprecated) compares only the resources with a folder rendered earlier; the plan now
renders the base itself. It exits 1 on any resource change and refuses a render of another pipeline.`;

/**
 * `baton plan`: what an edit to pipeline.yaml means before it deploys — a semantic diff against a base
 * (a git revision or another file), keys in flight per barrier, the failure modes it risks, the
 * resources it adds, changes and removes (#6: removed subscriptions are the orphans that once caused
 * duplicate runs), and its monthly cost.
 */
export function planCommand(context: CommandContext): Command {
  return withPipelineFile(new Command('plan'), { positional: true })
    .description(
      'what an edit to the pipeline means: changes in words, keys in flight, warnings, resources and monthly cost, against a git revision or another file',
    )
    .option('--base <ref|file>', 'the pipeline to compare with: a file path, or a git revision of the same file (default: HEAD)')
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'json', 'markdown']).default('text'))
    .option('--against <dir>', 'deprecated: compare only the resources with a folder rendered earlier')
    .addHelpText('after', HELP_AFTER)
    .action(async (file: string, options: { base?: string; format: Format; against?: string }) => {
      if (options.against !== undefined) {
        if (options.base !== undefined) return usage(context, '--against and --base are two ways to name the base; pass one (--base)');
        await planAgainstFolder(file, options.against, context);
        context.stderr.write('note: --against is deprecated: `baton plan` now renders the base itself (--base REF|FILE, default HEAD)\n');
        return;
      }
      const headLoad = loadPipeline(file);
      if (hasErrors(headLoad.diagnostics) || headLoad.pipeline === undefined) {
        context.stderr.write(`${formatReport(file, headLoad, paletteFor(context.stderr))}\nnothing planned: fix the pipeline first\n`);
        context.setExitCode(EXIT.usage);
        return;
      }
      const base = readBase(file, options.base);
      if ('error' in base) return usage(context, base.error);
      const baseLoad = loadPipelineBytes(base.label, base.bytes);
      if (hasErrors(baseLoad.diagnostics) || baseLoad.pipeline === undefined) {
        const errors = baseLoad.diagnostics.filter((d) => d.severity === 'error');
        const first = errors[0];
        return usage(
          context,
          `the base ${base.label} is not a valid pipeline (${errors.length} ${errors.length === 1 ? 'error' : 'errors'}; first: ${first === undefined ? '?' : `${first.line}:${first.column} ${first.message}`}); pass --base a revision or file where it was valid`,
        );
      }
      const { buildPlan } = await import('../plan/build-plan.ts');
      const { readPriceTable } = await import('../plan/cost.ts');
      const render = await import('../plan/render-plan.ts');
      // The base is rendered with the edit's hash: what differs from the edit's render is then a real change.
      const baseSide = await sideOf(baseLoad as ValidLoad, headLoad.hash);
      const plan = buildPlan(file, base.label, baseSide, await sideOf(headLoad as ValidLoad), readPriceTable());
      const text =
        options.format === 'json'
          ? render.renderPlanJson(plan)
          : options.format === 'markdown'
            ? render.renderPlanMarkdown(plan)
            : render.renderPlanText(plan, paletteFor(context.stdout));
      context.stdout.write(text);
      context.setExitCode(plan.changed ? EXIT.invalid : EXIT.ok);
    });
}

type ValidLoad = LoadResult & { readonly pipeline: ResolvedPipeline };

async function sideOf(load: ValidLoad, renderHash = load.hash): Promise<PlannedSide> {
  const { generateAll } = await import('../../generators/generate.ts');
  const { buildDeployModel } = await import('../../generators/deploy-model.ts');
  const model = buildDeployModel(load);
  const ticks = [
    ...model.barriers.map((b) => ({ component: b.name, schedule: b.tick.schedule })),
    ...model.coordinators.map((c) => ({ component: c.name, schedule: c.tick.schedule })),
  ];
  return { load, files: await generateAll({ ...load, hash: renderHash }), ticks };
}

function usage(context: CommandContext, message: string): void {
  context.stderr.write(`baton plan: ${message}\n`);
  context.setExitCode(EXIT.usage);
}

/**
 * The base pipeline's bytes: `base` as a file when such a path exists, else as a git revision of
 * `file` (HEAD when `base` is not given).
 */
function readBase(file: string, base: string | undefined): { label: string; bytes: Uint8Array } | { error: string } {
  if (base !== undefined && existsSync(base)) {
    if (!statSync(base).isFile()) return { error: `--base ${base} is a folder; pass a pipeline file or a git revision` };
    return { label: base, bytes: readFileSync(base) };
  }
  const ref = base ?? 'HEAD';
  const cwd = dirname(realpathSync(file));
  const git = (...args: string[]): Buffer | undefined => {
    try {
      return execFileSync('git', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 * 1024 * 1024 });
    } catch {
      return undefined;
    }
  };
  const top = git('rev-parse', '--show-toplevel')?.toString().trim();
  if (top === undefined || top === '')
    return {
      error:
        base === undefined
          ? `no base: ${file} is not in a git repository; pass --base FILE (the pipeline to compare with)`
          : `--base ${base}: no such file, and ${file} is not in a git repository to read a revision from`,
    };
  if (git('rev-parse', '--verify', '--quiet', `${ref}^{commit}`) === undefined)
    return {
      error:
        base === undefined
          ? `no base: the repository of ${file} has no commit yet; pass --base FILE`
          : `--base ${base} is neither a file nor a git revision of ${top}`,
    };
  const path = relative(top, realpathSync(file)).split('\\').join('/');
  const bytes = git('show', `${ref}:${path}`);
  if (bytes === undefined)
    return {
      error: `${path} does not exist at ${ref}${base === undefined ? ' (a new file?)' : ''}; pass --base FILE, or a revision where it was committed`,
    };
  return { label: `${ref}:${path}`, bytes };
}

function readTree(dir: string, root = dir): Map<string, string> {
  const files = new Map<string, string>();
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return files;
  }
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) for (const [p, c] of readTree(path, root)) files.set(p, c);
    else files.set(relative(root, path), readFileSync(path, 'utf8'));
  }
  return files;
}

/** The deprecated `--against DIR`: resources only, against a folder rendered earlier. */
async function planAgainstFolder(file: string, against: string, context: CommandContext): Promise<void> {
  const loaded = loadValidPipeline(file, context, 'nothing planned: fix the pipeline first');
  if (loaded === undefined) return;
  const { generateAll } = await import('../../generators/generate.ts');
  const { deleteCommandFor, planResources } = await import('../../generators/plan-resources.ts');
  const previous = readTree(against);
  // A render of another pipeline makes every resource of both look added and removed (issue 10):
  // the header Terraform's main.tf carries names the pipeline it was rendered from.
  const header = /^# Generated by `baton generate` from pipeline (.+) \(hash ([^)]*)\)/m.exec(previous.get(join('terraform', 'main.tf')) ?? '');
  if (header !== null && header[1] !== loaded.pipeline.name) {
    context.stderr.write(
      `baton plan: ${against}/ is the render of pipeline ${header[1]} (hash ${header[2] ?? '?'}), not of ${loaded.pipeline.name} in ${file}; pass --against <the folder ${file} was rendered into>\n`,
    );
    context.setExitCode(EXIT.usage);
    return;
  }
  if (header === null && previous.size > 0)
    context.stderr.write(`note: ${against}/terraform/main.tf does not say which pipeline it renders; check that it is ${loaded.pipeline.name}'s\n`);
  const plan = planResources(previous, await generateAll(loaded));
  const palette = paletteFor(context.stdout);
  const label = (r: { type: string; name: string }): string => `${r.type}.${r.name}`;
  const lines = [
    ...plan.added.map((r) => palette.green(`  + ${label(r)}`)),
    ...plan.changed.map((r) => palette.yellow(`  ~ ${label(r)}`)),
    ...plan.removed.map((r) => palette.red(`  - ${label(r)}`)),
  ];
  const total = plan.added.length + plan.changed.length + plan.removed.length;
  context.stdout.write(
    `plan for ${file} against ${against}/: ${plan.added.length} to add, ${plan.changed.length} to change, ${plan.removed.length} to remove\n`,
  );
  if (lines.length > 0) context.stdout.write(`${lines.join('\n')}\n`);
  const deletes = plan.removed.map((r) => deleteCommandFor(r, loaded.pipeline.project ?? 'PROJECT')).filter((c): c is string => c !== undefined);
  if (deletes.length > 0) {
    context.stdout.write(
      `\nterraform apply removes these; after a deploy.sh deploy, delete the orphans by hand:\n${deletes.map((c) => `  ${c}`).join('\n')}\n`,
    );
  }
  if (total > 0) {
    const generate = ['npx baton generate', ...(file === 'pipeline.yaml' ? [] : [file]), ...(against === 'generated' ? [] : ['--out', against])].join(' ');
    context.stdout.write(`\nthen: ${generate}, review, commit ${file} and ${against}/ together\n`);
  }
  context.setExitCode(total === 0 ? EXIT.ok : EXIT.invalid);
}
