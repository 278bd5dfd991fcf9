// Synthetic pipelines for the bench: N processors over five phases with a barrier between each, and a one-barrier fan-in.

/** Names p00000, p00001, … (zero-padded so they sort as they are numbered). */
export function processorNames(count: number, prefix = 'p'): string[] {
  return Array.from({ length: count }, (_, i) => `${prefix}${String(i).padStart(5, '0')}`);
}

/** The lines every synthetic pipeline starts with, up to its `topics:` key: a daily key, one invoker. */
function headerLines(name: string): string[] {
  return [
    'version: 1',
    'pipeline:',
    `  name: ${name}`,
    'key:',
    '  name: run_date',
    '  type: date',
    'defaults:',
    '  subscription:',
    '    invoker: pubsub-invoker',
    'topics:',
  ];
}

/**
 * A valid pipeline.yaml of `processors` processors split evenly across five phases (the NBA shape,
 * scaled): phase 1 has no trigger, each later phase is triggered by the barrier over the one before.
 */
export function phasedPipelineYaml(processors: number): string {
  const phases = 5;
  const names = processorNames(processors);
  const lines = headerLines(`bench-${processors}`);
  for (let p = 1; p <= phases; p++) {
    lines.push(`  phase${p}-complete:`, `    description: A phase ${p} processor finished.`);
    if (p === phases) lines.push('    external_consumers: the bench');
    if (p < phases) lines.push(`  phase${p + 1}-trigger:`, `    description: Phase ${p} is done; phase ${p + 1} may start.`);
  }
  lines.push('phases:');
  for (let p = 1; p <= phases; p++) {
    const slice = names.slice(Math.floor(((p - 1) * processors) / phases), Math.floor((p * processors) / phases));
    lines.push(`  phase${p}:`, `    description: Synthetic phase ${p}.`);
    lines.push(p === 1 ? '    entry: Started outside Baton.' : `    triggered_by: phase${p}-trigger`);
    lines.push(`    publishes: phase${p}-complete`, '    processors:', ...slice.map((n) => `      - ${n}`));
  }
  lines.push('barriers:');
  for (let p = 1; p < phases; p++) {
    lines.push(`  phase${p}-done:`, `    description: Start phase ${p + 1} once phase ${p} is complete.`);
    lines.push(`    listens: phase${p}-complete`, `    members: { phase: phase${p} }`, '    threshold: all', `    publishes: phase${p + 1}-trigger`);
  }
  return `${lines.join('\n')}\n`;
}

/** Topic the one-barrier pipeline's members publish to, and the topic its trigger goes to. */
export const FAN_IN_TOPICS = { completions: 'work-complete', trigger: 'work-trigger' } as const;

/** The barrier of `fanInPipelineYaml`. */
export const FAN_IN_BARRIER = 'work-done';

/** A valid pipeline.yaml with one phase of `members` processors and one barrier over all of them (threshold all). */
export function fanInPipelineYaml(members: number): string {
  return [
    ...headerLines(`fan-in-${members}`),
    `  ${FAN_IN_TOPICS.completions}:`,
    '    description: A member finished.',
    `  ${FAN_IN_TOPICS.trigger}:`,
    '    description: Every member finished.',
    '    external_consumers: the bench',
    'phases:',
    '  work:',
    '    entry: Started by the bench.',
    `    publishes: ${FAN_IN_TOPICS.completions}`,
    '    processors:',
    ...processorNames(members, 'm').map((n) => `      - ${n}`),
    'barriers:',
    `  ${FAN_IN_BARRIER}:`,
    '    description: Fire once every member finished.',
    `    listens: ${FAN_IN_TOPICS.completions}`,
    '    members: { phase: work }',
    '    threshold: all',
    `    publishes: ${FAN_IN_TOPICS.trigger}`,
    '',
  ].join('\n');
}
