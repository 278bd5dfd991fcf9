import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../helpers/run-cli.ts';

const minimal = new URL('../../fixtures/valid/minimal.yaml', import.meta.url).pathname;

describe('baton plan', () => {
  it('lists the resources a removed processor leaves behind and nothing it would add', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'baton-plan-'));
    const out = join(dir, 'generated');
    expect((await runCli('generate', minimal, '--out', out)).code).toBe(0);

    const unchanged = await runCli('plan', minimal, '--against', out);
    expect(unchanged.code).toBe(0);
    expect(unchanged.stdout).toContain('0 to add, 0 to change, 0 to remove');

    // load_c is removed from the ingest phase.
    const edited = join(dir, 'pipeline.yaml');
    writeFileSync(edited, readFileSync(minimal, 'utf8').replace('[load_a, load_b, load_c]', '[load_a, load_b]'));
    const plan = await runCli('plan', edited, '--against', out);
    expect(plan.code).toBe(1);
    expect(plan.stdout).toMatch(/- google_service_account\.load-c\n/);
    expect(plan.stdout).toMatch(/- google_pubsub_topic_iam_member\.pub-load-c-ingest-complete/);
    expect(plan.stdout).not.toMatch(/^ {2}\+ /m);
  });

  it('names the orphan subscription and how to delete it when a topic-fed processor goes away', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'baton-plan-'));
    const out = join(dir, 'generated');
    await runCli('generate', minimal, '--out', out);
    const edited = join(dir, 'pipeline.yaml');
    writeFileSync(edited, readFileSync(minimal, 'utf8').replace('      - build_x\n', '').replace('depends_on: [build_x]', 'description: alone now'));
    const plan = await runCli('plan', edited, '--against', out);
    expect(plan.stdout).toContain('- google_pubsub_subscription.build_x--stage-trigger');
    expect(plan.stdout).toContain('gcloud pubsub subscriptions delete build_x--stage-trigger --project PROJECT');
  });
});
