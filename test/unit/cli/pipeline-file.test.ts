import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../helpers/run-cli.ts';

const minimal = new URL('../../fixtures/valid/minimal.yaml', import.meta.url).pathname;

describe('the pipeline file argument and the commands hints print (issue 10: hints dropped -f)', () => {
  it('takes the file as [file] or -f on every command that has no other positional argument, and refuses two different ones', async () => {
    for (const command of ['validate', 'generate', 'plan', 'package', 'provision', 'rehearse', 'run', 'status', 'tick', 'dashboard']) {
      const { stdout } = await runCli(command, '--help');
      expect(stdout, command).toMatch(/Usage: baton \S+ .*\[file\]/);
      expect(stdout, command).toContain('-f, --file <file>');
    }
    for (const command of ['trace', 'check-processor']) expect((await runCli(command, '--help')).stdout, command).toContain('-f, --file <file>');

    expect((await runCli('validate', '-f', minimal)).stdout).toContain('pipeline mini');
    expect((await runCli('validate', minimal)).stdout).toContain('pipeline mini');
    const two = await runCli('validate', minimal, '-f', 'other.yaml');
    expect(two.code).toBe(2);
    expect(two.stderr).toContain(`two pipeline files: "${minimal}" and -f "other.yaml"; pass one`);
  });

  it("repeats the user's file and state folder in the stuck-run hint, so following it shows this pipeline", async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'baton-hint-'));
    const run = await runCli('run', minimal, '--key', '2025-11-29', '--failure-rate', '1', '--state-dir', stateDir);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain(`see what is stuck: npx baton status -f ${minimal} --state-dir ${stateDir}\n`);
    const status = await runCli('status', '-f', minimal, '--state-dir', stateDir);
    expect(status.code).toBe(0);
    expect(status.stdout).toContain('key 2025-11-29');

    const empty = await runCli('status', minimal, '--state-dir', join(stateDir, 'none'));
    expect(empty.stderr).toBe(
      `baton status: ${join(stateDir, 'none')}/ holds no state; start one with: npx baton run -f ${minimal} --state-dir ${join(stateDir, 'none')}\n`,
    );
  });
});

describe('baton plan against the render of another pipeline (issue 10: it listed every resource of both)', () => {
  it('refuses, naming both pipelines', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'baton-plan-other-')), 'generated');
    expect((await runCli('generate', '--out', out)).code).toBe(0);
    const plan = await runCli('plan', minimal, '--against', out);
    expect(plan.code).toBe(2);
    expect(plan.stdout).toBe('');
    expect(plan.stderr).toMatch(new RegExp(`^baton plan: ${out}/ is the render of pipeline nba-props \\(hash [0-9a-f]+\\), not of mini in ${minimal}; `));
  });
});
