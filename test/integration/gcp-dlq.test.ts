import { describe, expect, it } from 'vitest';
import { openStoredRun } from '../../engine/cli/stored-run.ts';
import { subscriptionName } from '../../engine/graph/pipeline-graph.ts';
import { loadPipeline } from '../../engine/config/load-pipeline.ts';
import type { ResolvedPipeline } from '../../engine/config/resolved-pipeline.ts';
import { SystemClock } from '../../engine/runtime/system-clock.ts';
import { completion } from '../contract/fixtures.ts';
import { runCli } from '../helpers/run-cli.ts';
import { EMULATORS_AVAILABLE, freshProjectId, useEmulators } from './emulator-harness.ts';

// Issue 12 on the emulators: the pull path (a `baton run --backend gcp` project: Baton's bus records
// the dead letter in Firestore) and the push path (Pub/Sub's dead-letter policy forwards to
// <topic>-dlq, held by the rendered baton-hold--<topic>-dlq subscription, no Firestore record).

const FILE = new URL('../fixtures/valid/minimal.yaml', import.meta.url).pathname;
const pipeline = loadPipeline(FILE).pipeline as ResolvedPipeline;
const BARRIER_SUB = subscriptionName('ingest-done', 'ingest-complete');
const HOLD = 'baton-hold--ingest-complete-dlq';

/** Polls `done` until it holds or `ms` pass: Pub/Sub delivers in its own time. */
async function eventually(done: () => Promise<boolean>, ms = 20_000): Promise<void> {
  const until = Date.now() + ms;
  while (!(await done())) {
    if (Date.now() > until) throw new Error('timed out waiting for the emulator');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

interface Listed {
  deadLetters: { id: string; messageId: string; key: string; consumer: string; reason: string; path: string; redrive: { result: string } | null }[];
}

describe.skipIf(!EMULATORS_AVAILABLE)('baton dlq on the Pub/Sub and Firestore emulators', () => {
  useEmulators();

  it('lists pull- and push-path dead letters once each, redrives a poisoned completion to a fired barrier, and a second redrive delivers nothing', async () => {
    const project = freshProjectId('dlq');
    const gcp = ['-f', FILE, '--backend', 'gcp', '--project', project];
    const first = await runCli('run', ...gcp, '--key', '2025-11-27', '--start', '2026-11-28T12:00:00Z');
    expect(first.code, first.stderr).toBe(0);

    const run = await openStoredRun(pipeline, { backend: 'gcp', stateDir: '', project }, { write: { clock: new SystemClock() } });
    if (run === undefined) throw new Error('the run left no state');
    const { bus } = run.backend;
    try {
      // The hold subscription the generated topology puts on every dead-letter topic.
      const { PubSub } = await import('@google-cloud/pubsub');
      const pubsub = new PubSub({ projectId: project });
      await pubsub.topic('ingest-complete-dlq').createSubscription(HOLD);

      // Pull path: the barrier gives up on load_c's completion for 2025-11-28; load_a and load_b are recorded.
      const poisoned = completion({ member: 'load_c', key: '2025-11-28' });
      await bus.publish('ingest-complete', poisoned);
      await eventually(async () => {
        for (const m of await bus.pull(BARRIER_SUB, 10)) {
          if (m.id === poisoned.id) {
            await bus.deadLetter(m.ackId, 'state store unavailable');
            return true;
          }
          await bus.nack(m.ackId, 'not this one');
        }
        return false;
      });
      for (const member of ['load_a', 'load_b']) await bus.publish('ingest-complete', completion({ member, key: '2025-11-28' }));
      await eventually(async () => (await run.runtime.pump(), (await bus.backlog(BARRIER_SUB)) === 0));

      // Push path: what Pub/Sub's dead-letter policy forwards after a push endpoint kept failing.
      const pushed = completion({ member: 'load_a', key: '2025-11-30' });
      await pubsub.topic('ingest-complete-dlq').publishMessage({
        data: Buffer.from(pushed.data),
        attributes: {
          ...pushed.attributes,
          baton_id: pushed.id,
          CloudPubSubDeadLetterSourceSubscription: `projects/${project}/subscriptions/${BARRIER_SUB}`,
          CloudPubSubDeadLetterSourceDeliveryCount: '5',
        },
      });
      await pubsub.close();

      const listed = JSON.parse((await runCli('dlq', 'list', ...gcp, '--json')).stdout) as Listed;
      const rows = listed.deadLetters.map((d) => [d.messageId, d.key, d.consumer, d.path, d.reason]);
      expect(rows).toEqual([
        [poisoned.id, '2025-11-28', 'ingest-done', 'pull', 'state store unavailable'],
        [pushed.id, '2025-11-30', 'ingest-done', 'push', 'exhausted 5 deliveries'],
      ]);
      const [pull, push] = listed.deadLetters;

      const shown = await runCli('dlq', 'show', pull?.id ?? '', ...gcp);
      expect(shown.stdout).toContain(`dead letter ${pull?.id ?? ''} (pull path)`);
      expect(shown.stdout).toContain('"processor_name": "load_c"');

      const redriven = await runCli('dlq', 'redrive', pull?.id ?? '', ...gcp);
      expect(redriven.code, redriven.stderr).toBe(0);
      expect(redriven.stdout).toContain(`${pull?.id ?? ''}  redriven: published to ingest-complete again for ${BARRIER_SUB}`);
      expect(redriven.stdout).toContain('fired ingest-done for 2025-11-28\n');

      const again = await runCli('dlq', 'redrive', pull?.id ?? '', ...gcp);
      expect(again.stdout).toContain(`${pull?.id ?? ''}  skipped: already redriven at`);
      expect(again.stdout).not.toContain('fired');

      const pushRedrive = await runCli('dlq', 'redrive', push?.id ?? '', ...gcp);
      expect(pushRedrive.stdout).toContain(`${push?.id ?? ''}  redriven: published to ingest-complete again for ${BARRIER_SUB}`);

      const after = JSON.parse((await runCli('dlq', 'list', ...gcp, '--json')).stdout) as Listed;
      expect(after.deadLetters.map((d) => [d.id, d.path, d.redrive !== null])).toEqual([
        [pull?.id, 'pull', true],
        [push?.id, 'push', true],
      ]);
      const status = await runCli('status', ...gcp, '--key', '2025-11-28');
      expect(status.stdout).toMatch(/ingest-done\s+fired all_complete 3\/3/);

      expect((await runCli('dlq', 'purge', '--all', '--yes', ...gcp)).stdout).toBe('purged 2 dead letters\n');
      expect((await runCli('dlq', 'list', ...gcp)).stdout).toBe(`no dead letters in Firestore (project ${project})\n`);
    } finally {
      await run.backend.close();
    }
  }, 180_000);
});
