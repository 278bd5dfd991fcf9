import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadPipeline } from '../../engine/config/load-pipeline.ts';
import type { DeployModel } from '../../generators/deploy-model.ts';
import { rehearse, type RehearsalOptions, type RehearsalResult } from '../../engine/rehearsal/rehearse.ts';
import { runCli } from '../helpers/run-cli.ts';
import { EMULATORS_AVAILABLE, freshProjectId, useEmulators } from './emulator-harness.ts';

const KEY = '2025-11-29';
const START = '2025-11-30T06:00:00Z';
const root = new URL('../../', import.meta.url).pathname;
const STALL_SHOP = join(root, 'test/fixtures/rehearsal/stall-shop.yaml');

function loaded(file: string): RehearsalOptions['loaded'] {
  const result = loadPipeline(file);
  if (!result.pipeline || result.hash === undefined) throw new Error(`${file} did not load`);
  return { ...result, pipeline: result.pipeline, hash: result.hash };
}

const triggersOf = (report: { triggers: readonly { key: string; emitter: string; reason: string; detail: string }[] }): string[] =>
  report.triggers.map((t) => `${t.key} ${t.emitter} ${t.reason} ${t.detail}`).sort();

/** The writer of store 4 takes its request and never reports: the batch sits at 3 of 4. */
const silent = (processor: string, message: { data: string }): boolean =>
  processor === 'report_writer' && (JSON.parse(message.data) as { entity_id?: unknown }).entity_id === 4;

describe.skipIf(!EMULATORS_AVAILABLE)('baton rehearse: the generated deployment, run on the emulators', () => {
  const emulators = useEmulators();
  // The rehearsal's own progress lines, so a failed expectation says what the run was doing.
  let progress: string[] = [];
  const run = (file: string, label: string, extra: Partial<RehearsalOptions> = {}): Promise<RehearsalResult> => {
    const pipeline = loaded(file);
    progress = [];
    return rehearse({
      onProgress: (line) => progress.push(line),
      loaded: pipeline,
      keys: [KEY],
      speed: 60,
      seed: pipeline.pipeline.simulation.seed,
      start: Date.parse(START),
      timeoutMs: 180_000,
      emulators: emulators(),
      projectId: freshProjectId(label),
      ...extra,
    });
  };

  it('runs an NBA day through push delivery, functions-framework, the coordinator process and the IAM guard, deciding the same triggers as baton run', async () => {
    const result = await run(join(root, 'pipeline.yaml'), 'nba');
    expect(result.denials).toEqual([]);
    expect(result.end, progress.join('\n')).toBe('finished');
    expect(result.report.finishedKeys).toBe(1);

    const embedded = await runCli('run', '--key', KEY, '--start', START, '--json', '--state-dir', mkdtempSync(join(tmpdir(), 'baton-rehearse-cmp-')));
    expect(embedded.code, embedded.stderr).toBe(0);
    const onSqlite = JSON.parse(embedded.stdout) as { triggers: { key: string; emitter: string; reason: string; detail: string }[] };
    expect(triggersOf(result.report)).toEqual(triggersOf(onSqlite));
    expect(result.report.triggers).toHaveLength(6);

    // Every component was reached the way a deployment reaches it.
    const byName = new Map(result.components.map((c) => [c.component, c]));
    expect(byName.get('phase2-to-phase3')?.deliveries.acks).toBeGreaterThanOrEqual(21);
    expect(byName.get('prediction-coordinator')?.deliveries.ticks).toBeGreaterThan(0);
    expect(byName.get('prediction_worker')?.deliveries.acks).toBe(4);
    // Dependency triggers reach only the processor they address: the rendered filter, applied.
    expect(byName.get('player_composite_factors')?.deliveries).toMatchObject({ acks: 1, filtered: 2 });
    expect(result.deadLetters).toEqual([]);
  }, 270_000);

  it('fails and names the missing binding when the rendered IAM lacks one grant', async () => {
    const withoutGrant = (model: DeployModel): DeployModel => ({
      ...model,
      serviceAccounts: model.serviceAccounts.map((a) =>
        a.component === 'load_orders' ? { ...a, publishes: a.publishes.filter((t) => t !== 'tables-loaded') } : a,
      ),
    });
    const result = await run(STALL_SHOP, 'iam', { adjustModel: withoutGrant });
    expect(result.end).toBe('denied');
    expect(result.denials[0]).toMatchObject({
      identity: 'load-orders',
      call: 'publish to tables-loaded',
      missing: 'roles/pubsub.publisher on topic tables-loaded for serviceAccount:load-orders',
    });
    expect(result.components.find((c) => c.component === 'load_orders')?.denied).toBeGreaterThan(0);
  }, 240_000);

  it("dead-letters a poison message with its reason through the barrier's own dead-letter grant, and is denied without it", async () => {
    const poison = [{ topic: 'tables-loaded', data: '{"completion_pct": 100}', attributes: { 'ce-id': 'poison-1', 'ce-subject': KEY } }];
    const result = await run(STALL_SHOP, 'poison', { inject: poison });
    expect(result.denials).toEqual([]);
    expect(result.end, progress.join('\n')).toBe('finished');
    expect(result.deadLetters).toEqual([expect.objectContaining({ deadLetterTopic: 'tables-loaded-dlq', id: 'poison-1', key: KEY })]);
    expect(result.deadLetters[0]?.reason).not.toMatch(/^exhausted/);
    expect(result.components.find((c) => c.component === 'loaded')?.deadLettered).toBe(1);

    const withoutDeadLetterGrant = (model: DeployModel): DeployModel => ({
      ...model,
      serviceAccounts: model.serviceAccounts.map((a) => (a.component === 'loaded' ? { ...a, deadLetterPublishes: [] } : a)),
    });
    const denied = await run(STALL_SHOP, 'poison-denied', { inject: poison, adjustModel: withoutDeadLetterGrant });
    expect(denied.end).toBe('denied');
    expect(denied.denials[0]).toMatchObject({ identity: 'loaded', missing: 'roles/pubsub.publisher on topic tables-loaded-dlq for serviceAccount:loaded' });
  }, 240_000);

  it('completes a stuck coordinator batch by its stall policy, driven only by the rendered scheduler job', async () => {
    const stuck = await run(STALL_SHOP, 'stall', { silent });
    expect(stuck.end, progress.join('\n')).toBe('finished');
    expect(stuck.report.triggers.find((t) => t.emitter === 'report-coordinator')).toMatchObject({ reason: 'stalled', detail: '3/4' });
    expect(stuck.components.find((c) => c.component === 'report-coordinator')?.deliveries.ticks).toBeGreaterThan(0);
  }, 240_000);

  it('leaves the same stuck batch stuck when the coordinator has no scheduler job (the fault the rendered tick fixes)', async () => {
    // The rendered job removed: the barriers still tick, nothing ticks the coordinator.
    const withoutTick = (model: DeployModel): DeployModel => ({
      ...model,
      coordinators: model.coordinators.map((c) => ({ ...c, tick: undefined as unknown as DeployModel['coordinators'][number]['tick'] })),
    });
    const result = await run(STALL_SHOP, 'notick', { silent, adjustModel: withoutTick, timeoutMs: 20_000 });
    expect(result.end).toBe('timeout');
    expect(result.report.finishedKeys).toBe(0);
    expect(result.report.triggers.find((t) => t.emitter === 'report-coordinator')).toBeUndefined();
  }, 240_000);
});
