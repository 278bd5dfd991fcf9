import { mkdtempSync } from 'node:fs';
import { get, request, type IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadPipeline } from '../../../engine/config/load-pipeline.ts';
import type { ResolvedPipeline } from '../../../engine/config/resolved-pipeline.ts';
import { openEmbeddedBackend } from '../../../engine/cli/embedded-backend.ts';
import { LiveStoredRun } from '../../../engine/cli/live-stored-run.ts';
import { acquireStateLock } from '../../../engine/cli/state-lock.ts';
import { VirtualClock } from '../../../engine/simulator/virtual-clock.ts';
import { startDashboardServer, type RunningDashboard } from '../../../engine/dashboard/dashboard-server.ts';
import { readDashboardSnapshot, type DashboardSnapshot } from '../../../engine/dashboard/dashboard-snapshot.ts';
import { runCli } from '../../helpers/run-cli.ts';

const KEY = '2026-11-20';
const START = '2026-11-21T06:00:00Z';
const pipeline = loadPipeline('pipeline.yaml').pipeline as ResolvedPipeline;

let open: { server: RunningDashboard; live: LiveStoredRun }[] = [];
afterEach(async () => {
  for (const { server, live } of open) {
    await server.close();
    await live.close();
  }
  open = [];
});

/** A state folder holding a run stopped 5 simulated minutes in: phase2-to-phase3 is partial. */
async function shortRun(): Promise<string> {
  const stateDir = mkdtempSync(join(tmpdir(), 'baton-dashboard-unit-'));
  const run = await runCli('run', '--state-dir', stateDir, '--key', KEY, '--start', START, '--limit', '5m');
  expect(run.stdout).toContain('stopped at the 5m limit');
  return stateDir;
}

async function serve(stateDir: string, extra: { redrive?: (id: string) => Promise<string> } = {}): Promise<RunningDashboard> {
  const live = new LiveStoredRun(pipeline, { backend: 'embedded', stateDir });
  const server = await startDashboardServer({
    svg: '<svg xmlns="http://www.w3.org/2000/svg"/>',
    port: 0,
    pollMs: 20,
    read: async (key) => readDashboardSnapshot(pipeline, await live.source(), key),
    redrive: (id) => live.redrive(id, 'npx baton dashboard'),
    ...extra,
  });
  open.push({ server, live });
  return server;
}

