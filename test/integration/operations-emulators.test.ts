import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EmulatorCapture } from '../../engine/adapters/gcp/emulator-capture.ts';
import { loadPipeline } from '../../engine/config/load-pipeline.ts';
import { rehearse, type StoodUpDeployment } from '../../engine/rehearsal/rehearse.ts';
import type { TriggerData } from '../../engine/runtime/envelope.ts';
import { openGcpBackend } from '../../engine/adapters/gcp/index.ts';
import { runCli } from '../helpers/run-cli.ts';
import { waitForOutput } from '../helpers/wait-for-output.ts';
import { EMULATORS_AVAILABLE, freshProjectId, useEmulators } from './emulator-harness.ts';

const root = new URL('../../', import.meta.url).pathname;
const bin = join(root, 'bin/baton.js');
const SHOP = join(root, 'test/fixtures/rehearsal/stall-shop.yaml');
const KEYS = ['2025-11-01', '2025-11-02', '2025-11-03'];
/** Every topic a barrier or the coordinator publishes its trigger (or batch completion) on. */
const TRIGGER_TOPICS = ['rollup-trigger', 'rollup-complete', 'reports-complete'];

/** `baton backfill` as its own process against the deployment, as an operator runs it. */
function backfill(deployment: StoodUpDeployment, journal: string, extra: readonly string[] = []) {
  const args = [bin, 'backfill', '-f', SHOP, '--backend', 'gcp', '--project', deployment.projectId, '--from', KEYS[0] ?? '', '--to', KEYS.at(-1) ?? ''];
  const child = spawn(
    process.execPath,
    [...args, '--entry-url', deployment.processorUrl('exporter') ?? '', '--max-in-flight', '1', '--rate', '20/s', '--journal', journal, ...extra],
    {
      env: { ...process.env, PUBSUB_EMULATOR_HOST: deployment.pubsubHost, FIRESTORE_EMULATOR_HOST: deployment.firestoreHost },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  return { child, exited, stderr: () => stderr };
}

describe.skipIf(!EMULATORS_AVAILABLE)('day-2 operations on the emulators: status --stuck, backfill', () => {
  const emulators = useEmulators();

  it('reports a trigger decided but never published with exit 3 and the tick to run, and baton tick clears it', async () => {
    // load_orders always fails: every loader reports, two count, and `loaded` (all, no deadline) can never fire.
    const file = join(mkdtempSync(join(tmpdir(), 'baton-stuck-gcp-')), 'stall-shop.yaml');
    writeFileSync(file, readFileSync(SHOP, 'utf8').replace('  processors:\n    #', '  processors:\n    load_orders: { failure_rate: 1 }\n    #'));
    const project = freshProjectId('stuck');
    const at = ['-f', file, '--backend', 'gcp', '--project', project];
    await runCli('run', ...at, '--key', KEYS[0] ?? '');

    const unreachable = await runCli('status', ...at, '--stuck');
    expect(unreachable.code, unreachable.stderr).toBe(3);
    expect(unreachable.stdout).toContain('loaded (unreachable');
    expect(unreachable.stdout).toContain(`rerun load_orders for ${KEYS[0]}`);

    // A barrier instance that decided the trigger and died before publishing it, two minutes ago.
    const gcp = openGcpBackend({ projectId: project });
    const store = gcp.store;
    const now = await store.now();
    await store.decideTrigger('loaded', KEYS[0] ?? '', {
      fires: () => true,
      draft: () => ({
        topic: 'rollup-trigger',
        message: { id: 'decided-then-crashed', attributes: {}, data: JSON.stringify({ key: KEYS[0], emitter: 'loaded', reason: 'all_complete' }) },
        reason: 'all_complete',
        decidedAt: now - 120_000,
      }),
    });
    await gcp.close();

    const unpublished = await runCli('status', ...at, '--stuck');
    expect(unpublished.code).toBe(3);
    expect(unpublished.stdout).toContain(`${KEYS[0]} loaded (unpublished, for 2m`);
    expect(unpublished.stdout).toContain('its trigger (all_complete) was decided but never published');
    expect(unpublished.stdout).toContain(`run: npx baton tick -f ${file} --backend gcp --project ${project}`);

    const tick = await runCli('tick', ...at);
    expect(tick.stdout).toContain(`published loaded for ${KEYS[0]}: re-published by tick`);
    const clear = await runCli('status', ...at, '--stuck');
    expect(clear).toMatchObject({ code: 0, stdout: 'nothing stuck: 1 key checked\n' });
  }, 120_000);

  it('killed after its first key and run again, finishes every key with exactly one trigger per barrier × key', async () => {
    const result = loadPipeline(SHOP);
    if (!result.pipeline || result.hash === undefined) throw new Error('stall-shop.yaml did not load');
    const journal = join(mkdtempSync(join(tmpdir(), 'baton-backfill-')), 'journal.jsonl');
    let outputs = '';
    let resumedCode: number | null = -1;
    const triggers = new Map<string, number>();
    let stuck: Awaited<ReturnType<typeof runCli>> | undefined;
    let dryPlan: { dryRun: boolean; phase: string; keys: { key: string; skip: boolean; messages: unknown[] }[] } | undefined;

    const rehearsal = await rehearse({
      loaded: { ...result, pipeline: result.pipeline, hash: result.hash },
      keys: [],
      speed: 60,
      seed: result.pipeline.simulation.seed,
      start: Date.now(),
      timeoutMs: 60_000,
      emulators: emulators(),
      projectId: freshProjectId('backfill'),
      hold: async (deployment) => {
        const capture = new EmulatorCapture(deployment.pubsubHost, deployment.projectId, 'backfill-test');
        await capture.listen(TRIGGER_TOPICS);

        const first = backfill(deployment, journal);
        outputs += await waitForOutput(first.child, `sent ${KEYS[0]}`);
        first.child.kill('SIGKILL');
        await first.exited;

        const again = backfill(deployment, journal);
        again.child.stdout.on('data', (chunk: Buffer) => (outputs += chunk.toString()));
        resumedCode = await again.exited;
        outputs += again.stderr();

        // The deployment's state came from its own components, not from a baton run: --stuck checks it all the same.
        stuck = await runCli('status', '-f', SHOP, '--backend', 'gcp', '--project', deployment.projectId, '--stuck');

        const dry = backfill(deployment, journal, ['--dry-run', '--json']);
        let plan = '';
        dry.child.stdout.on('data', (chunk: Buffer) => (plan += chunk.toString()));
        expect(await dry.exited, dry.stderr()).toBe(0);
        dryPlan = JSON.parse(plan) as typeof dryPlan;

        for (const message of await capture.pullAll(TRIGGER_TOPICS)) {
          const data = JSON.parse(message.data) as TriggerData;
          const id = `${data.emitter} ${data.key}`;
          triggers.set(id, (triggers.get(id) ?? 0) + 1);
        }
      },
    });

    expect(rehearsal.denials).toEqual([]);
    expect(resumedCode, outputs).toBe(0);
    expect(outputs).toContain(`resuming ${journal}: 0 done, 1 sent and not finished, 2 to send`);
    expect(outputs).toContain(`backfill ${KEYS[0]}..${KEYS.at(-1)} from phase extract: 3 key(s), 3 finished, 0 skipped`);
    expect(stuck).toMatchObject({ code: 0, stdout: 'nothing stuck: 3 keys checked\n' });
    // Run again once all is done, dry: every key is finished, so nothing would be sent.
    expect(dryPlan).toEqual({ dryRun: true, phase: 'extract', keys: KEYS.map((key) => ({ key, skip: true, messages: [] })) });
    const expected = KEYS.flatMap((key) => ['loaded', 'store_rank-dependencies', 'rolled-up', 'report-coordinator'].map((emitter) => `${emitter} ${key}`));
    expect(Object.fromEntries(triggers)).toEqual(Object.fromEntries(expected.map((id) => [id, 1])));
  }, 240_000);
});
