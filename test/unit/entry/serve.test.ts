import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../../../engine/config/package-root.ts';

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
}

describe('serve (the container entry point)', () => {
  it('listens on $PORT, answers /healthz, logs JSON lines with the pipeline hash, and exits on SIGTERM', async () => {
    const root = packageRoot();
    const port = await freePort();
    const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'engine/entry/serve.ts')], {
      cwd: root,
      env: {
        ...process.env,
        BATON_BARRIER: 'ingest-done',
        BATON_PIPELINE: 'test/fixtures/entry/deadline.yaml',
        GOOGLE_CLOUD_PROJECT: 'demo',
        PORT: String(port),
        BATON_HOST: '127.0.0.1',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    try {
      for (let i = 0; i < 100 && !stdout.includes('entry.listening'); i++) await new Promise((resolve) => setTimeout(resolve, 100));
      const response = await fetch(`http://127.0.0.1:${port}/healthz`);
      expect(await response.json()).toMatchObject({ status: 'ok', barrier: 'ingest-done', pipeline_hash: expect.stringMatching(/^[0-9a-f]{12}$/) as unknown });
      const lines = stdout
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as Record<string, unknown>);
      expect(lines.map((l) => l.baton_event)).toEqual(['entry.started', 'entry.listening']);
      for (const line of lines) expect(line).toHaveProperty('pipeline_hash');
    } finally {
      child.kill('SIGTERM');
    }
    const [code] = (await once(child, 'exit')) as [number | null];
    expect(code).toBe(0);
  });
});
