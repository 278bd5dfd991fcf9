import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, describe, expect, it } from 'vitest';
import { PubSubPublisher } from '../../engine/adapters/gcp/pubsub-publisher.ts';
import { loadPipeline } from '../../engine/config/load-pipeline.ts';
import { createProcessor, type CreateProcessorOptions, type Processor } from '../../engine/sdk/index.ts';
import { playerGameSummary } from '../../examples/sdk-processor/player-game-summary.ts';
import { packageRoot } from '../../engine/config/package-root.ts';
import { runCli } from '../helpers/run-cli.ts';
import { EMULATORS_AVAILABLE, freshProjectId, useEmulators } from './emulator-harness.ts';

const emulators = useEmulators();
/** One check sends four requests and watches for late publishes for a few seconds; on a loaded machine that doubles. */
const CHECK_TIMEOUT_MS = 60_000;
const HASH = loadPipeline(join(packageRoot(), 'pipeline.yaml')).hash ?? '';
const PYTHON_AVAILABLE = spawnSync('python3', ['--version']).status === 0;
if (!PYTHON_AVAILABLE) console.warn('\n!!! [baton] SKIPPING the Python example processor check: python3 is not on PATH !!!\n');

/** One way a processor can break the contract; `none` keeps it. */
type Fault =
  | 'none'
  | 'acks-before-publish'
  | 'wrong-topic'
  | 'no-correlation-id'
  | 'wrong-traceparent'
  | 'unknown-field'
  | 'second-completion'
  | 'fails-good-trigger'
  | 'accepts-malformed';

const PROCESSOR = { name: 'player_game_summary', phase: 'analytics', topic: 'nba-phase3-analytics-complete' };

/**
 * A tiny processor on node:http, written by hand the way a user would (no Baton code), with one
 * switch per violation. It publishes to the emulator over REST, like the Python example.
 */
