import type { Palette } from '../config/format-diagnostics.ts';
import type { LoadResult } from '../config/load-pipeline.ts';
import { describeBarrier, describeCoordinator } from '../graph/describe.ts';

/** The topology summary `baton validate` prints for a valid pipeline. */
export function formatSummary(result: LoadResult, palette: Palette): string {
  const { pipeline, file } = result;
  if (!pipeline) return '';
  const lines: string[] = [];
  const warnings = result.diagnostics.filter((d) => d.severity === 'warning').length;
  lines.push(
    `${palette.green('✓')} ${file} is valid: pipeline ${palette.bold(pipeline.name)}, key ${pipeline.key.name} (${pipeline.key.type}), hash ${result.hash ?? ''}`,
  );
  const phaseWidth = Math.max(...pipeline.phases.map((p) => p.name.length));
  lines.push('', `phases (${pipeline.phases.length}):`);
  pipeline.phases.forEach((phase, i) => {
    const count = phase.processors.length;
    const start = phase.entry !== undefined ? 'entry' : `on ${phase.triggeredBy?.name ?? '?'}`;
    lines.push(
      `  ${i + 1}. ${phase.name.padEnd(phaseWidth)}  ${String(count).padStart(2)} processor${count === 1 ? ' ' : 's'}  ${start} → ${phase.publishes.name}`,
    );
  });
  const dlqs = pipeline.topics.filter((t) => t.deadLetter.enabled).length;
  lines.push('', `topics (${pipeline.topics.length}, ${dlqs} with a dead-letter topic):`);
  for (const topic of pipeline.topics) lines.push(`  ${topic.name}${topic.deadLetter.enabled ? '' : palette.dim(' (no dead-letter topic)')}`);
  const barriers = pipeline.barriers;
  lines.push('', `barriers (${barriers.length}):`);
  for (const barrier of barriers) {
    const origin = barrier.kind === 'dependency' ? ` starts ${barrier.target ?? ''} →` : '';
    lines.push(`  ${palette.bold(barrier.name)}: ${barrier.listens.name} →${origin} ${barrier.publishes.name}`);
    lines.push(`    fires on ${describeBarrier(barrier)}`);
  }
  const entityTypes = pipeline.entityTypes ?? [];
  if (entityTypes.length > 0) lines.push('', `entity types (${entityTypes.length}): ${entityTypes.map((e) => e.name).join(', ')}`);
  if (pipeline.coordinators.length > 0) {
    lines.push('', `coordinators (${pipeline.coordinators.length}):`);
    for (const c of pipeline.coordinators) {
      lines.push(`  ${palette.bold(c.name)}: ${c.listens.name} → ${c.workTopic.name} ⇄ ${c.readyTopic.name} → ${c.publishes?.name ?? '?'}`);
      lines.push(`    ${describeCoordinator(c)}`);
    }
  }
  lines.push('', warnings === 0 ? 'no warnings' : palette.yellow(`${warnings} warning${warnings === 1 ? '' : 's'} (above)`));
  return lines.join('\n');
}
