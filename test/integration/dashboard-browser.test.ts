import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openEmbeddedBackend } from '../../engine/cli/embedded-backend.ts';
import { VirtualClock } from '../../engine/simulator/virtual-clock.ts';
import { runCli } from '../helpers/run-cli.ts';
import { waitForOutput } from '../helpers/wait-for-output.ts';
import { EMULATORS_AVAILABLE, freshProjectId, useEmulators } from './emulator-harness.ts';

/** Debian's headless Chromium (`apt-get install chromium-headless-shell`; .ci/run installs it when missing). */
const CHROMIUM = process.env.BATON_CHROMIUM ?? '/usr/bin/chromium-headless-shell';
const CHROMIUM_AVAILABLE = existsSync(CHROMIUM);
if (!CHROMIUM_AVAILABLE) console.warn(`\n!!! [baton] SKIPPING the dashboard browser tests: no ${CHROMIUM} (apt-get install chromium-headless-shell) !!!\n`);

const KEY = '2026-11-20';
const START = '2026-11-21T06:00:00Z';
const BARRIER = 'g.node[data-component="barrier:phase2-to-phase3"]';

/** Every process a test started, stopped by its pid after the test whatever happened. */
const children = new Set<ChildProcess>();
afterEach(() => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  children.clear();
});

function spawnBaton(args: readonly string[]): ChildProcess {
  const child = spawn(process.execPath, [join(process.cwd(), 'bin', 'baton.js'), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  return child;
}

/** Starts `baton dashboard --port 0` as its own process (it runs until a signal) and resolves to its URL. */
async function startDashboard(args: readonly string[]): Promise<{ child: ChildProcess; url: string }> {
  const child = spawnBaton(['dashboard', '--port', '0', ...args]);
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const output = await waitForOutput(child, '/\n').catch((error: unknown) => {
    throw new Error(`${String(error)}\nstderr: ${stderr}`);
  });
  const url = /http:\/\/127\.0\.0\.1:\d+\//.exec(output)?.[0];
  if (url === undefined) throw new Error(`no URL in: ${output}`);
  return { child, url };
}

/** Stops a process with SIGTERM, as Ctrl-C would, and resolves to its exit code. */
async function stop(child: ChildProcess): Promise<number | null> {
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.kill('SIGTERM');
  return exited;
}

/**
 * The page shows the barrier partial while the run is stopped short of it, then — pushed by the
 * server, no reload — fired once the run continues; a screenshot of each is kept under the OS temp folder.
 */
async function watchBarrierFire(page: Page, url: string, continueRun: () => Promise<void>, label: string): Promise<void> {
  await page.goto(`${url}?key=${KEY}`);
  const partial = await page.waitForSelector(`${BARRIER}[data-state="partial"]`);
  expect(await partial.getAttribute('data-label')).toMatch(/^partial \d+ of 21$/);
  await expect(page.locator('#key-picker').inputValue()).resolves.toBe(KEY);
  await expect(page.locator('tr[data-component="barrier:phase2-to-phase3"] td.state').textContent()).resolves.toMatch(/^partial \d+ of 21$/);
  await expect(page.locator('g.node[data-component="barrier:phase4-complete"]').getAttribute('data-state')).resolves.toBe('waiting');
  const before = join(tmpdir(), `baton-dashboard-${label}-partial-${process.pid}.png`);
  await page.screenshot({ path: before, fullPage: true });

  await continueRun();
  const fired = await page.waitForSelector(`${BARRIER}[data-state="fired"]`);
  expect(await fired.getAttribute('data-label')).toBe('fired 21 of 21');
  await page.waitForSelector('g.node[data-component="coordinator:prediction-coordinator"][data-state="fired"]');
  await expect(page.locator('#connection').getAttribute('data-connection')).resolves.toBe('live');
  const after = join(tmpdir(), `baton-dashboard-${label}-fired-${process.pid}.png`);
  await page.screenshot({ path: after, fullPage: true });
  console.log(`dashboard screenshots: ${before} ${after}`);
}

describe.skipIf(!CHROMIUM_AVAILABLE)('baton dashboard in a real browser', () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await chromium.launch({ executablePath: CHROMIUM });
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('shows a barrier partial n of N while the run is short of it, fired once the run continues, and redrives a dead letter (embedded)', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'baton-dashboard-'));
    const short = await runCli('run', '--state-dir', stateDir, '--key', KEY, '--start', START, '--limit', '5m');
    expect(short.stdout).toContain('stopped at the 5m limit');
    const { child, url } = await startDashboard(['--state-dir', stateDir]);
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    try {
      await watchBarrierFire(
        page,
        url,
        async () => {
          // A completion that is not JSON: the barrier dead-letters it when the run continues.
          const backend = openEmbeddedBackend(stateDir, new VirtualClock(Date.parse(START)));
          await backend?.bus.publish('nba-phase2-raw-complete', { id: 'garbled-1', attributes: { 'ce-subject': KEY }, data: '{not json' });
          backend?.close();
          const rest = await runCli('run', '--state-dir', stateDir, '--resume');
          expect(rest.code, rest.stderr).toBe(0);
        },
        'embedded',
      );
      // The dead letter arrived with the same live update; redriving it marks the row (pushed, no reload).
      await page.waitForSelector('g.node[data-component="dlq:nba-phase2-raw-complete-dlq"][data-state="dead-letters"]');
      await page.click('#dead-letters tbody tr button');
      await page.waitForFunction(() => document.querySelector('#redrive-result')?.textContent !== '');
      await expect(page.locator('#redrive-result').textContent()).resolves.toMatch(/^1: redriven; /);
      await page.waitForFunction(() => document.querySelector('#dead-letters tbody tr td:last-child')?.textContent?.startsWith('redriven: '));
    } finally {
      await page.close();
      expect(await stop(child)).toBe(0);
    }
  }, 60_000);

  describe.skipIf(!EMULATORS_AVAILABLE)('on the Pub/Sub and Firestore emulators', () => {
    useEmulators();

    // On Pub/Sub a run stopped by --limit leaves deliveries leased for the 600 s ack deadline, so a
    // --resume would wait them out: here the page watches one run in progress instead.
    it('shows a barrier move from partial to fired while a run progresses (gcp)', async () => {
      const project = freshProjectId('dash');
      const backend = ['--backend', 'gcp', '--project', project];
      const run = spawnBaton(['run', ...backend, '--key', KEY, '--start', START]);
      await waitForOutput(run, `running run-`);
      const { child, url } = await startDashboard(backend);
      const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
      try {
        await page.goto(`${url}?key=${KEY}`);
        const partial = await page.waitForSelector(`${BARRIER}[data-state="partial"]`, { timeout: 120_000 });
        expect(await partial.getAttribute('data-label')).toMatch(/^partial \d+ of 21$/);
        const fired = await page.waitForSelector(`${BARRIER}[data-state="fired"]`, { timeout: 120_000 });
        expect(await fired.getAttribute('data-label')).toBe('fired 21 of 21');
        const shot = join(tmpdir(), `baton-dashboard-gcp-${process.pid}.png`);
        await page.screenshot({ path: shot, fullPage: true });
        console.log(`dashboard screenshot: ${shot}`);
      } finally {
        await page.close();
        expect(await stop(child)).toBe(0);
      }
    }, 300_000);
  });
});
