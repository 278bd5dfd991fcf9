import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../helpers/run-cli.ts';

const minimal = new URL('../../fixtures/valid/minimal.yaml', import.meta.url).pathname;

describe('baton plan --against (deprecated)', () => {
  it('lists the resources a removed processor leaves behind and nothing it would add', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'baton-plan-'));
    const out = join(dir, 'generated');
    expect((await runCli('generate', minimal, '--out', out)).code).toBe(0);

    const unchanged = await runCli('plan', minimal, '--against', out);
    expect(unchanged.code).toBe(0);
    expect(unchanged.stdout).toContain('0 to add, 0 to change, 0 to remove');

    // load_c is removed from the ingest phase.
    const edited = join(dir, 'pipeline.yaml');
    writeFileSync(edited, readFileSync(minimal, 'utf8').replace('[load_a, load_b, load_c]', '[load_a, load_b]'));
    const plan = await runCli('plan', edited, '--against', out);
    expect(plan.code).toBe(1);
    expect(plan.stdout).toMatch(/- google_service_account\.load-c\n/);
    expect(plan.stdout).toMatch(/- google_pubsub_topic_iam_member\.pub-load-c-ingest-complete/);
    expect(plan.stdout).not.toMatch(/^ {2}\+ /m);
  });

  it('names the orphan subscription and how to delete it when a topic-fed processor goes away', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'baton-plan-'));
    const out = join(dir, 'generated');
    await runCli('generate', minimal, '--out', out);
    const edited = join(dir, 'pipeline.yaml');
    writeFileSync(edited, readFileSync(minimal, 'utf8').replace('      - build_x\n', '').replace('depends_on: [build_x]', 'description: alone now'));
    const plan = await runCli('plan', edited, '--against', out);
    expect(plan.stdout).toContain('- google_pubsub_subscription.build_x--stage-trigger');
    expect(plan.stdout).toContain('gcloud pubsub subscriptions delete build_x--stage-trigger --project PROJECT');
  });
});

/** A git repository holding minimal.yaml as pipeline.yaml, committed once. */
function committedRepo(): string {
  const dir = mkdtempSync(join(tmpdir(), 'baton-plan-git-'));
  const git = (...args: string[]) => execFileSync('git', args, { cwd: dir, stdio: 'pipe' });
  git('init', '-q');
  git('config', 'user.email', 'plan@test');
  git('config', 'user.name', 'plan test');
  writeFileSync(join(dir, 'pipeline.yaml'), readFileSync(minimal, 'utf8'));
  git('add', 'pipeline.yaml');
  git('commit', '-q', '-m', 'base');
  return dir;
}

