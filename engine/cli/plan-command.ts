import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { Command } from 'commander';
import { EXIT, type CommandContext } from './exit-codes.ts';
import { loadValidPipeline } from './load-valid-pipeline.ts';
import { paletteFor } from './terminal.ts';

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

/**
 * `baton plan`: what the edited pipeline.yaml changes in the deployed topology, before deploying —
 * resources added, changed and removed against the committed `generated/`. Removed subscriptions are
 * the orphans that once caused duplicate runs (#6); Terraform deletes them, deploy.sh does not, so the
 * plan prints the commands that do.
 */
export function planCommand(context: CommandContext): Command {
  return new Command('plan')
    .description('list the resources an edited pipeline adds, changes and removes, compared with the committed generated/ folder')
    .argument('[file]', 'pipeline file', 'pipeline.yaml')
    .option('--against <dir>', 'the previous render', 'generated')
    .addHelpText('after', '\nExit codes: 0 no resource changes, 1 changes (or an invalid pipeline), 2 usage error.')
    .action(async (file: string, options: { against: string }) => {
      const loaded = loadValidPipeline(file, context, 'nothing planned: fix the pipeline first');
      if (loaded === undefined) return;
      const { generateAll } = await import('../../generators/generate.ts');
      const { deleteCommandFor, planResources } = await import('../../generators/plan-resources.ts');
      const plan = planResources(readTree(options.against), await generateAll(loaded));
      const palette = paletteFor(context.stdout);
      const label = (r: { type: string; name: string }): string => `${r.type}.${r.name}`;
      const lines = [
        ...plan.added.map((r) => palette.green(`  + ${label(r)}`)),
        ...plan.changed.map((r) => palette.yellow(`  ~ ${label(r)}`)),
        ...plan.removed.map((r) => palette.red(`  - ${label(r)}`)),
      ];
      const total = plan.added.length + plan.changed.length + plan.removed.length;
      context.stdout.write(
        `plan for ${file} against ${options.against}/: ${plan.added.length} to add, ${plan.changed.length} to change, ${plan.removed.length} to remove\n`,
      );
      if (lines.length > 0) context.stdout.write(`${lines.join('\n')}\n`);
      const deletes = plan.removed.map((r) => deleteCommandFor(r, loaded.pipeline.project ?? 'PROJECT')).filter((c): c is string => c !== undefined);
      if (deletes.length > 0) {
        context.stdout.write(
          `\nterraform apply removes these; after a deploy.sh deploy, delete the orphans by hand:\n${deletes.map((c) => `  ${c}`).join('\n')}\n`,
        );
      }
      if (total > 0) context.stdout.write(`\nthen: npx baton generate, review, commit pipeline.yaml and generated/ together\n`);
      context.setExitCode(total === 0 ? EXIT.ok : EXIT.invalid);
    });
}
