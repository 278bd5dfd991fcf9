import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadPipeline } from '../../../engine/config/load-pipeline.ts';
import { packageRoot } from '../../../engine/config/package-root.ts';
import { runCli } from '../../helpers/run-cli.ts';
import { waitForOutput } from '../../helpers/wait-for-output.ts';
import { freePort } from '../../../engine/adapters/free-port.ts';

describe('baton package', () => {
  it('builds one self-contained package that serves the bundled pipeline, hash and all', async () => {
    const root = packageRoot();
    const out = join(mkdtempSync(join(tmpdir(), 'baton-package-')), 'functions');
    const { code, stdout } = await runCli('package', join(root, 'pipeline.yaml'), '--out', out);
    expect(code).toBe(0);
    expect(stdout).toContain(`into ${out}/`);
    for (const file of ['index.js', 'package.json', 'pipeline.yaml', 'schemas/pipeline.schema.json', 'schemas/envelope.schema.json'])
      expect(existsSync(join(out, file)), file).toBe(true);
    const manifest = JSON.parse(readFileSync(join(out, 'package.json'), 'utf8')) as { main: string; dependencies: Record<string, string> };
    expect(manifest.main).toBe('index.js');
    expect(Object.keys(manifest.dependencies)).toContain('@google-cloud/firestore');
    expect(Object.keys(manifest.dependencies)).toContain('@google-cloud/functions-framework');
    // The shipped schemas are in it compiled to code (the message only the generated module has), so a cold start compiles none.
    expect(readFileSync(join(out, 'index.js'), 'utf8')).toContain('no precompiled validator for schema');

    // Run the package as deployed (its dependencies installed beside it) and ask it which pipeline it holds.
    symlinkSync(join(root, 'node_modules'), join(out, 'node_modules'));
    const port = await freePort();
    const child = spawn(process.execPath, ['-e', "import('./index.js').then((m) => m.serve(process.env))"], {
      cwd: out,
      env: { ...process.env, BATON_BARRIER: 'phase2-to-phase3', GOOGLE_CLOUD_PROJECT: 'demo', PORT: String(port), BATON_HOST: '127.0.0.1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let logs = '';
    child.stdout.on('data', (chunk: Buffer) => (logs += chunk.toString()));
    const listening = waitForOutput(child, 'entry.listening');
    try {
      await listening;
      const health = (await (await fetch(`http://127.0.0.1:${port}/healthz`)).json()) as { pipeline_hash: string; barrier: string };
      expect(health.barrier).toBe('phase2-to-phase3');
      expect(health.pipeline_hash).toBe(loadPipeline(join(root, 'pipeline.yaml')).hash);
    } finally {
      child.kill('SIGTERM');
    }
    await once(child, 'exit');
  });

  it('zips the package deterministically and prints the exact next steps; an edited pipeline gets a new object name (bug: always baton-functions.zip, so nothing rolled out)', async () => {
    const root = packageRoot();
    const dir = mkdtempSync(join(tmpdir(), 'baton-package-'));
    const md5Of = (stdout: string): string => /md5 ([0-9a-f]{32})/.exec(stdout)?.[1] ?? '';
    const first = await runCli('package', join(root, 'pipeline.yaml'), '--out', join(dir, 'a', 'functions'));
    const again = await runCli('package', join(root, 'pipeline.yaml'), '--out', join(dir, 'b', 'functions'));
    expect(first.code).toBe(0);
    expect(md5Of(first.stdout)).toMatch(/^[0-9a-f]{32}$/);
    expect(md5Of(again.stdout)).toBe(md5Of(first.stdout));
    const zip = join(dir, 'a', 'baton-functions.zip');
    expect(createHash('md5').update(readFileSync(zip)).digest('hex')).toBe(md5Of(first.stdout));
    expect(first.stdout).toContain(`Terraform uploads it as baton-functions-${md5Of(first.stdout)}.zip`);
    expect(first.stdout).toContain(`terraform -chdir=generated/terraform apply -var baton_package_zip=${zip} -var baton_coordinator_image=`);
    expect(first.stdout).toContain(`gcloud builds submit ${join(dir, 'a', 'functions')} --pack image=`);

    const edited = join(dir, 'pipeline.yaml');
    writeFileSync(
      edited,
      readFileSync(join(root, 'pipeline.yaml'), 'utf8').replace(
        '      - nbac_gamebook_player_stats\n',
        '      - nbac_gamebook_player_stats\n      - nbac_box_score_v3\n',
      ),
    );
    const changed = await runCli('package', edited, '--out', join(dir, 'c', 'functions'));
    expect(changed.code).toBe(0);
    expect(md5Of(changed.stdout)).not.toBe(md5Of(first.stdout));
  });

  it('runs from the bundle under the real functions-framework with the CloudEvent signature', async () => {
    const root = packageRoot();
    const out = join(mkdtempSync(join(tmpdir(), 'baton-package-')), 'functions');
    expect((await runCli('package', join(root, 'pipeline.yaml'), '--out', out)).code).toBe(0);
    symlinkSync(join(root, 'node_modules'), join(out, 'node_modules'));
    const port = await freePort();
    const framework = join(root, 'node_modules', '@google-cloud', 'functions-framework', 'build', 'src', 'main.js');
    const child = spawn(process.execPath, [framework, '--target=batonBarrier', '--signature-type=cloudevent', `--port=${port}`, `--source=${out}`], {
      cwd: out,
      env: { ...process.env, BATON_BARRIER: 'phase2-to-phase3', BATON_PIPELINE: 'nba-props', GOOGLE_CLOUD_PROJECT: 'demo' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      let response: Response | undefined;
      for (let i = 0; i < 100 && response === undefined; i++) {
        response = await fetch(`http://127.0.0.1:${port}/`, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'ce-id': '1',
            'ce-specversion': '1.0',
            'ce-type': 'google.cloud.pubsub.topic.v1.messagePublished',
            'ce-source': '//pubsub',
          },
          body: JSON.stringify({ not: 'a pubsub message' }),
          signal: AbortSignal.timeout(5_000),
        }).catch(async (error: unknown) => {
          if (error instanceof Error && error.name === 'TimeoutError') throw error;
          await new Promise((resolve) => setTimeout(resolve, 100));
          return undefined;
        });
      }
      // Not a Pub/Sub message: acked without touching the backend. Before the fix the request hung.
      expect(response?.status).toBeGreaterThanOrEqual(200);
      expect(response?.status).toBeLessThan(300);
    } finally {
      child.kill('SIGTERM');
    }
    await once(child, 'exit');
  });

  it('packages nothing from an invalid pipeline', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'baton-package-')), 'functions');
    const { code, stderr } = await runCli('package', new URL('../../fixtures/invalid/unknown-topic.yaml', import.meta.url).pathname, '--out', out);
    expect(code).toBe(1);
    expect(stderr).toContain('nothing packaged: fix the pipeline first');
    expect(existsSync(out)).toBe(false);
  });
});
