import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileOf, fixturePath, generated } from '../unit/generators/generate-fixture.ts';
import { EMULATORS_AVAILABLE, useEmulators } from './emulator-harness.ts';

/**
 * Runs the generated deploy.sh for real against the Pub/Sub emulator and reads topics and
 * subscriptions back. Slow (every gcloud call costs ~1.5 s), but it is the proof that the script
 * works, so it runs wherever the emulator jars and gcloud exist.
 */
const hasGcloud = spawnSync('gcloud', ['--version'], { stdio: 'ignore' }).status === 0;
const PROJECT = 'tiny-shop-prod';

describe.skipIf(!EMULATORS_AVAILABLE || !hasGcloud)('deploy.sh against the Pub/Sub emulator', () => {
  const emulators = useEmulators();
  const dir = mkdtempSync(join(tmpdir(), 'baton-emulator-'));
  let base = '';

  beforeAll(() => {
    base = `http://${emulators().pubsubHost}`;
  });

  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('creates exactly the graph topics and subscriptions, with their settings', async () => {
    const { result, files } = await generated(fixturePath('small/pipeline.yaml'));
    const script = join(dir, 'deploy.sh');
    writeFileSync(script, fileOf(files, 'gcloud/deploy.sh'), { mode: 0o755 });
    const deploy = (): SpawnSyncReturns<string> =>
      spawnSync('bash', [script], {
        encoding: 'utf8',
        env: {
          ...process.env,
          CLOUDSDK_API_ENDPOINT_OVERRIDES_PUBSUB: `${base}/`,
          CLOUDSDK_AUTH_DISABLE_CREDENTIALS: 'true',
          CLOUDSDK_CORE_DISABLE_PROMPTS: '1',
          CLOUDSDK_CONFIG: join(dir, 'gcloud-config'),
          BATON_EMULATOR: '1',
        },
      });
    const run = deploy();
    expect(run.stderr.split('\n').filter((l) => /ERROR/.test(l))).toEqual([]);
    expect(run.status).toBe(0);
    expect(run.stdout).toContain('SKIP (emulator): IAM bindings');
    // Idempotent on the emulator too (bug: the second run failed on `subscriptions update`, which the
    // emulator refuses when it carries an expiration policy).
    const again = deploy();
    expect(again.stderr.split('\n').filter((l) => /ERROR/.test(l))).toEqual([]);
    expect(again.status).toBe(0);
    expect(again.stdout).toContain('+ gcloud pubsub subscriptions update');
    expect(again.stdout).not.toContain('subscriptions create');

    const get = async <T>(path: string): Promise<T> => (await (await fetch(`${base}/v1/projects/${PROJECT}/${path}?pageSize=1000`)).json()) as T;
    const topics = (await get<{ topics: { name: string }[] }>('topics')).topics.map((t) => t.name.split('/').pop()).sort();
    const expectedTopics = (result.pipeline?.topics ?? []).flatMap((t) => (t.deadLetter.enabled ? [t.name, t.deadLetter.topic] : [t.name])).sort();
    expect(topics).toEqual(expectedTopics);

    interface Sub {
      name: string;
      topic: string;
      filter?: string;
      ackDeadlineSeconds: number;
      deadLetterPolicy?: { deadLetterTopic: string; maxDeliveryAttempts: number };
      retryPolicy?: { minimumBackoff: string; maximumBackoff: string };
      pushConfig?: { pushEndpoint?: string; oidcToken?: { serviceAccountEmail: string } };
    }
    const subs = new Map((await get<{ subscriptions: Sub[] }>('subscriptions')).subscriptions.map((s) => [s.name.split('/').pop() ?? '', s]));
    let count = 0;
    result.graph?.graph.forEachNode((_k, a) => {
      if (a.kind !== 'subscription') return;
      count++;
      const sub = subs.get(a.name);
      expect(sub, a.name).toBeDefined();
      expect(sub?.topic).toBe(`projects/${PROJECT}/topics/${a.topic ?? ''}`);
      expect(sub?.filter ?? undefined).toBe(a.filter);
      expect(sub?.ackDeadlineSeconds).toBe(600);
      expect(sub?.deadLetterPolicy).toEqual({ deadLetterTopic: `projects/${PROJECT}/topics/${a.topic ?? ''}-dlq`, maxDeliveryAttempts: 5 });
      expect(sub?.retryPolicy).toEqual({ minimumBackoff: '10s', maximumBackoff: '600s' });
    });
    const holds = [...subs.keys()].filter((name) => name.startsWith('baton-hold--'));
    expect(subs.size).toBe(count + holds.length);
    expect(subs.get('loaded--tables-loaded')?.pushConfig?.oidcToken?.serviceAccountEmail).toBe(`tiny-invoker@${PROJECT}.iam.gserviceaccount.com`);
    expect(subs.get('load_stock--orders-landed')?.pushConfig?.pushEndpoint ?? '').toBe('');
  }, 600_000);
});
