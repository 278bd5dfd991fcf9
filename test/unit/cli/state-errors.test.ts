import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { beforeAll, describe, expect, it } from 'vitest';
import { openSqliteDatabase } from '../../../engine/adapters/sqlite/open-sqlite-database.ts';
import { SqliteRunJournal } from '../../../engine/adapters/sqlite/sqlite-run-journal.ts';
import { openEmbeddedBackend } from '../../../engine/cli/embedded-backend.ts';
import { stateErrorFrom } from '../../../engine/cli/state-error.ts';
import { SystemClock } from '../../../engine/runtime/system-clock.ts';
import { runCli } from '../../helpers/run-cli.ts';

const START = '2026-11-28T12:00:00Z';

/** A fresh state folder holding `content` as its database. */
function stateWith(content: Buffer | string): string {
  const dir = mkdtempSync(join(tmpdir(), 'baton-state-'));
  writeFileSync(join(dir, 'baton.db'), content);
  return dir;
}

let finished: string;
beforeAll(async () => {
  finished = mkdtempSync(join(tmpdir(), 'baton-finished-'));
  const { code } = await runCli('run', '--key', '2025-11-01', '--state-dir', finished, '--start', START, '--json');
  expect(code).toBe(0);
});

describe('a state database baton cannot use ends in one line naming the file and the fix (issue 10: internal error, exit 70)', () => {
  it('says a file that is not SQLite is not a database, for run and status alike', async () => {
    const dir = stateWith('these are not the pages you are looking for\n'.repeat(200));
    for (const args of [['status'], ['run', '--resume'], ['tick']]) {
      const { code, stderr } = await runCli(...args, '--state-dir', dir);
      expect(code).toBe(74);
      expect(stderr).toBe(
        `baton: ${dir}/baton.db is not a SQLite database (truncated, garbled or another kind of file); move it away or pass --state-dir <another folder>\n`,
      );
    }
  });

  it('says a truncated Baton database is damaged', async () => {
    const whole = readFileSync(join(finished, 'baton.db'));
    const dir = stateWith(whole.subarray(0, Math.floor(whole.length / 3)));
    const { code, stderr } = await runCli('status', '--state-dir', dir);
    expect(code).toBe(74);
    expect(stderr).toBe(
      `baton: ${dir}/baton.db is damaged (truncated or overwritten); move it away or pass --state-dir <another folder>, then run again with --fresh\n`,
    );
  });

  it("refuses another program's SQLite database and leaves it as it was", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'baton-foreign-'));
    const foreign = new Database(join(dir, 'baton.db'));
    foreign.exec('CREATE TABLE invoices (id INTEGER PRIMARY KEY); INSERT INTO invoices VALUES (1)');
    foreign.close();
    for (const args of [['status'], ['run', '--key', '2025-11-01']]) {
      const { code, stderr } = await runCli(...args, '--state-dir', dir);
      expect(code).toBe(74);
      expect(stderr).toBe(
        `baton: ${dir}/baton.db is not a Baton state database (it has no bus_messages table); move it away or pass --state-dir <another folder>\n`,
      );
    }
    const after = new Database(join(dir, 'baton.db'), { readonly: true });
    expect(after.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all()).toEqual([{ name: 'invoices' }]);
    after.close();
  });

  it('reads status and trace from a folder SQLite cannot write into, without changing the database', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'baton-readonly-'));
    copyFileSync(join(finished, 'baton.db'), join(dir, 'baton.db'));
    // The -wal path taken: no connection can write here (what a read-only folder or mount does).
    mkdirSync(join(dir, 'baton.db-wal'));
    const before = readFileSync(join(dir, 'baton.db'));
    const status = await runCli('status', '--state-dir', dir);
    expect(status.code).toBe(0);
    expect(status.stdout).toContain('key 2025-11-01');
    const trace = await runCli('trace', '2025-11-01', '--state-dir', dir);
    expect(trace.code).toBe(0);
    expect(readFileSync(join(dir, 'baton.db')).equals(before)).toBe(true);

    const run = await runCli('run', '--resume', '--state-dir', dir);
    expect(run.code).toBe(74);
    expect(run.stderr).toContain(`baton: ${dir}/baton.db cannot be written`);
  });

  it('keeps every committed write when the disk fills, and says the disk is full', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'baton-full-')), 'baton.db');
    const db = openSqliteDatabase(file);
    const journal = new SqliteRunJournal(db);
    // SQLite's own quota: past it every write fails with SQLITE_FULL, as on a full disk.
    db.pragma(`max_page_count = ${(db.pragma('page_count', { simple: true }) as number) + 20}`);
    let written = 0;
    let failure: unknown;
    for (; written < 1000; written++) {
      try {
        void journal.set(`entry-${written}`, 'x'.repeat(2000));
      } catch (error) {
        failure = error;
        break;
      }
    }
    db.close();
    expect(written).toBeGreaterThan(0);
    expect(written).toBeLessThan(1000);
    expect(stateErrorFrom(failure, file)?.message).toBe(
      `${file}: the disk is full; every step committed before is kept: free some space, then run again with --resume`,
    );
    const reopened = new Database(file, { readonly: true });
    expect((reopened.prepare('SELECT COUNT(*) AS n FROM run_journal').get() as { n: number }).n).toBe(written);
    reopened.close();
  });
});

describe('--resume after a run killed before it recorded its keys (issue 10: "holds no run" although the database exists)', () => {
  it("says nothing ran and gives the killed run's own command line to start it again, which works", async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'baton-early-'));
    // What a kill between creating the database and recording the run leaves: the tables, no run, and the lock of a dead pid.
    openEmbeddedBackend(stateDir, new SystemClock())?.close();
    const dead = spawnSync(process.execPath, ['-e', '']).pid;
    const command = `npx baton run --state-dir ${stateDir} --keys 2025-11-01..2025-11-02`;
    writeFileSync(join(stateDir, 'baton.lock'), JSON.stringify({ pid: dead, host: hostname(), startedAt: START, command }));

    const resumed = await runCli('run', '--resume', '--state-dir', stateDir);
    expect(resumed.code).toBe(2);
    expect(resumed.stderr).toContain(
      `baton run: nothing to resume: the run in ${stateDir}/baton.db was stopped before it recorded its keys, so nothing ran; start it again: ${command}\n`,
    );
    const again = await runCli('run', '--state-dir', stateDir, '--keys', '2025-11-01..2025-11-02', '--start', START, '--json');
    expect(again.code).toBe(0);
    expect(statSync(join(stateDir, 'baton.db')).size).toBeGreaterThan(0);
  });
});
