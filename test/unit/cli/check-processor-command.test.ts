import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli as run } from '../../helpers/run-cli.ts';

describe('baton check-processor (usage)', () => {
  let saved: string | undefined;
  beforeEach(() => {
    saved = process.env.PUBSUB_EMULATOR_HOST;
    delete process.env.PUBSUB_EMULATOR_HOST;
  });
  afterEach(() => {
    if (saved !== undefined) process.env.PUBSUB_EMULATOR_HOST = saved;
  });

  it('exits 2 and says how to get an emulator when neither --pubsub-emulator nor PUBSUB_EMULATOR_HOST is set', async () => {
    const { code, stdout, stderr } = await run('check-processor', 'bdl_injuries', '--url', 'http://127.0.0.1:1/');
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toBe(
      'baton check-processor: no Pub/Sub emulator: pass --pubsub-emulator HOST:PORT or set PUBSUB_EMULATOR_HOST (start one with `gcloud beta emulators pubsub start`)\n',
    );
  });

  it('exits 2 with a did-you-mean for a processor the pipeline does not have', async () => {
    const { code, stderr } = await run('check-processor', 'bdl_injury', '--url', 'http://127.0.0.1:1/', '--pubsub-emulator', '127.0.0.1:1');
    expect(code).toBe(2);
    expect(stderr).toBe('baton check-processor: no processor "bdl_injury" in pipeline.yaml; did you mean "bdl_injuries"?\n');
  });

  it('exits 2 without --url', async () => {
    const { code, stderr } = await run('check-processor', 'bdl_injuries');
    expect(code).toBe(2);
    expect(stderr).toContain("required option '--url <url>' not specified");
  });

  it('exits 2 for a --url that is not http(s)', async () => {
    const { code, stderr } = await run('check-processor', 'bdl_injuries', '--url', '127.0.0.1:8080', '--pubsub-emulator', '127.0.0.1:1');
    expect(code).toBe(2);
    expect(stderr).toBe('baton check-processor: --url must be an http(s) URL, got "127.0.0.1:8080"\n');
  });

  it('exits 1 with the diagnostics when the pipeline file is invalid', async () => {
    const file = new URL('../../fixtures/invalid/unknown-topic.yaml', import.meta.url).pathname;
    const { code, stderr } = await run('check-processor', 'x', '--url', 'http://127.0.0.1:1/', '-f', file);
    expect(code).toBe(1);
    expect(stderr).toContain('[graph/unknown-topic]');
    expect(stderr).toContain('nothing was checked');
  });
});
