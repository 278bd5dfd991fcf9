import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../helpers/run-cli.ts';

const commands = ['run', 'status', 'tick'] as const;

describe('backend options, declared once for every command that opens Baton state', () => {
  it.each([...commands, 'trace'])('%s --help lists --backend, --state-dir and --project with the same wording', async (command) => {
    const help = (await runCli(command, '--help')).stdout.replace(/\s+/g, ' ');
    expect(help).toContain('--backend <backend> embedded (SQLite in --state-dir) or gcp (Pub/Sub + Firestore)');
    expect(help).toContain(`--state-dir <dir> embedded: the folder holding Baton's SQLite state (default: ".baton")`);
    expect(help).toContain('--project <id> gcp: the project');
  });

  it('offers --emulators only where a command can work on fresh emulators', async () => {
    expect((await runCli('run', '--help')).stdout).toContain('--emulators');
    for (const command of ['status', 'trace', 'tick']) expect((await runCli(command, '--help')).stdout).not.toContain('--emulators');
  });

  it.each(commands)('%s refuses --project on the embedded backend as a usage error', async (command) => {
    const dir = mkdtempSync(join(tmpdir(), 'baton-options-'));
    const { code, stderr } = await runCli(command, '--state-dir', dir, '--project', 'p1');
    expect(code).toBe(2);
    expect(stderr).toContain(`baton ${command}: --project goes with --backend gcp`);
  });

  it('trace refuses --project on the embedded backend as a usage error', async () => {
    const { code, stderr } = await runCli('trace', '2025-11-29', '--project', 'p1');
    expect(code).toBe(2);
    expect(stderr).toContain('baton trace: --project goes with --backend gcp');
  });

  it('names the state folder it found empty', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'baton-options-'));
    const { code, stderr } = await runCli('tick', '--state-dir', dir);
    expect(code).toBe(1);
    expect(stderr).toBe(`baton tick: ${dir}/ holds no state to tick\n`);
  });
});
