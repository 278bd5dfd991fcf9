import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileOf, fixturePath, generated, NBA_PIPELINE } from './generate-fixture.ts';
import { type Block, first, of, parseTerraform, type Parsed } from './parse-terraform.ts';

// The two deploy paths (#2: one redeploy path had no IAM step; redeploys reset IAM) must grant the same
// IAM and raise the same alerts (#28: every alert policy throttled and auto-closed), binding for binding.

const dir = mkdtempSync(join(tmpdir(), 'baton-deploy-vs-tf-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Every command deploy.sh prints in a dry run, as the words bash would pass (its `printf %q` undone). */
async function dryRunCommands(file: string, name: string): Promise<string[][]> {
  const script = join(dir, `${name}.sh`);
  writeFileSync(script, fileOf((await generated(file)).files, 'gcloud/deploy.sh'), { mode: 0o755 });
  const run = spawnSync('bash', [script, '--dry-run'], { encoding: 'utf8', env: { PATH: '/usr/bin:/bin', HOME: dir } });
  expect(run.stderr).toBe('');
  expect(run.status).toBe(0);
  const lines = run.stdout.split('\n').filter((l) => l.startsWith('+ gcloud '));
  // One bash reads every printed line back (on stdin: the NBA script's lines exceed an argument's size); \x01 ends a command.
  const reader = lines.map((l) => `set -- ${l.slice(2)}; printf '%s\\0' "$@"; printf '\\1\\0'`).join('\n');
  const out = execFileSync('bash', ['-s'], { input: reader, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const commands: string[][] = [];
  let current: string[] = [];
  for (const word of out.split('\0').slice(0, -1)) {
    if (word === '\u0001') {
      commands.push(current);
      current = [];
    } else current.push(word);
  }
  expect(commands).toHaveLength(lines.length);
  return commands;
}

const option = (words: readonly string[], name: string): string | undefined => {
  const at = words.indexOf(name);
  return at < 0 ? undefined : words[at + 1];
};

/** `kind resource member role`, one string per binding, from deploy.sh's add-iam-policy-binding commands. */
function scriptBindings(commands: readonly string[][]): string[] {
  return commands
    .filter((words) => words.includes('add-iam-policy-binding'))
    .map((words) => {
      const verb = words.indexOf('add-iam-policy-binding');
      const kind = words.slice(1, verb).join(' ');
      const resource = words[verb + 1] ?? '';
      return `${kind} ${resource} ${option(words, '--member') ?? ''} ${option(words, '--role') ?? ''}`;
    })
    .sort();
}

/** The same strings from the Terraform's *_iam_member resources, references resolved to the names deploy.sh uses. */
function terraformBindings(tf: Parsed): string[] {
  const project = tf.result.pipeline?.project ?? '';
  const named = (type: string, expression: unknown): string => {
    const match = /^\$\{(data\.)?([a-z0-9_]+)\.([^.]+)\.name\}$/.exec(String(expression));
    if (!match) throw new Error(`not a reference to a named resource: ${String(expression)}`);
    const [, isData, refType = '', name = ''] = match;
    const block = (isData ? tf.data : tf.resources)[refType]?.[name];
    if (!block) throw new Error(`${String(expression)} refers to nothing`);
    if (type === 'google_service_account') return `${String(block.account_id)}@${project}.iam.gserviceaccount.com`;
    return String(block.name);
  };
  const member = (expression: unknown): string => {
    const text = String(expression);
    if (text === '${local.pubsub_service_agent}') return 'serviceAccount:service-PROJECT_NUMBER@gcp-sa-pubsub.iam.gserviceaccount.com';
    const account = /^\$\{google_service_account\.([^.]+)\.member\}$/.exec(text)?.[1];
    const id = account === undefined ? undefined : tf.resources.google_service_account?.[account]?.account_id;
    if (typeof id !== 'string') throw new Error(`unexpected member ${text}`);
    return `serviceAccount:${id}@${project}.iam.gserviceaccount.com`;
  };
  const rows: [string, string, (b: Block) => string][] = [
    ['google_pubsub_topic_iam_member', 'pubsub topics', (b) => named('google_pubsub_topic', b.topic)],
    ['google_pubsub_subscription_iam_member', 'pubsub subscriptions', (b) => named('google_pubsub_subscription', b.subscription)],
    ['google_project_iam_member', 'projects', () => project],
    ['google_service_account_iam_member', 'iam service-accounts', (b) => named('google_service_account', b.service_account_id)],
    ['google_cloud_run_v2_service_iam_member', 'run services', (b) => named('google_cloud_run_v2_service', b.name)],
    ['google_kms_crypto_key_iam_member', 'kms keys', (b) => String(b.crypto_key_id)],
  ];
  const iamTypes = Object.keys(tf.resources).filter((type) => /_iam_(member|binding|policy)$/.test(type));
  expect(iamTypes.filter((type) => !rows.some(([t]) => t === type))).toEqual([]);
  return rows.flatMap(([type, kind, resource]) => of(tf.resources, type).map(([, b]) => `${kind} ${resource(b)} ${member(b.member)} ${String(b.role)}`)).sort();
}

describe.each([
  ['the NBA pipeline', NBA_PIPELINE, 'nba'],
  ['the small fixture', fixturePath('small/pipeline.yaml'), 'small'],
])('deploy.sh and the Terraform for %s', (_title, file, name) => {
  let tf: Parsed;
  let commands: string[][];
  beforeAll(async () => {
    tf = await parseTerraform(file);
    commands = await dryRunCommands(file, name);
  });

  it('grant exactly the same IAM bindings, binding for binding (#2)', () => {
    const fromScript = scriptBindings(commands);
    const fromTerraform = terraformBindings(tf);
    expect(fromTerraform.length).toBeGreaterThan(10);
    expect(new Set(fromScript).size, 'deploy.sh grants a binding twice').toBe(fromScript.length);
    expect(fromScript).toEqual(fromTerraform);
  });

  it('throttle and auto-close every alert policy, in both (#28)', () => {
    const terraform = of(tf.resources, 'google_monitoring_alert_policy').map(([, b]) => b);
    const script = commands
      .filter((words) => words.slice(1, 5).join(' ') === 'alpha monitoring policies create')
      .map((words) => JSON.parse(option(words, '--policy') ?? '{}') as Record<string, unknown>);
    expect(terraform.length).toBeGreaterThan(0);
    expect(script.map((p) => String(p.displayName)).sort()).toEqual(terraform.map((b) => String(b.display_name)).sort());

    for (const block of terraform) {
      const strategy = first(block.alert_strategy);
      expect(strategy.auto_close, String(block.display_name)).toBe('1800s');
      const condition = first(block.conditions);
      if (condition.condition_matched_log !== undefined) {
        // A log match notifies on every matching entry unless rate-limited: at most one notification an hour.
        expect(first(strategy.notification_rate_limit).period, String(block.display_name)).toBe('3600s');
      } else {
        // A metric alert notifies once when its incident opens and once when it closes; Monitoring refuses a
        // notification_rate_limit on it, so the throttle is: no re-notification while the incident is open.
        expect(strategy.notification_channel_strategy, String(block.display_name)).toBeUndefined();
        expect(strategy.notification_rate_limit, String(block.display_name)).toBeUndefined();
      }
    }
    for (const policy of script) {
      const strategy = policy.alertStrategy as { autoClose?: string; notificationRateLimit?: { period?: string }; notificationChannelStrategy?: unknown };
      const [condition] = policy.conditions as Record<string, unknown>[];
      expect(strategy.autoClose, String(policy.displayName)).toBe('1800s');
      if (condition?.conditionMatchedLog !== undefined) expect(strategy.notificationRateLimit?.period, String(policy.displayName)).toBe('3600s');
      else {
        expect(strategy.notificationRateLimit, String(policy.displayName)).toBeUndefined();
        expect(strategy.notificationChannelStrategy, String(policy.displayName)).toBeUndefined();
      }
    }
  });
});