describe('baton plan against a base', () => {
  it('compares an edit with the last commit by default and says what it means, exit 1', async () => {
    const dir = committedRepo();
    const file = join(dir, 'pipeline.yaml');
    writeFileSync(file, readFileSync(file, 'utf8').replace('threshold: { count: 1 }', 'threshold: { count: 2 }'));
    const plan = await runCli('plan', file);
    expect(plan.stderr).toBe('');
    expect(plan.code).toBe(1);
    expect(plan.stdout).toContain('against HEAD:pipeline.yaml');
    expect(plan.stdout).toContain('  ~ barrier stage-done\n      threshold: 1 of 2 → 2 of 2\n');
    expect(plan.stdout).toContain('open keys keep 1 of 2 (their snapshot); keys opened after the deploy use 2 of 2');
  });

  it('reads --base REF from git and exits 0 when the file is as committed', async () => {
    const dir = committedRepo();
    const plan = await runCli('plan', join(dir, 'pipeline.yaml'), '--base', 'HEAD');
    expect(plan.code).toBe(0);
    expect(plan.stdout).toContain('What the edit means: nothing');
  });

  it('refuses a base that is neither a file nor a revision, naming it, exit 2', async () => {
    const dir = committedRepo();
    const plan = await runCli('plan', join(dir, 'pipeline.yaml'), '--base', 'no-such-branch');
    expect(plan.code).toBe(2);
    expect(plan.stderr).toMatch(/^baton plan: --base no-such-branch is neither a file nor a git revision of .+\n$/);
    expect(plan.stdout).toBe('');
  });

  it('refuses a file that is not committed at the revision, exit 2', async () => {
    const dir = committedRepo();
    const other = join(dir, 'other.yaml');
    writeFileSync(other, readFileSync(minimal, 'utf8'));
    const plan = await runCli('plan', other);
    expect(plan.code).toBe(2);
    expect(plan.stderr).toBe('baton plan: other.yaml does not exist at HEAD (a new file?); pass --base FILE, or a revision where it was committed\n');
  });

  it('refuses to guess a base outside git, exit 2', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'baton-plan-nogit-'));
    const file = join(dir, 'pipeline.yaml');
    writeFileSync(file, readFileSync(minimal, 'utf8'));
    const plan = await runCli('plan', file);
    expect(plan.code).toBe(2);
    expect(plan.stderr).toBe(`baton plan: no base: ${file} is not in a git repository; pass --base FILE (the pipeline to compare with)\n`);
  });

  it('refuses an invalid base with its first error, and a folder as a base, exit 2', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'baton-plan-bad-'));
    const base = join(dir, 'base.yaml');
    writeFileSync(base, readFileSync(minimal, 'utf8').replace('publishes: done', 'publishes: dnoe'));
    const invalid = await runCli('plan', minimal, '--base', base);
    expect(invalid.code).toBe(2);
    expect(invalid.stderr).toMatch(
      new RegExp(`^baton plan: the base ${base} is not a valid pipeline \\(1 error; first: \\d+:\\d+ topic "dnoe" is not declared under topics\\)`),
    );
    const folder = await runCli('plan', minimal, '--base', dir);
    expect(folder.code).toBe(2);
    expect(folder.stderr).toBe(`baton plan: --base ${dir} is a folder; pass a pipeline file or a git revision\n`);
  });

  it('exits 2 on an invalid edited pipeline, printing its diagnostics', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'baton-plan-bad-'));
    const file = join(dir, 'pipeline.yaml');
    writeFileSync(file, readFileSync(minimal, 'utf8').replace('publishes: done', 'publishes: dnoe'));
    const plan = await runCli('plan', file, '--base', minimal);
    expect(plan.code).toBe(2);
    expect(plan.stderr).toContain('[graph/unknown-topic]');
    expect(plan.stderr).toContain('nothing planned: fix the pipeline first');
  });

  it('reports renamed_from naming nothing in the base as an addition, with a note', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'baton-plan-rename-'));
    mkdirSync(join(dir, 'x'));
    const file = join(dir, 'x', 'pipeline.yaml');
    writeFileSync(file, readFileSync(minimal, 'utf8').replace('[load_a, load_b, load_c]', '[load_a, load_b, load_c, { name: load_d, renamed_from: load_z }]'));
    const plan = await runCli('plan', file, '--base', minimal, '--format', 'json');
    expect(plan.code).toBe(1);
    const json = JSON.parse(plan.stdout) as { format: number; changes: { subject: string; action: string; name: string }[]; notes: string[] };
    expect(json.format).toBe(1);
    expect(json.changes).toContainEqual(expect.objectContaining({ subject: 'processor', action: 'added', name: 'load_d' }));
    expect(json.notes).toEqual(['processor load_d: renamed_from names "load_z", which the base does not declare; shown as added']);
  });

  it('refuses --against together with --base, exit 2', async () => {
    const plan = await runCli('plan', minimal, '--base', minimal, '--against', 'generated');
    expect(plan.code).toBe(2);
    expect(plan.stderr).toBe('baton plan: --against and --base are two ways to name the base; pass one (--base)\n');
  });
});
