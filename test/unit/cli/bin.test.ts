import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

/** The real `bin/baton.js`, as a newcomer runs it: a child process from the project root. */
const root = new URL('../../../', import.meta.url).pathname;

describe('bin/baton.js', () => {
  it('caches the CLI bundle under node_modules/.cache/baton, so the source tree stays clean for lint and git', () => {
    const run = spawnSync(process.execPath, ['bin/baton.js', '--version'], { cwd: root, encoding: 'utf8' });
    expect(run.status).toBe(0);
    const cache = join(root, 'node_modules', '.cache', 'baton');
    expect(readdirSync(cache).some((name) => name.startsWith('cli-') && existsSync(join(cache, name, 'main.js')))).toBe(true);
    // Ignored files are build output; only the dependencies and the embedded state (npm start) may exist.
    const ignored = execFileSync('git', ['status', '--porcelain', '--ignored'], { cwd: root, encoding: 'utf8' })
      .split('\n')
      .filter((line) => line.startsWith('!! '))
      .map((line) => line.slice(3));
    expect(ignored.filter((path) => path !== 'node_modules/' && path !== '.baton/')).toEqual([]);
  });

  it('bundles the envelope schema compiled to code, so a run compiles no schema before its first message', async () => {
    const run = spawnSync(process.execPath, ['bin/baton.js', '--version'], { cwd: root, encoding: 'utf8' });
    expect(run.status).toBe(0);
    // The folder the run used: the bundle of the current sources (another bundle of older ones may still be there).
    const { bundle } = (await import(join(root, 'bin', 'bundle.js'))) as { bundle: (name: string, entry: string, options: object) => Promise<string> };
    const current = await bundle('cli', join('engine', 'cli', 'main.ts'), { split: true });
    const chunks = readdirSync(current).map((name) => readFileSync(join(current, name), 'utf8'));
    // The message only the generated module (engine/config/precompiled-validators-source.ts) has.
    expect(chunks.some((code) => code.includes('no precompiled validator for schema'))).toBe(true);
  });

  it('ends quietly with exit 0 when stdout is closed early, as in `baton status --help | head -2`', () => {
    // The reader of fd 3 has exited before baton starts, so every write to it fails with EPIPE —
    // deterministically, with no race against `head` reading.
    const run = spawnSync('bash', ['-c', 'exec 3> >(exit 0); wait $!; node bin/baton.js status --help >&3'], { cwd: root, encoding: 'utf8' });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
  });
});
