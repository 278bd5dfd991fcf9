import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { dlqCommand } from '../../../engine/cli/dlq-command.ts';
import { acquireStateLock } from '../../../engine/cli/state-lock.ts';
import { openRunBackend } from '../../../engine/cli/run-backend.ts';
import { runtimeSubscriptions } from '../../../engine/cli/stored-run.ts';
import { loadPipeline } from '../../../engine/config/load-pipeline.ts';
import type { ResolvedPipeline } from '../../../engine/config/resolved-pipeline.ts';
import type { StateStore } from '../../../engine/ports/state-store.ts';
import { TransientError } from '../../../engine/runtime/errors.ts';
import { PipelineRuntime } from '../../../engine/runtime/pipeline-runtime.ts';
import { VirtualClock } from '../../../engine/simulator/virtual-clock.ts';
import { completion } from '../../contract/fixtures.ts';
import { Capture, runCli } from '../../helpers/run-cli.ts';

// Issue 12: a run printed "dead letters: 1" and no command named them. `baton dlq` lists, shows,
// redrives and purges them on the state a run left.

const FILE = new URL('../../fixtures/valid/minimal.yaml', import.meta.url).pathname;
const KEY = '2025-11-28';
const START = Date.parse('2025-11-29T12:00:00Z');

/**
 * A state folder where ingest-done recorded load_a and load_b, and gave up on load_c's completion
 * after every delivery attempt failed in a state-store outage: one dead letter, no trigger.
 */
async function stateWithDeadLetter(): Promise<string> {
  const dir = join(mkdtempSync(join(tmpdir(), 'baton-dlq-')), 'state');
  const pipeline = loadPipeline(FILE).pipeline as ResolvedPipeline;
  const clock = new VirtualClock(START);
  const backend = await openRunBackend({ backend: 'embedded', stateDir: dir }, pipeline, clock);
  if (backend === undefined) throw new Error('no backend');
  const outage = new Proxy(backend.store, {
    get(target, name, receiver) {
      if (name !== 'recordCompletion') return Reflect.get(target, name, receiver) as unknown;
      const record: StateStore['recordCompletion'] = (snapshot, member, rule) =>
        member.member === 'load_c' ? Promise.reject(new TransientError('state store unavailable')) : target.recordCompletion(snapshot, member, rule);
      return record;
    },
  });
  const runtime = new PipelineRuntime({
    pipeline,
    subscriptions: runtimeSubscriptions(pipeline),
    store: outage,
    bus: backend.bus,
    clock,
    fullList: () => () => Promise.resolve([]),
  });
  await runtime.start();
  for (const member of ['load_a', 'load_b', 'load_c']) {
    await backend.bus.publish('ingest-complete', completion({ member, key: KEY, time: START }));
    clock.advanceTo(clock.now() + 1_000);
  }
  for (let i = 0; i < 12; i++) {
    await runtime.pump();
    clock.advanceTo(clock.now() + 10 * 60_000);
  }
  await backend.journal.set('clock', clock.now());
  await backend.close();
  return dir;
}

const cli = (dir: string, ...args: string[]) => runCli('dlq', ...args, '-f', FILE, '--state-dir', dir);

