import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { packageRoot } from '../../../engine/config/package-root.ts';
import { fixturePath, generated, NBA_PIPELINE } from './generate-fixture.ts';

const hasTerraform = spawnSync('terraform', ['version'], { stdio: 'ignore' }).status === 0;
if (!hasTerraform) console.warn('SKIPPED: terraform is not installed, so `terraform fmt -check` of the generated Terraform did not run');

const dir = mkdtempSync(join(tmpdir(), 'baton-fmt-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** `terraform fmt -check -recursive`: lists the files that are not formatted (fmt needs no providers). */
function unformatted(folder: string): { status: number | null; files: string[]; stderr: string } {
  const run = spawnSync('terraform', ['fmt', '-check', '-recursive', '-list=true', folder], {
    encoding: 'utf8',
    env: { ...process.env, TF_CLI_CONFIG_FILE: '/dev/null', CHECKPOINT_DISABLE: '1' },
  });
  return { status: run.status, files: run.stdout.split('\n').filter((l) => l.trim() !== ''), stderr: run.stderr };
}

describe.skipIf(!hasTerraform)('terraform fmt', () => {
  it('finds nothing to change in the committed generated/terraform (bug: outputs.tf was not aligned)', () => {
    const result = unformatted(join(packageRoot(), 'generated', 'terraform'));
    expect(result.files).toEqual([]);
    expect(result.status).toBe(0);
  });

  it.each([
    ['the NBA pipeline', NBA_PIPELINE, 'nba'],
    ['the small fixture (customer-managed key, pull subscription)', fixturePath('small/pipeline.yaml'), 'small'],
    ['the hostile fixture', fixturePath('hostile/pipeline.yaml'), 'hostile'],
  ])('finds nothing to change in the Terraform rendered for %s', async (_title, file, name) => {
    const { files } = await generated(file);
    for (const [path, content] of files) {
      if (!path.startsWith('terraform/')) continue;
      const target = join(dir, name, path);
      mkdirSync(dirname(target), { recursive: true });
      writeFileSync(target, content);
    }
    const result = unformatted(join(dir, name, 'terraform'));
    expect(result.files).toEqual([]);
    expect(result.status).toBe(0);
  });
});
