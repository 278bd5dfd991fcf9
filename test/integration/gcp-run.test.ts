import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/run-cli.ts';
import { EMULATORS_AVAILABLE, freshProjectId, useEmulators } from './emulator-harness.ts';

const START = '2026-11-28T12:00:00Z';

interface Summary {
  end: string;
  finishedKeys: number;
  deadLetters: number;
  triggers: { key: string; emitter: string; reason: string; detail: string }[];
}

describe.skipIf(!EMULATORS_AVAILABLE)('Baton on the Pub/Sub and Firestore emulators', () => {
  useEmulators();

  it('provisions every topic and subscription from the graph, idempotently', async () => {
    const project = freshProjectId('prov');
    const first = await runCli('provision', '--project', project);
    expect(first.code).toBe(0);
    expect(first.stdout).toContain('20 topics and 39 subscriptions: 59 created');
    const again = await runCli('provision', '--project', project);
    expect(again.stdout).toContain('0 created, the rest already existed');
  }, 120_000);

  it('runs a full NBA day end to end with the same triggers as the embedded backend, then shows it in status and trace', async () => {
    const project = freshProjectId('day');
    const gcp = await runCli('run', '--backend', 'gcp', '--project', project, '--key', '2025-11-29', '--start', START, '--json');
    expect(gcp.code, gcp.stderr).toBe(0);
    const onGcp = JSON.parse(gcp.stdout) as Summary;
    expect(onGcp.finishedKeys).toBe(1);
    expect(onGcp.deadLetters).toBe(0);

    const embedded = await runCli('run', '--key', '2025-11-29', '--start', START, '--json', '--state-dir', mkdtempSync(join(tmpdir(), 'baton-cmp-')));
    const onSqlite = JSON.parse(embedded.stdout) as Summary;
    const sorted = (s: Summary): string[] => s.triggers.map((t) => `${t.emitter} ${t.reason} ${t.detail}`).sort();
    expect(sorted(onGcp)).toEqual(sorted(onSqlite));

    const status = await runCli('status', '--backend', 'gcp', '--project', project, '--key', '2025-11-29');
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/phase4-complete\s+fired all_complete 5\/5/);
    const trace = await runCli('trace', '2025-11-29', '--backend', 'gcp', '--project', project);
    expect(trace.code).toBe(0);
    expect(trace.stdout).toContain('trigger  prediction-coordinator → nba-phase5-predictions-complete');
  }, 240_000);
});