async function startTestProcessor(fault: Fault, projectId: string): Promise<{ url: string; close: () => Promise<void> }> {
  const seen = new Map<string, number>();
  const server: Server = createServer((request, response) => {
    let text = '';
    request.on('data', (chunk: Buffer) => (text += chunk.toString()));
    request.on('end', () => {
      const answer = (status: number): void => {
        response.writeHead(status, { 'content-type': 'application/json' }).end('{}');
      };
      let attributes: Record<string, string>;
      let trigger: Record<string, unknown>;
      try {
        const body = JSON.parse(text) as { message: { attributes: Record<string, string>; data: string } };
        attributes = body.message.attributes;
        trigger = JSON.parse(Buffer.from(body.message.data, 'base64').toString('utf8')) as Record<string, unknown>;
        if (!attributes['ce-type']?.startsWith('dev.baton.') || trigger.key !== attributes['ce-subject']) throw new Error('not a trigger');
      } catch {
        answer(fault === 'accepts-malformed' ? 200 : 400);
        return;
      }
      if (fault === 'fails-good-trigger') {
        answer(500);
        return;
      }
      const triggerId = attributes.baton_id ?? '';
      const deliveries = (seen.get(triggerId) ?? 0) + 1;
      seen.set(triggerId, deliveries);
      const key = attributes['ce-subject'] ?? '';
      const startedBy = fault === 'second-completion' ? `${triggerId}#${deliveries}` : triggerId;
      const executionId = `exec-${createHash('sha256').update(startedBy).digest('hex').slice(0, 16)}`;
      const id = `completion:${PROCESSOR.name}:${key}:${executionId}`;
      const [, traceId = '', , flags = '01'] = /^00-(\w{32})-(\w{16})-(\w{2})$/.exec(attributes['ce-traceparent'] ?? '') ?? [];
      const traceparent = `00-${fault === 'wrong-traceparent' ? randomBytes(16).toString('hex') : traceId}-${randomBytes(8).toString('hex')}-${flags}`;
      const correlationId = attributes['ce-correlationid'] ?? '';
      const data = {
        processor_name: PROCESSOR.name,
        phase: PROCESSOR.phase,
        execution_id: executionId,
        correlation_id: correlationId,
        key,
        status: 'success',
        timestamp: new Date().toISOString(),
        ...(fault === 'unknown-field' ? { completion_pct: 100 } : {}),
        pipeline_hash: HASH,
        metadata: { entities_changed: { players: [1001] }, is_incremental: false },
      };
      const out: Record<string, string> = {
        'ce-specversion': '1.0',
        'ce-id': id,
        baton_id: id,
        'ce-source': `//baton/nba-props/processors/${PROCESSOR.name}`,
        'ce-type': 'dev.baton.completion.v1',
        'ce-time': data.timestamp,
        'ce-subject': key,
        ...(fault === 'no-correlation-id' ? {} : { 'ce-correlationid': correlationId }),
        'ce-traceparent': traceparent,
        'content-type': 'application/json',
      };
      const topic = fault === 'wrong-topic' ? 'nba-phase4-processor-complete' : PROCESSOR.topic;
      // The production bug: ack first, make the work durable later (a crash in between loses it).
      if (fault === 'acks-before-publish') answer(200);
      const publish = (): Promise<Response> =>
        fetch(`http://${emulators().pubsubHost}/v1/projects/${projectId}/topics/${topic}:publish`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ messages: [{ data: Buffer.from(JSON.stringify(data)).toString('base64'), attributes: out }] }),
        });
      if (fault === 'acks-before-publish') {
        // Late enough that a check starved of CPU (the cases run concurrently) still pulls before it lands.
        setTimeout(() => void publish(), 1_500);
        return;
      }
      publish().then(
        (published) => answer(published.ok ? 200 : 500),
        () => answer(500),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return { url: `http://127.0.0.1:${port}/`, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

async function check(name: string, url: string, projectId: string): Promise<{ code: number; stdout: string }> {
  const { code, stdout, stderr } = await runCli(
    'check-processor',
    name,
    '--url',
    url,
    '--pubsub-emulator',
    emulators().pubsubHost,
    '--project',
    projectId,
    '--wait',
    '4',
  );
  expect(stderr).toBe('');
  return { code, stdout };
}

// Each case has its own project, processor and port, and spends most of its time watching for late
// publishes, so the cases run concurrently (vitest's maxConcurrency, 5 at a time).
describe.skipIf(!EMULATORS_AVAILABLE)('baton check-processor against the Pub/Sub emulator', () => {
  it.concurrent(
    'passes a processor that keeps the contract (exit 0, every line ✓)',
    async () => {
      const projectId = freshProjectId('check-good');
      const processor = await startTestProcessor('none', projectId);
      try {
        const { code, stdout } = await check(PROCESSOR.name, processor.url, projectId);
        expect(stdout).not.toContain('✗');
        expect(stdout).toContain('23 checks passed: player_game_summary keeps the processor contract');
        expect(code).toBe(0);
      } finally {
        await processor.close();
      }
    },
    CHECK_TIMEOUT_MS,
  );

  const violations: [Fault, RegExp[]][] = [
    ['acks-before-publish', [/✗ ack after publish +answered 2xx before its completion reached the topic/]],
    [
      'wrong-topic',
      [
        /✗ topic +published to nba-phase4-processor-complete; this processor publishes only to nba-phase3-analytics-complete/,
        /✗ one completion +no completion on nba-phase3-analytics-complete/,
      ],
    ],
    ['no-correlation-id', [/✗ schema +.*correlationid/, /✗ correlation id +ce-correlationid undefined/]],
    ['wrong-traceparent', [/✗ traceparent +ce-traceparent 00-\w+-\w+-01 is in another trace/]],
    ['unknown-field', [/✗ no unknown fields +unknown field data\.completion_pct/]],
    ['second-completion', [/duplicate\n(.*\n)*.*✗ no second completion +a second, different completion/]],
    ['fails-good-trigger', [/trigger\n +✗ http +HTTP 500/, /✗ one completion +no completion on nba-phase3-analytics-complete/]],
    ['accepts-malformed', [/not-json\n +✗ http +HTTP 200/, /not-an-envelope\n +✗ http +HTTP 200/]],
  ];

  it.concurrent.each(violations)(
    'reports a processor with the fault %s (exit 1)',
    async (fault, expected) => {
      const projectId = freshProjectId(`check-${fault}`.slice(0, 20));
      const processor = await startTestProcessor(fault, projectId);
      try {
        const { code, stdout } = await check(PROCESSOR.name, processor.url, projectId);
        for (const line of expected) expect(stdout).toMatch(line);
        expect(code).toBe(1);
      } finally {
        await processor.close();
      }
    },
    CHECK_TIMEOUT_MS,
  );

  it.concurrent(
    'prints the same report as JSON with --json',
    async () => {
      const projectId = freshProjectId('check-json');
      const processor = await startTestProcessor('unknown-field', projectId);
      try {
        const { code, stdout } = await runCli(
          'check-processor',
          PROCESSOR.name,
          '--url',
          processor.url,
          '--pubsub-emulator',
          emulators().pubsubHost,
          '--project',
          projectId,
          '--json',
        );
        const report = JSON.parse(stdout) as { ok: boolean; processor: string; results: { request: string; check: string; ok: boolean; detail: string }[] };
        expect(report.processor).toBe(PROCESSOR.name);
        expect(report.ok).toBe(false);
        expect(report.results.filter((r) => !r.ok)).toEqual([
          { request: 'trigger', check: 'no unknown fields', ok: false, detail: 'unknown field data.completion_pct' },
        ]);
        expect(code).toBe(1);
      } finally {
        await processor.close();
      }
    },
    CHECK_TIMEOUT_MS,
  );

  describe('processors written with the SDK', () => {
    /** Serves a processor on node:http, publishing to the emulator as a deployed one would. */
    async function serve(processor: Processor): Promise<{ url: string; close: () => Promise<void> }> {
      const server = createServer((req, res) => void processor.listener(req, res));
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
      const { port } = server.address() as AddressInfo;
      return {
        url: `http://127.0.0.1:${port}/`,
        close: () => new Promise<void>((resolve) => server.close(() => resolve())),
      };
    }
    const sdkProcessors: { name: string; build: (options: Partial<CreateProcessorOptions>) => Processor }[] = [
      { name: 'player_game_summary (examples/sdk-processor)', build: (options) => playerGameSummary(options) },
      ...['nba_scrapers', 'bdl_injuries', 'prediction_worker'].map((name) => ({
        name,
        build: (options: Partial<CreateProcessorOptions>) =>
          createProcessor({ pipeline: join(packageRoot(), 'pipeline.yaml'), name, handle: () => ({ status: 'success', recordCount: 1 }), ...options }),
      })),
    ];

    it.concurrent.each(sdkProcessors)(
      'passes check-processor as $name',
      async ({ name, build }) => {
        const projectId = freshProjectId('sdk');
        const publisher = new PubSubPublisher({ projectId, emulatorHost: emulators().pubsubHost });
        const served = await serve(build({ publisher, oidc: false, logger: { log: () => undefined } }));
        try {
          const { code, stdout } = await check(name.split(' ')[0] ?? name, served.url, projectId);
          expect(stdout).not.toContain('✗');
          expect(code).toBe(0);
        } finally {
          await served.close();
          await publisher.close();
        }
      },
      CHECK_TIMEOUT_MS,
    );
  });

  describe.skipIf(!PYTHON_AVAILABLE)('examples/python-processor (standard library only)', () => {
    const children: ChildProcess[] = [];
    afterAll(() => {
      for (const child of children) child.kill('SIGTERM');
    });

    const processors = [
      { name: 'nba_scrapers', phase: 'scrapers', topic: 'nba-phase1-scrapers-complete', entry: '1' },
      { name: 'bdl_injuries', phase: 'raw', topic: 'nba-phase2-raw-complete', entry: '' },
      { name: 'upcoming_player_game_context', phase: 'analytics', topic: 'nba-phase3-analytics-complete', entry: '' },
      { name: 'ml_feature_store', phase: 'precompute', topic: 'nba-phase4-processor-complete', entry: '' },
      { name: 'prediction_worker', phase: 'predictions', topic: 'nba-phase5-prediction-ready', entry: '' },
    ];

    it.concurrent.each(processors)(
      'passes check-processor as $name',
      async ({ name, phase, topic, entry }) => {
        const projectId = freshProjectId(`py-${phase}`);
        const child = spawn('python3', [join(packageRoot(), 'examples/python-processor/processor.py')], {
          env: {
            ...process.env,
            BATON_PROCESSOR: name,
            BATON_PHASE: phase,
            BATON_TOPIC: topic,
            BATON_PIPELINE: 'nba-props',
            BATON_PIPELINE_HASH: HASH,
            BATON_ENTRY: entry,
            PUBSUB_PROJECT: projectId,
            PUBSUB_EMULATOR_HOST: emulators().pubsubHost,
            PORT: '0',
          },
          stdio: ['ignore', 'pipe', 'ignore'],
        });
        children.push(child);
        const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream })[Symbol.asyncIterator]();
        const line = (await lines.next()).value as string | undefined;
        const port = /:(\d+)$/.exec(line ?? '')?.[1];
        expect(port, `the processor said: ${line}`).toBeDefined();
        const { code, stdout } = await check(name, `http://127.0.0.1:${port}/`, projectId);
        expect(stdout).not.toContain('✗');
        expect(code).toBe(0);
        child.kill('SIGTERM');
      },
      CHECK_TIMEOUT_MS,
    );
  });
});
