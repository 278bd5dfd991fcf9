import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileOf, fixturePath, generated, NBA_PIPELINE } from './generate-fixture.ts';

const hasShellcheck = spawnSync('shellcheck', ['--version']).status === 0;
const dir = mkdtempSync(join(tmpdir(), 'baton-deploy-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Writes the generated deploy.sh of a pipeline to a temp file and returns its path. */
async function scriptFor(file: string, name: string): Promise<string> {
  const path = join(dir, `${name}.sh`);
  writeFileSync(path, fileOf((await generated(file)).files, 'gcloud/deploy.sh'), { mode: 0o755 });
  return path;
}

/** Runs a script with bash, no gcloud on PATH, and returns its output. */
function runScript(path: string, args: string[], env: Record<string, string> = {}): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync('bash', [path, ...args], { encoding: 'utf8', env: { PATH: '/usr/bin:/bin', HOME: dir, ...env } });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe.each([
  ['the NBA pipeline', NBA_PIPELINE, 'nba'],
  ['the small fixture', fixturePath('small/pipeline.yaml'), 'small'],
  ['the hostile fixture', fixturePath('hostile/pipeline.yaml'), 'hostile'],
])('deploy.sh for %s', (_title, file, name) => {
  let script: string;
  beforeAll(async () => {
    script = await scriptFor(file, name);
  });

  it('is valid bash that stops on the first error', () => {
    expect(() => execFileSync('bash', ['-n', script])).not.toThrow();
    expect(readFileSync(script, 'utf8')).toContain('\nset -euo pipefail\n');
  });

  // CI installs shellcheck (.ci/run), so there a missing one fails rather than skips.
  it.skipIf(!hasShellcheck && process.env.CI === undefined)('passes shellcheck', () => {
    const result = spawnSync('shellcheck', ['--severity=info', script], { encoding: 'utf8' });
    expect(result.stdout + result.stderr).toBe('');
    expect(result.status).toBe(0);
  });

  it('prints a create command for every topic and subscription in a dry run, without gcloud', async () => {
    const { result } = await generated(file);
    const run = runScript(script, ['--dry-run']);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    for (const topic of result.pipeline?.topics ?? []) expect(run.stdout).toContain(`+ gcloud pubsub topics create ${topic.name} `);
    result.graph?.graph.forEachNode((_k, a) => {
      if (a.kind === 'subscription') expect(run.stdout).toMatch(new RegExp(`\\+ gcloud pubsub subscriptions create ${a.name.replace(/[.]/g, '\\.')} `));
    });
  });

  it('skips with a visible line, in emulator mode, every step the emulator cannot do', () => {
    const run = runScript(script, ['--dry-run'], { BATON_EMULATOR: '1' });
    expect(run.status).toBe(0);
    for (const step of [
      'service accounts',
      'IAM bindings',
      'Cloud Functions and Cloud Run deploys',
      'Cloud Scheduler jobs',
      'Firestore TTL policies',
      'Cloud Monitoring alert policies',
    ]) {
      expect(run.stdout).toContain(`SKIP (emulator): ${step}`);
    }
    expect(run.stdout).not.toMatch(/add-iam-policy-binding|functions deploy|scheduler jobs/);
  });
});

describe('deploy.sh, the same deployment as the Terraform', () => {
  it('ticks every barrier and the coordinator, sets OIDC env and internal ingress, grants DLQ publish, enables APIs (dry run)', async () => {
    const { result } = await generated(fixturePath('small/pipeline.yaml'));
    const script = await scriptFor(fixturePath('small/pipeline.yaml'), 'small-whole');
    const run = runScript(script, ['--dry-run']);
    expect(run.status).toBe(0);
    const lines = run.stdout.split('\n');
    const pipeline = result.pipeline;
    if (!pipeline) throw new Error('not loaded');
    for (const component of [...pipeline.barriers, ...pipeline.coordinators]) {
      const kind = pipeline.barriers.includes(component as never) ? 'barrier' : 'coordinator';
      const tick = lines.find((l) => l.startsWith('+ gcloud scheduler jobs create http') && l.includes(`\\"${kind}\\":\\"${component.name}\\"`));
      expect(tick, component.name).toBeDefined();
      expect(tick).toMatch(/--uri https:\/\/\S+\/tick --http-method POST --headers Content-Type=application\/json/);
      expect(tick).toMatch(/--oidc-token-audience https:\/\/\S+-PROJECT_NUMBER\.europe-west1\.run\.app/);
    }
    const deploys = lines.filter((l) => /^\+ gcloud (functions|run) deploy /.test(l));
    expect(deploys).toHaveLength(pipeline.barriers.length + pipeline.coordinators.length);
    for (const deploy of deploys) {
      expect(deploy).toMatch(/--ingress(-settings internal-only| internal)/);
      expect(deploy).toMatch(
        /BATON_OIDC_AUDIENCE=https:\/\/\S+-PROJECT_NUMBER\.europe-west1\.run\.app\\;BATON_OIDC_EMAIL=tiny-invoker@tiny-shop-prod\.iam\.gserviceaccount\.com/,
      );
    }
    expect(run.stdout).toMatch(
      /\+ gcloud pubsub topics add-iam-policy-binding tables-loaded-dlq .*--member serviceAccount:loaded@tiny-shop-prod\.iam\.gserviceaccount\.com --role roles\/pubsub\.publisher/,
    );
    expect(run.stdout).toMatch(
      /\+ gcloud services enable .*pubsub\.googleapis\.com .*cloudkms\.googleapis\.com|\+ gcloud services enable .*cloudkms\.googleapis\.com .*pubsub\.googleapis\.com/,
    );
  });
});

describe('deploy.sh with hostile descriptions', () => {
  it('passes quotes, $(), backticks and ${} through as text and runs none of them', async () => {
    const script = await scriptFor(fixturePath('hostile/pipeline.yaml'), 'hostile-run');
    const marker = join(dir, 'pwned');
    const run = runScript(script, ['--dry-run'], { HOME: dir });
    expect(run.status).toBe(0);
    for (const f of ['/tmp/baton-pwned-barrier', '/tmp/baton-pwned-barrier2', '/tmp/baton-pwned-processor', marker]) expect(existsSync(f)).toBe(false);
    // printf %q output, read back by bash, is exactly the description as written.
    const line = run.stdout.split('\n').find((l) => l.includes('service-accounts create all-work'));
    expect(line).toBeDefined();
    const words = execFileSync(
      'bash',
      ['-c', `set -- ${(line ?? '').slice(2)}; while [ $# -gt 0 ]; do if [ "$1" = --description ]; then printf '%s' "$2"; fi; shift; done`],
      {
        encoding: 'utf8',
      },
    );
    expect(words).toBe(
      'barrier "all" $(touch /tmp/baton-pwned-barrier) `touch /tmp/baton-pwned-barrier2` ${google_project.x.id} %{ for x in y }\nline two | pipe',
    );
  });

  it('rejects an unknown argument with exit code 2', async () => {
    const script = await scriptFor(fixturePath('small/pipeline.yaml'), 'small-args');
    expect(runScript(script, ['--bogus']).status).toBe(2);
  });
});

describe('deploy.sh run twice', () => {
  /** A fake gcloud that logs every call; `describe` succeeds, as it does once resources exist. */
  function fakeGcloud(): { bin: string; log: string } {
    const bin = join(dir, 'fake-bin');
    const log = join(dir, 'gcloud.log');
    mkdirSync(bin, { recursive: true });
    writeFileSync(
      join(bin, 'gcloud'),
      `#!/bin/bash\nprintf '%s\\n' "$*" >> ${JSON.stringify(log)}\n[[ " $* " == *" describe "* ]] && echo https://svc.example.invalid\nexit 0\n`,
      { mode: 0o755 },
    );
    writeFileSync(log, '');
    return { bin, log };
  }

  it('updates what exists instead of creating it again', async () => {
    const script = await scriptFor(fixturePath('small/pipeline.yaml'), 'small-rerun');
    const { bin, log } = fakeGcloud();
    const run = runScript(script, [], { PATH: `${bin}:/usr/bin:/bin`, BATON_EMULATOR: '1' });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const calls = readFileSync(log, 'utf8');
    expect(calls).not.toMatch(/^pubsub (topics|subscriptions) create/m);
    expect(calls).toMatch(/^pubsub subscriptions update loaded--tables-loaded .*--dead-letter-topic tables-loaded-dlq/m);
    expect(run.stdout).toContain('ok: topic rollup-trigger exists');
  });

  it("sets a topic's customer-managed key again on a real project, instead of creating the topic", async () => {
    const script = await scriptFor(fixturePath('small/pipeline.yaml'), 'small-rerun-kms');
    const { bin, log } = fakeGcloud();
    const source = join(dir, 'package-kms');
    mkdirSync(source, { recursive: true });
    writeFileSync(join(source, 'package.json'), '{}');
    const run = runScript(script, ['--project', 'p', '--region', 'r'], { PATH: `${bin}:/usr/bin:/bin`, BATON_COORDINATOR_IMAGE: 'img', BATON_SOURCE: source });
    expect(run.status).toBe(0);
    const calls = readFileSync(log, 'utf8');
    expect(calls).toMatch(
      /^kms keys add-iam-policy-binding projects\/tiny-shop-prod\/locations\/europe-west1\/keyRings\/shop\/cryptoKeys\/orders .*--role roles\/cloudkms.cryptoKeyEncrypterDecrypter/m,
    );
    expect(calls).toMatch(
      /^pubsub topics update orders-landed .*--topic-encryption-key projects\/tiny-shop-prod\/locations\/europe-west1\/keyRings\/shop\/cryptoKeys\/orders/m,
    );
  });

  it('never updates expiration_policy on the emulator, which refuses it (bug: the second run failed on `subscriptions update`)', async () => {
    const script = await scriptFor(fixturePath('small/pipeline.yaml'), 'small-rerun-emulator');
    const { bin, log } = fakeGcloud();
    expect(runScript(script, [], { PATH: `${bin}:/usr/bin:/bin`, BATON_EMULATOR: '1' }).status).toBe(0);
    const updates = readFileSync(log, 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('pubsub subscriptions update'));
    expect(updates.length).toBeGreaterThan(0);
    for (const update of updates) expect(update).not.toContain('--expiration-period');
    // Against a real project the update keeps subscriptions from expiring.
    const real = await scriptFor(fixturePath('small/pipeline.yaml'), 'small-rerun-real');
    const fake = fakeGcloud();
    const source = join(dir, 'package');
    mkdirSync(source, { recursive: true });
    writeFileSync(join(source, 'package.json'), '{}');
    const rerun = runScript(real, ['--project', 'p', '--region', 'r'], {
      PATH: `${fake.bin}:/usr/bin:/bin`,
      BATON_COORDINATOR_IMAGE: 'img',
      BATON_SOURCE: source,
    });
    expect(rerun.stderr).toBe('');
    expect(rerun.status).toBe(0);
    const { log: realLog } = fake;
    expect(readFileSync(realLog, 'utf8')).toMatch(/^pubsub subscriptions update .*--expiration-period never/m);
  });
});
