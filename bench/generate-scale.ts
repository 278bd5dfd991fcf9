// Data flow: synthetic pipeline.yaml of N processors → `baton validate` / `baton generate` in a child → wall time and peak RSS (its own resourceUsage).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { phasedPipelineYaml } from './synthetic-pipeline.ts';

/** One CLI command on one synthetic pipeline. */
export interface CommandFigures {
  readonly command: 'validate' | 'generate';
  readonly processors: number;
  /** Whole process, Node start-up included; the time limit when it was stopped. */
  readonly ms: number;
  /** Peak resident set size in MB; undefined when the command was stopped. */
  readonly rssMb: number | undefined;
  /** True when the command ran past the time limit and was stopped. */
  readonly stopped: boolean;
}

/** Preloaded into the child: on exit, its peak RSS (kilobytes) on stderr. The CLI runs in that one process. */
const REPORT_RSS = `data:text/javascript,process.on("exit",()=>process.stderr.write("bench-peak-rss-kb "+process.resourceUsage().maxRSS+"\\n"))`;

/**
 * Runs `baton <command>` on a synthetic five-phase pipeline of `processors` processors (barriers
 * between phases) as a user would, in a child process: wall time around the child, peak RSS as the
 * child reports it on exit. A command still running after `limitMs` is stopped and reported as such;
 * one that fails throws: a bench of a failing command measures nothing.
 */
export function measureCommand(root: string, command: CommandFigures['command'], processors: number, limitMs: number): CommandFigures {
  const dir = mkdtempSync(join(tmpdir(), 'baton-bench-gen-'));
  try {
    const file = join(dir, 'pipeline.yaml');
    writeFileSync(file, phasedPipelineYaml(processors));
    const args = ['--import', REPORT_RSS, join(root, 'bin/baton.js'), command, file, ...(command === 'generate' ? ['--out', join(dir, 'generated')] : [])];
    const started = performance.now();
    const result = spawnSync(process.execPath, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, timeout: limitMs });
    const ms = performance.now() - started;
    if (result.error !== undefined && (result.error as NodeJS.ErrnoException).code === 'ETIMEDOUT')
      return { command, processors, ms: limitMs, rssMb: undefined, stopped: true };
    if (result.status !== 0)
      throw new Error(`bench: baton ${command} of ${processors} processors exited ${String(result.status ?? result.signal)}: ${result.stderr.slice(-800)}`);
    const kb = /bench-peak-rss-kb (\d+)/.exec(result.stderr)?.[1];
    return { command, processors, ms, rssMb: kb === undefined ? undefined : Number(kb) / 1024, stopped: false };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
