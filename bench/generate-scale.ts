// Data flow: synthetic pipeline.yaml of N processors → `baton validate` / `baton generate` in a child under /usr/bin/time → wall time and peak RSS.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { phasedPipelineYaml } from './synthetic-pipeline.ts';

/** One CLI command on one synthetic pipeline. */
export interface CommandFigures {
  readonly command: 'validate' | 'generate';
  readonly processors: number;
  /** Whole process, Node start-up included. */
  readonly ms: number;
  /** Peak resident set size in MB (from /usr/bin/time); undefined where /usr/bin/time is missing. */
  readonly rssMb: number | undefined;
}

const TIME = '/usr/bin/time';

/**
 * Runs `baton <command>` on a synthetic five-phase pipeline of `processors` processors (barriers
 * between phases) as a user would, in a child process: wall time around the child, peak RSS from
 * `/usr/bin/time -f %M` (kilobytes). Throws when the command fails: a bench of a failing command measures nothing.
 */
export function measureCommand(root: string, command: CommandFigures['command'], processors: number): CommandFigures {
  const dir = mkdtempSync(join(tmpdir(), 'baton-bench-gen-'));
  try {
    const file = join(dir, 'pipeline.yaml');
    writeFileSync(file, phasedPipelineYaml(processors));
    const baton = [join(root, 'bin/baton.js'), command, file, ...(command === 'generate' ? ['--out', join(dir, 'generated')] : [])];
    const timed = existsSync(TIME);
    const started = performance.now();
    const result = timed
      ? spawnSync(TIME, ['-f', 'bench-peak-rss-kb %M', process.execPath, ...baton], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 })
      : spawnSync(process.execPath, baton, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    const ms = performance.now() - started;
    if (result.status !== 0)
      throw new Error(`bench: baton ${command} of ${processors} processors exited ${String(result.status)}: ${result.stderr.slice(-800)}`);
    const kb = /bench-peak-rss-kb (\d+)/.exec(result.stderr)?.[1];
    return { command, processors, ms, rssMb: kb === undefined ? undefined : Number(kb) / 1024 };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
