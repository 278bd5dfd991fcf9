import { describeCounts, unreportedOf } from '../runtime/describe-trigger.ts';
import type { Palette } from '../config/format-diagnostics.ts';
import type { ResolvedPipeline } from '../config/resolved-pipeline.ts';
import type { ProcessorSimulator } from '../simulator/processor-simulator.ts';
import type { TriggerData } from '../runtime/envelope.ts';
import type { TriggerRecord } from '../ports/state-store.ts';
import { formatDuration } from './format-time.ts';

const BAR = 24;

/**
 * Shows a run as it goes: on a terminal, one progress bar per phase redrawn in place; otherwise one
 * plain line per trigger (so logs and CI output stay readable).
 */
export class RunProgress {
  private drawn = 0;
  private lastDraw = 0;

  constructor(
    private readonly stream: NodeJS.WriteStream,
    private readonly palette: Palette,
    private readonly pipeline: ResolvedPipeline,
    private readonly simulator: ProcessorSimulator,
    private readonly keys: number,
    private readonly startedAt: number,
    private readonly now: () => number,
  ) {}

  /** A trigger fired: a line of its own when not drawing bars. */
  fired(trigger: TriggerRecord): void {
    if (this.stream.isTTY) return;
    const data = JSON.parse(trigger.message.data) as TriggerData;
    const counted = describeCounts(data);
    const unreported = unreportedOf(data);
    const missing = unreported.length > 0 ? ` missing ${unreported.join(', ')}` : '';
    this.stream.write(
      `[+${formatDuration(trigger.decidedAt - this.startedAt).padStart(7)}] ${data.key} ${trigger.emitter} fired: ${trigger.reason} ${counted}${missing}\n`,
    );
  }

  /** Redraws the bars (at most ten times a second). */
  draw(force = false): void {
    if (!this.stream.isTTY) return;
    const wall = Date.now();
    if (!force && wall - this.lastDraw < 100) return;
    this.lastDraw = wall;
    const width = Math.max(...this.pipeline.phases.map((p) => p.name.length));
    const lines = this.pipeline.phases.map((phase) => {
      const runs = phase.processors.reduce((sum, name) => sum + (this.simulator.stats.get(name)?.runs ?? 0), 0);
      const perEntity = this.pipeline.coordinators.some((c) => c.phase.name === phase.name);
      if (perEntity) return `${phase.name.padEnd(width)}  ${String(runs).padStart(6)} work items done`;
      const total = phase.processors.length * this.keys;
      const filled = Math.round((BAR * Math.min(runs, total)) / total);
      const bar = this.palette.green('█'.repeat(filled)) + this.palette.dim('░'.repeat(BAR - filled));
      return `${phase.name.padEnd(width)}  ${bar} ${runs}/${total}`;
    });
    lines.push(this.palette.dim(`simulated time +${formatDuration(this.now() - this.startedAt)}`));
    const up = this.drawn > 0 ? `\u001b[${this.drawn}A` : '';
    this.stream.write(`${up}${lines.map((l) => `\u001b[2K${l}`).join('\n')}\n`);
    this.drawn = lines.length;
  }
}
