import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../helpers/run-cli.ts';

// #23: the wrong code ran on a service. Every trigger a barrier or coordinator decides carries the hash
// of the pipeline it ran, and `baton status` says when the file on disk is no longer that pipeline.

const pipelineFile = new URL('../../../pipeline.yaml', import.meta.url).pathname;

interface StatusJson {
  pipelineHash: string;
  run: { pipelineHash: string } | null;
  keys: {
    barriers: { barrier: string; status?: { trigger?: { message: { data: string } } } }[];
    batches: { coordinator: string; progress?: { state: { completion?: { message: { data: string } } } } }[];
  }[];
}

describe('baton status after the pipeline file was edited (#23)', () => {
  it("shows the run's pipeline hash beside the edited file's, and every trigger, the coordinator's too, keeps the hash it ran with", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'baton-hash-'));
    const file = join(dir, 'pipeline.yaml');
    const state = join(dir, 'state');
    writeFileSync(file, readFileSync(pipelineFile, 'utf8'));
    const ran = await runCli('run', '-f', file, '--json', '--start', '2026-11-28T12:00:00Z', '--key', '2025-11-29', '--state-dir', state);
    expect(ran.code).toBe(0);
    const before = JSON.parse((await runCli('status', '-f', file, '--json', '--state-dir', state)).stdout) as StatusJson;
    expect(before.run?.pipelineHash).toBe(before.pipelineHash);
    expect((await runCli('status', '-f', file, '--state-dir', state)).stdout).not.toContain('run began with hash');

    const original = readFileSync(file, 'utf8');
    const edited = original.replace('then predict per player.', 'then predict per player (edited).');
    expect(edited).not.toBe(original);
    writeFileSync(file, edited);

    const text = await runCli('status', '-f', file, '--state-dir', state);
    expect(text.code).toBe(0);
    const after = JSON.parse((await runCli('status', '-f', file, '--json', '--state-dir', state)).stdout) as StatusJson;
    const ranWith = before.pipelineHash;
    expect(after.pipelineHash).not.toBe(ranWith);
    expect(after.run?.pipelineHash).toBe(ranWith);
    expect(text.stdout).toContain(`pipeline hash ${after.pipelineHash} (run began with hash ${ranWith}; ${file} is now ${after.pipelineHash})`);

    const [key] = after.keys;
    const stamped = [
      ...(key?.barriers ?? []).map((b) => [b.barrier, b.status?.trigger?.message.data] as const),
      ...(key?.batches ?? []).map((b) => [b.coordinator, b.progress?.state.completion?.message.data] as const),
    ];
    expect(stamped.map(([name]) => name)).toContain('prediction-coordinator');
    for (const [name, data] of stamped) {
      expect(JSON.parse(data ?? '{}'), name).toMatchObject({ pipeline_hash: ranWith });
    }
  });
});