describe('baton dlq', () => {
  it('lists a poisoned completion, redrives it after the fix so the barrier fires once, and refuses a second delivery', async () => {
    const dir = await stateWithDeadLetter();
    const listed = await cli(dir, 'list');
    expect(listed.code).toBe(0);
    const [header, row, footer] = listed.stdout.trimEnd().split('\n');
    expect(header).toMatch(/^ID +MESSAGE +TOPIC +KEY +CONSUMER +FIRST ATTEMPT +LAST ATTEMPT +REASON$/);
    expect(row).toMatch(
      new RegExp(
        `^1 +c:load_c:${KEY}:e1 +ingest-complete +${KEY} +ingest-done +2025-11-29T12:00:02Z +2025-11-29T12:\\d\\d:\\d\\dZ +gave up after \\d+ delivery attempts: runtime/transient: state store unavailable$`,
      ),
    );
    expect(footer).toBe(
      `1 dead letter; show one: npx baton dlq show -f ${FILE} --state-dir ${dir} <id>; redrive: npx baton dlq redrive -f ${FILE} --state-dir ${dir} <id>`,
    );

    const shown = await cli(dir, 'show', `c:load_c:${KEY}:e1`);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toContain('dead letter 1 (pull path)');
    expect(shown.stdout).toMatch(/subscription +ingest-done--ingest-complete \(barrier ingest-done\)|subscription +\S+ \(barrier ingest-done\)/);
    expect(shown.stdout).toContain('  ce-subject: 2025-11-28');
    expect(shown.stdout).toContain('envelope data\n  {\n    "processor_name": "load_c"');

    const dry = await cli(dir, 'redrive', '1', '--dry-run');
    expect(dry.stdout).toContain('1  would redrive: would deliver');
    expect(dry.stdout).toContain('nothing changed');

    // The outage is over: this process's store records load_c, and the barrier fires.
    const redriven = await cli(dir, 'redrive', '1');
    expect(redriven.code).toBe(0);
    expect(redriven.stdout).toMatch(/^1 {2}redriven: delivered to \S+ again\nfired ingest-done for 2025-11-28\nredrove 1 of 1 dead letter\n$/);

    const again = await cli(dir, 'redrive', '1');
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/^1 {2}skipped: already redriven at 2025-11-29T\S+ \(delivered to \S+ again\)\nredrove 0 of 1 dead letter\n$/);

    const status = await runCli('status', '-f', FILE, '--state-dir', dir, '--json');
    const keys = (JSON.parse(status.stdout) as { keys: { barriers: { barrier: string; generations: { trigger?: unknown }[] }[] }[] }).keys;
    const ingest = keys[0]?.barriers.find((b) => b.barrier === 'ingest-done');
    expect(ingest?.generations.filter((g) => g.trigger !== undefined)).toHaveLength(1);

    const json = JSON.parse((await cli(dir, 'list', '--json')).stdout) as { deadLetters: Record<string, unknown>[] };
    expect(json.deadLetters).toEqual([
      {
        id: '1',
        messageId: `c:load_c:${KEY}:e1`,
        topic: 'ingest-complete',
        key: KEY,
        subscription: expect.any(String) as string,
        consumer: 'ingest-done',
        reason: expect.stringContaining('state store unavailable') as string,
        deliveryAttempts: expect.any(Number) as number,
        firstAttemptAt: '2025-11-29T12:00:02.000Z',
        lastAttemptAt: expect.any(String) as string,
        path: 'pull',
        redrive: { at: expect.any(String) as string, result: expect.stringMatching(/^delivered to \S+ again$/) as string },
      },
    ]);
  });

  it('filters by topic and time, and names a wrong filter', async () => {
    const dir = await stateWithDeadLetter();
    expect((await cli(dir, 'list', '--topic', 'stage-complete')).stdout).toBe(`no dead letters match in ${dir}/\n`);
    expect((await cli(dir, 'list', '--since', '2025-11-29')).stdout).toContain('1 dead letter;');
    expect((await cli(dir, 'list', '--since', '2025-11-30T00:00')).stdout).toBe(`no dead letters match in ${dir}/\n`);
    // An age counts back from the run's own clock, which stopped soon after the dead letter.
    expect((await cli(dir, 'list', '--since', '3h')).stdout).toContain('1 dead letter;');
    const badTopic = await cli(dir, 'list', '--topic', 'ingest-complet');
    expect(badTopic.code).toBe(2);
    expect(badTopic.stderr).toBe(`baton dlq list: --topic "ingest-complet" is not a topic of ${FILE}; did you mean "ingest-complete"?\n`);
    const badSince = await cli(dir, 'list', '--since', 'yesterday');
    expect(badSince.code).toBe(2);
    expect(badSince.stderr).toContain('--since "yesterday" is neither a time (2025-11-29, 2025-11-29T12:00Z) nor an age (30m, 2h, 7d)');
  });

  it('names an unknown id, with the closest one', async () => {
    const dir = await stateWithDeadLetter();
    const shown = await cli(dir, 'show', `c:load_c:${KEY}:e2`);
    expect(shown.code).toBe(1);
    expect(shown.stderr).toBe(`baton dlq show: no dead letter "c:load_c:${KEY}:e2" in ${dir}/; did you mean "c:load_c:${KEY}:e1"?\n`);
    const redrive = await cli(dir, 'redrive');
    expect(redrive.code).toBe(2);
    expect(redrive.stderr).toBe('baton dlq redrive: name which dead letters: ids, or --topic/--since, or --all\n');
  });

  it('purges only after a yes: refuses without a terminal or --yes, asks on one', async () => {
    const dir = await stateWithDeadLetter();
    const refused = await cli(dir, 'purge', '--all');
    expect(refused.code).toBe(2);
    expect(refused.stderr).toBe('baton dlq purge: would purge 1 dead letter; stdin is not a terminal to confirm on: pass --yes\n');

    const asked: string[] = [];
    const answer = async (reply: boolean, ...args: string[]): Promise<string> => {
      const stdout = new Capture();
      const context = { stdout: stdout as unknown as NodeJS.WriteStream, stderr: stdout as unknown as NodeJS.WriteStream, setExitCode: () => undefined };
      const program = new Command('baton').exitOverride();
      program.addCommand(dlqCommand(context, { confirm: (q) => (asked.push(q), Promise.resolve(reply)) }));
      await program.parseAsync(['dlq', 'purge', ...args, '-f', FILE, '--state-dir', dir], { from: 'user' });
      return stdout.text;
    };
    expect(await answer(false, '1')).toBe('nothing purged\n');
    expect(asked).toEqual([`purge 1 dead letter (1) from ${dir}/? They will not be delivered again. [y/N] `]);
    expect((await cli(dir, 'list', '--json')).stdout).toContain('"id": "1"');
    expect(await answer(true, '1')).toBe('purged 1 dead letter\n');
    expect((await cli(dir, 'list')).stdout).toBe(`no dead letters in ${dir}/\n`);
  });

  it('purges with --yes and prints what it purged as JSON', async () => {
    const dir = await stateWithDeadLetter();
    const purged = await cli(dir, 'purge', '--topic', 'ingest-complete', '--yes', '--json');
    expect(purged.code).toBe(0);
    expect(JSON.parse(purged.stdout)).toEqual({ purged: ['1'] });
  });

  it('says there is nothing to read in a folder without state', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'baton-dlq-'));
    const listed = await cli(dir, 'list');
    expect(listed.code).toBe(1);
    expect(listed.stderr).toContain(`baton dlq list: ${dir}/ holds no state; dead letters come from a run: npx baton run -f ${FILE} --state-dir ${dir}`);
  });

  it('is named by the run that left a dead letter, and a redrive that fails again leaves a new one', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'baton-dlq-')), 'state');
    expect((await runCli('run', '-f', FILE, '--key', KEY, '--state-dir', dir)).code).toBe(0);
    // A completion from a processor that is no member of ingest-done: the barrier dead-letters it for good.
    const pipeline = loadPipeline(FILE).pipeline as ResolvedPipeline;
    const backend = await openRunBackend({ backend: 'embedded', stateDir: dir }, pipeline, new VirtualClock(START), { mustExist: true });
    await backend?.bus.publish('ingest-complete', completion({ member: 'load_z', key: KEY }));
    await backend?.close();
    const resumed = await runCli('run', '-f', FILE, '--resume', '--state-dir', dir);
    expect(resumed.stdout).toContain(`dead letters: 1 (npx baton dlq list -f ${FILE} --state-dir ${dir})\n`);

    const redriven = await cli(dir, 'redrive', `c:load_z:${KEY}:e1`);
    expect(redriven.stdout).toContain('1  redriven: delivered to ingest-done--ingest-complete again\n');
    expect(redriven.stdout).toContain('dead-lettered again as 2: barrier/unknown-member: barrier ingest-done: "load_z" is not a member');
    const json = JSON.parse((await cli(dir, 'list', '--json')).stdout) as { deadLetters: { id: string; redrive: unknown }[] };
    expect(json.deadLetters.map((d) => [d.id, d.redrive === null])).toEqual([
      ['1', false],
      ['2', true],
    ]);
    // The run counts only the dead letters still to act on.
    expect((await runCli('run', '-f', FILE, '--resume', '--state-dir', dir)).stdout).toContain('dead letters: 1 (npx baton dlq list');
    expect((await cli(dir, 'purge', '2', '--yes')).stdout).toBe('purged 1 dead letter\n');
    expect((await runCli('run', '-f', FILE, '--resume', '--state-dir', dir)).stdout).toContain('dead letters: 0\n');
  });

  it('reads while a run holds --state-dir, and waits its turn to redrive or purge (exit 75)', async () => {
    const dir = await stateWithDeadLetter();
    const lock = acquireStateLock(dir, 'npx baton run (the test)');
    try {
      expect((await cli(dir, 'list')).code).toBe(0);
      expect((await cli(dir, 'redrive', '1', '--dry-run')).code).toBe(0);
      const redrive = await cli(dir, 'redrive', '1');
      expect(redrive.code).toBe(75);
      expect(redrive.stderr).toContain(`${dir} is in use by another baton run`);
      expect((await cli(dir, 'purge', '1', '--yes')).code).toBe(75);
    } finally {
      lock.release();
    }
    expect((await cli(dir, 'redrive', '1')).code).toBe(0);
  });

  it('shows one dead letter as JSON: its facts, attributes and decoded data', async () => {
    const dir = await stateWithDeadLetter();
    const shown = JSON.parse((await cli(dir, 'show', '1', '--json')).stdout) as Record<string, unknown>;
    expect(shown).toMatchObject({
      id: '1',
      messageId: `c:load_c:${KEY}:e1`,
      consumer: 'ingest-done',
      attributes: { 'ce-subject': KEY, 'ce-type': 'dev.baton.completion.v1' },
      data: { processor_name: 'load_c', key: KEY, status: 'success' },
      dataIsJson: true,
      redrive: null,
    });
  });
});
