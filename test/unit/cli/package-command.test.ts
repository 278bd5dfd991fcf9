import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, symlinkSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadPipeline } from '../../../engine/config/load-pipeline.ts';
import { packageRoot } from '../../../engine/config/package-root.ts';
import { runCli } from '../../helpers/run-cli.ts';

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
}

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
    try {
      for (let i = 0; i < 100 && !logs.includes('entry.listening'); i++) await new Promise((resolve) => setTimeout(resolve, 100));
      const health = (await (await fetch(`http://127.0.0.1:${port}/healthz`)).json()) as { pipeline_hash: string; barrier: string };
      expect(health.barrier).toBe('phase2-to-phase3');
      expect(health.pipeline_hash).toBe(loadPipeline(join(root, 'pipeline.yaml')).hash);
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
