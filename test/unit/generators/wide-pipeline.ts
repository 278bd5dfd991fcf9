import { loadPipelineBytes, type LoadResult } from '../../../engine/config/load-pipeline.ts';

/**
 * A synthetic pipeline of `processors` processors spread over five phases, each handed to the next by a
 * phase barrier (the shape `baton generate` is measured on at 3,000 and 30,000 processors).
 */
export function widePipeline(processors: number): LoadResult {
  const phases = ['p1', 'p2', 'p3', 'p4', 'p5'];
  const per = Math.ceil(processors / phases.length);
  const lines = ['version: 1', 'pipeline:', '  name: wide', 'key:', '  name: run_date', '  type: date', 'defaults:', '  subscription:'];
  lines.push('    invoker: pubsub-invoker', 'topics:');
  phases.forEach((p, i) => {
    lines.push(`  ${p}-complete:`, `    description: ${p} processor finished.`);
    if (i > 0) lines.push(`  ${p}-trigger:`, `    description: start ${p}.`);
  });
  lines.push('  done:', '    description: done.', '    external_consumers: reporting', 'phases:');
  phases.forEach((p, i) => {
    lines.push(`  ${p}:`, i === 0 ? '    entry: Cloud Scheduler' : `    triggered_by: ${p}-trigger`, `    publishes: ${p}-complete`, '    processors:');
    for (let j = 0; j < per; j++) lines.push(`      - ${p}_proc_${j}`);
  });
  lines.push('barriers:');
  phases.forEach((p, i) => {
    lines.push(
      `  ${p}-done:`,
      `    listens: ${p}-complete`,
      `    members: { phase: ${p} }`,
      `    publishes: ${phases[i + 1] ?? 'done'}${i + 1 < phases.length ? '-trigger' : ''}`,
    );
  });
  return loadPipelineBytes('wide.yaml', new TextEncoder().encode(`${lines.join('\n')}\n`));
}
