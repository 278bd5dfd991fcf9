import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../../../engine/config/package-root.ts';
import { freePort } from '../../../engine/adapters/free-port.ts';
import { waitForOutput } from '../../helpers/wait-for-output.ts';

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
    const listening = waitForOutput(child, 'entry.listening');
    try {
      await listening;
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

  it('answers 503 with one structured ERROR line when credentials cannot load, and stays up (bug: it died on its first request with an unhandled rejection from the Firestore client)', async () => {
    const root = packageRoot();
    const port = await freePort();
    const env: Record<string, string | undefined> = {
      ...process.env,
      BATON_BARRIER: 'ingest-done',
      BATON_PIPELINE: 'test/fixtures/entry/deadline.yaml',
      GOOGLE_CLOUD_PROJECT: 'demo',
      // Credentials that cannot load, fast and deterministically (no metadata server lookup).
      GOOGLE_APPLICATION_CREDENTIALS: join(root, 'test/fixtures/entry/no-such-credentials.json'),
      PORT: String(port),
      BATON_HOST: '127.0.0.1',
    };
    delete env.PUBSUB_EMULATOR_HOST;
    delete env.FIRESTORE_EMULATOR_HOST;
    const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'engine/entry/serve.ts')], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    const listening = waitForOutput(child, 'entry.listening');
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    let exited = false;
    child.once('exit', () => (exited = true));
    try {
      await listening;
      const push = { message: { data: Buffer.from('{}').toString('base64'), messageId: '1', attributes: {} }, subscription: 'projects/demo/subscriptions/s' };
      for (let i = 0; i < 2; i++) {
        const response = await fetch(`http://127.0.0.1:${port}/`, {
          method: 'POST',
          body: JSON.stringify(push),
          headers: { 'content-type': 'application/json' },
        });
        expect(response.status).toBe(503);
        expect(await response.json()).toMatchObject({ status: 'retry', error: expect.stringContaining('cannot load Google credentials') as unknown });
      }
      // An unhandled rejection would have ended the process before it could answer this.
      expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
      expect(exited, `serve exited: ${stderr}`).toBe(false);
      const lines = stdout
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as Record<string, unknown>);
      const errors = lines.filter((l) => l.severity === 'ERROR');
      expect(errors.map((l) => l.baton_event)).toEqual(['entry.backend_unavailable', 'entry.backend_unavailable']);
      expect(stderr).not.toMatch(/\n\s+at /);
    } finally {
      child.kill('SIGTERM');
    }
    await once(child, 'exit');
  });

  it('refuses to start with an OIDC audience but no invoker email, saying how to fix it', async () => {
    const root = packageRoot();
    const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'engine/entry/serve.ts')], {
      cwd: root,
      env: {
        ...process.env,
        BATON_BARRIER: 'ingest-done',
        BATON_PIPELINE: 'test/fixtures/entry/deadline.yaml',
        GOOGLE_CLOUD_PROJECT: 'demo',
        BATON_OIDC_AUDIENCE: 'https://ingest-done-123.europe-west1.run.app',
        PORT: String(await freePort()),
        BATON_HOST: '127.0.0.1',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const [code] = (await once(child, 'exit')) as [number | null];
    expect(code).toBe(1);
    const line = JSON.parse(stderr.trim()) as { severity: string; message: string };
    expect(line.severity).toBe('CRITICAL');
    expect(line.message).toContain('BATON_OIDC_AUDIENCE is set but BATON_OIDC_EMAIL is not');
    expect(line.message).toContain('BATON_OIDC_ALLOW_ANY_EMAIL=true');
  });
});