/** One HTTP exchange with the server, with the headers given (Host included). */
function call(url: string, { method = 'GET', headers = {}, body }: { method?: string; headers?: Record<string, string>; body?: string } = {}) {
  return new Promise<{ status: number; type: string; body: string }>((resolve, reject) => {
    const req = request(url, { method, headers }, (response) => {
      let text = '';
      response.on('data', (chunk: Buffer) => (text += chunk.toString()));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, type: response.headers['content-type'] ?? '', body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** The server-sent events of a stream, one at a time, in order. */
function events(url: string): { next: () => Promise<{ event: string; data: string }>; close: () => void } {
  const queue: { event: string; data: string }[] = [];
  const waiting: ((e: { event: string; data: string }) => void)[] = [];
  let buffer = '';
  let response: IncomingMessage | undefined;
  const req = get(url, (r) => {
    response = r;
    r.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const event = /^event: (.*)$/m.exec(block)?.[1] ?? 'message';
        const data = /^data: (.*)$/m.exec(block)?.[1] ?? '';
        const resolve = waiting.shift();
        if (resolve) resolve({ event, data });
        else queue.push({ event, data });
      }
    });
  });
  return {
    next: () => {
      const first = queue.shift();
      return first ? Promise.resolve(first) : new Promise((resolve) => waiting.push(resolve));
    },
    close: () => {
      response?.destroy();
      req.destroy();
    },
  };
}

describe('the dashboard server on the embedded backend', () => {
  it("answers a key's snapshot: the barrier short of its members partial n of N, the processors that reported done, later barriers waiting", async () => {
    const server = await serve(await shortRun());
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const { status, type, body } = await call(`${server.url}api/snapshot?key=${KEY}`);
    expect(status).toBe(200);
    expect(type).toBe('application/json; charset=utf-8');
    const snapshot = JSON.parse(body) as DashboardSnapshot;
    expect(snapshot.key).toBe(KEY);
    expect(snapshot.keys).toEqual([KEY]);
    expect(snapshot.components['barrier:phase2-to-phase3']?.state).toBe('partial');
    expect(snapshot.components['barrier:phase2-to-phase3']?.label).toMatch(/^partial \d+ of 21$/);
    expect(snapshot.components['barrier:phase4-complete']).toEqual({ state: 'waiting', label: 'waiting' });
    // The scrapers phase has no barrier: its processor's state comes from what it published.
    expect(snapshot.components['processor:nba_scrapers']).toEqual({ state: 'done', label: 'done' });
    expect(snapshot.components['bundle:raw']?.label).toMatch(/^\d+ of 21 done$/);
    expect(snapshot.phases.map((p) => p.phase)).toEqual(['scrapers', 'raw', 'analytics', 'precompute', 'predictions']);
    expect(snapshot.phases[1]?.rows.find((r) => r.id === 'barrier:phase2-to-phase3')?.detail).toMatch(/^missing /);
    expect(snapshot.deadLetters).toEqual([]);
  });

  it('shows the first known key when none or an unknown one is asked for', async () => {
    const server = await serve(await shortRun());
    for (const query of ['', '?key=1999-01-01']) {
      const snapshot = JSON.parse((await call(`${server.url}api/snapshot${query}`)).body) as DashboardSnapshot;
      expect(snapshot.key, query).toBe(KEY);
    }
  });

  it('streams a snapshot at once and another when a run writes the state (a WAL database re-read, the run clock re-read)', async () => {
    const stateDir = await shortRun();
    const server = await serve(stateDir);
    const stream = events(`${server.url}api/events?key=${KEY}`);
    try {
      const first = await stream.next();
      expect(first.event).toBe('snapshot');
      const before = JSON.parse(first.data) as DashboardSnapshot;
      expect(before.components['barrier:phase2-to-phase3']?.state).toBe('partial');

      expect((await runCli('run', '--state-dir', stateDir, '--resume')).code).toBe(0);
      let after = before;
      while (after.components['coordinator:prediction-coordinator']?.state !== 'fired') after = JSON.parse((await stream.next()).data) as DashboardSnapshot;
      expect(after.components['barrier:phase2-to-phase3']).toEqual({ state: 'fired', label: 'fired 21 of 21' });
      // The coordinator's worker reports per entity: it stands where the batch stands.
      expect(after.components['processor:prediction_worker']).toEqual({ state: 'done', label: 'done' });
      expect(after.now).toBeGreaterThan(before.now);
    } finally {
      stream.close();
    }
  });

  it('reads the new database after `baton run --fresh` replaced the one it had open', async () => {
    const stateDir = await shortRun();
    const server = await serve(stateDir);
    expect((JSON.parse((await call(`${server.url}api/snapshot`)).body) as DashboardSnapshot).keys).toEqual([KEY]);
    await runCli('run', '--state-dir', stateDir, '--fresh', '--key', '2026-11-22', '--start', START, '--limit', '1m');
    expect((JSON.parse((await call(`${server.url}api/snapshot`)).body) as DashboardSnapshot).keys).toEqual(['2026-11-22']);
  });

  it('serves the page, its script and style, and the diagram', async () => {
    const server = await serve(await shortRun());
    const page = await call(server.url);
    expect(page.type).toBe('text/html; charset=utf-8');
    expect(page.body).toContain('<script src="/app.js" defer></script>');
    expect((await call(`${server.url}app.js`)).type).toBe('text/javascript; charset=utf-8');
    expect((await call(`${server.url}app.css`)).type).toBe('text/css; charset=utf-8');
    expect((await call(`${server.url}diagram.svg`)).body).toContain('<svg');
    expect(await call(`${server.url}nope`)).toMatchObject({ status: 404, body: '{"error":"no GET /nope"}' });
  });

  it('answers only requests addressed to 127.0.0.1 or localhost at its port (a DNS-rebinding page sends its own Host)', async () => {
    const server = await serve(await shortRun());
    expect(await call(`${server.url}api/snapshot`, { headers: { host: 'evil.example:80' } })).toMatchObject({
      status: 403,
      body: '{"error":"unexpected Host \\"evil.example:80\\""}',
    });
    expect((await call(`${server.url}api/snapshot`, { headers: { host: `localhost:${server.port}` } })).status).toBe(200);
  });

  it('redrives only with the x-baton-dashboard header (a cross-site form cannot send it) and a JSON body naming the dead letter', async () => {
    const redriven: string[] = [];
    const redrive = (id: string): Promise<string> => {
      redriven.push(id);
      return Promise.resolve(`redrove ${id}`);
    };
    const server = await serve(await shortRun(), { redrive });
    const url = `${server.url}api/redrive`;
    const body = JSON.stringify({ id: 'sub/m1' });
    expect(await call(url, { method: 'POST', body })).toMatchObject({ status: 403, body: '{"error":"a redrive needs the x-baton-dashboard: 1 header"}' });
    expect((await call(url, { method: 'POST', headers: { 'x-baton-dashboard': '1' }, body: 'id=1' })).status).toBe(400);
    expect(await call(url, { method: 'POST', headers: { 'x-baton-dashboard': '1' }, body })).toMatchObject({
      status: 200,
      body: '{"message":"redrove sub/m1"}',
    });
    expect(redriven).toEqual(['sub/m1']);
  });
});

describe('dead letters on the dashboard (embedded)', () => {
  /** A short run, then a completion that is not JSON on the raw phase's topic, dead-lettered by the barrier when the run continues. */
  async function withDeadLetter(): Promise<string> {
    const stateDir = await shortRun();
    const backend = openEmbeddedBackend(stateDir, new VirtualClock(Date.parse(START)));
    await backend?.bus.publish('nba-phase2-raw-complete', { id: 'garbled-1', attributes: { 'ce-subject': KEY }, data: '{not json' });
    backend?.close();
    expect((await runCli('run', '--state-dir', stateDir, '--resume')).stdout).toContain('dead letters: 1');
    return stateDir;
  }
  const redriveCall = (server: RunningDashboard, id: string) =>
    call(`${server.url}api/redrive`, { method: 'POST', headers: { 'x-baton-dashboard': '1' }, body: JSON.stringify({ id }) });

  it('lists a dead letter with its key and reason, and marks its dead-letter topic on the diagram for the key', async () => {
    const server = await serve(await withDeadLetter());
    const snapshot = JSON.parse((await call(`${server.url}api/snapshot?key=${KEY}`)).body) as DashboardSnapshot;
    expect(snapshot.deadLetters).toHaveLength(1);
    expect(snapshot.deadLetters[0]).toMatchObject({ key: KEY, subscription: 'phase2-to-phase3--nba-phase2-raw-complete' });
    expect(snapshot.deadLetters[0]?.redriven).toBeUndefined();
    expect(snapshot.deadLetters[0]?.reason).toMatch(/JSON|json/);
    expect(snapshot.components['dlq:nba-phase2-raw-complete-dlq']).toEqual({ state: 'dead-letters', label: '1 dead letter' });
  });

  it('redrives a dead letter once: the list then shows it redriven, and a second redrive delivers nothing', async () => {
    const server = await serve(await withDeadLetter());
    const read = async (): Promise<DashboardSnapshot> => JSON.parse((await call(`${server.url}api/snapshot?key=${KEY}`)).body) as DashboardSnapshot;
    const id = (await read()).deadLetters[0]?.id ?? '';
    const first = JSON.parse((await redriveCall(server, id)).body) as { message: string };
    expect(first.message).toMatch(new RegExp(`^${id}: redriven; `));
    expect((await read()).deadLetters[0]?.redriven).toBeDefined();
    const second = JSON.parse((await redriveCall(server, id)).body) as { message: string };
    expect(second.message).toMatch(new RegExp(`^${id}: already-redriven; `));
  });

  it('redrives nothing while a run holds the state folder, and names the run', async () => {
    const stateDir = await withDeadLetter();
    const server = await serve(stateDir);
    const lock = acquireStateLock(stateDir, 'npx baton run --resume');
    try {
      const id = (JSON.parse((await call(`${server.url}api/snapshot`)).body) as DashboardSnapshot).deadLetters[0]?.id ?? '';
      const answer = JSON.parse((await redriveCall(server, id)).body) as { message: string };
      expect(answer.message).toMatch(/^not redriven: .* is in use by another baton run \(pid \d+, started .*: npx baton run --resume\)/);
    } finally {
      lock.release();
    }
  });
});

describe('baton dashboard on the command line', () => {
  it('refuses a port that is not a number from 0 to 65535', async () => {
    const { code, stderr } = await runCli('dashboard', '--port', '70000');
    expect(code).toBe(2);
    expect(stderr).toContain(`option '--port <n>' argument '70000' is invalid. "70000" is not a port (0 to 65535)`);
  });

  it('says when the port is taken, and how to pick another', async () => {
    const stateDir = await shortRun();
    const taken = await serve(stateDir);
    const { code, stderr } = await runCli('dashboard', '--state-dir', stateDir, '--port', String(taken.port));
    expect(code).toBe(2);
    expect(stderr).toBe(`baton dashboard: port ${taken.port} on 127.0.0.1 is in use; pick another with --port (0 picks a free one)\n`);
  });

  it('says there is no state to show and how to start a run', async () => {
    const stateDir = join(mkdtempSync(join(tmpdir(), 'baton-dashboard-none-')), 'none');
    const { code, stderr } = await runCli('dashboard', '--state-dir', stateDir);
    expect(code).toBe(1);
    expect(stderr).toBe(`baton dashboard: ${stateDir}/ holds no state; start one with: npx baton run --state-dir ${stateDir}\n`);
  });
});
