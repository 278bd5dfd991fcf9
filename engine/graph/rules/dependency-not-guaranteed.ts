import type { Finding } from '../../config/diagnostic.ts';
import { formatPath } from '../../config/diagnostic.ts';
import type { DeadlineTier, ResolvedBarrier, ResolvedPipeline, Threshold } from '../../config/resolved-pipeline.ts';
import { findingOf, type GraphRule } from '../graph-rule.ts';
import { upstreamPhasesOf } from '../upstream-phases.ts';

/**
 * A processor may depend on a processor of an upstream phase only if the trigger that starts its phase
 * cannot fire without that processor: the barrier before it requires the processor in every mode, or
 * waits only for phases whose own start already required it. Otherwise the trigger can fire without it.
 * A warning, since the processor may tolerate stale input. Later or unrelated phases are
 * `graph/dependency-not-upstream`. Prevents #9.
 */
export const dependencyNotGuaranteed: GraphRule = {
  code: 'graph/dependency-not-guaranteed',
  severity: 'warning',
  prevents: [9],
  skipAfter: ['graph/duplicate-name', 'graph/unknown-topic', 'graph/unknown-processor', 'graph/unknown-phase', 'graph/cycle'],
  check(pipelineGraph) {
    const { pipeline } = pipelineGraph;
    const findings: Finding[] = [];
    for (const processor of pipeline.processors) {
      for (const dep of processor.dependsOn) {
        const upstream = pipeline.processors.find((p) => p.name === dep.name);
        if (upstream === undefined || upstream.phase === processor.phase) continue;
        if (!upstreamPhasesOf(pipelineGraph, processor.phase).has(upstream.phase)) continue;
        if (phaseStartGuarantees(pipeline, processor.phase, dep.name, new Set())) continue;
        const gate = pipeline.barriers.find((b) => b.kind === 'phase' && b.publishes.name === processor.triggeredBy?.name);
        const holder =
          gate !== undefined && gate.members.some((m) => m.name === dep.name)
            ? gate
            : pipeline.barriers.find((b) => b.kind === 'phase' && b.members.some((m) => m.name === dep.name));
        const why = gate === undefined ? 'no barrier starts its phase' : `barrier "${gate.name}" can fire without it`;
        findings.push(
          findingOf(
            this,
            dep.path,
            `"${processor.name}" depends on "${dep.name}" (phase "${upstream.phase}"), but ${why}`,
            holder && requireHint(holder, dep.name),
          ),
        );
      }
    }
    return findings;
  },
};

/** True when the trigger that starts `phase` cannot be published before `dep` completed. */
function phaseStartGuarantees(pipeline: ResolvedPipeline, phase: string, dep: string, seen: Set<string>): boolean {
  const trigger = pipeline.phases.find((p) => p.name === phase)?.triggeredBy?.name;
  return trigger !== undefined && topicGuarantees(pipeline, trigger, dep, seen);
}

function topicGuarantees(pipeline: ResolvedPipeline, topic: string, dep: string, seen: Set<string>): boolean {
  if (seen.has(topic)) return false;
  seen.add(topic);
  const gates = pipeline.barriers.filter((b) => b.kind === 'phase' && b.publishes.name === topic);
  const coordinators = pipeline.coordinators.filter((c) => c.workTopic.name === topic);
  if (gates.length + coordinators.length === 0) return false;
  return (
    gates.every((gate) => barrierGuarantees(pipeline, gate, dep, seen)) &&
    coordinators.every((c) => topicGuarantees(pipeline, c.listens.name, dep, new Set(seen)))
  );
}

/** In every mode: `dep` is required, or every member that could complete started only after `dep` completed. */
function barrierGuarantees(pipeline: ResolvedPipeline, gate: ResolvedBarrier, dep: string, seen: Set<string>): boolean {
  const expectations = gate.modes
    ? gate.modes.profiles.map((profile) => ({ expected: (profile.expect ?? gate.members).map((r) => r.name), threshold: profile.threshold }))
    : [{ expected: gate.members.map((m) => m.name), threshold: gate.threshold }];
  return expectations.every(
    ({ expected, threshold }) =>
      isRequired(dep, expected, threshold, gate.deadlines) ||
      (expected.length > 0 &&
        expected.every((member) => {
          const phase = pipeline.processors.find((p) => p.name === member)?.phase;
          return phase !== undefined && phaseStartGuarantees(pipeline, phase, dep, new Set(seen));
        })),
  );
}

/**
 * Whether the gate cannot fire without `name`: it is a required member and no deadline tier may fire
 * without required members (`ignore_required`), or the threshold is `all` and no tier may fire short of it.
 */
function isRequired(name: string, expected: readonly string[], threshold: Threshold, deadlines: readonly DeadlineTier[]): boolean {
  if (!expected.includes(name)) return false;
  if (threshold.required.some((r) => r.name === name)) return !deadlines.some((tier) => tier.ignoreRequired);
  return threshold.kind === 'all' && deadlines.length === 0;
}

/** What to write so that `gate` requires `dep` in every mode: each field to add it to. */
function requireHint(gate: ResolvedBarrier, dep: string): string {
  const isMember = gate.members.some((m) => m.name === dep);
  const fields = (gate.modes?.profiles ?? [{ expect: undefined, threshold: gate.threshold, path: gate.path }]).flatMap((p) => {
    const expected = (p.expect ?? gate.members).map((r) => r.name);
    if (isRequired(dep, expected, p.threshold, gate.deadlines)) return [];
    const expect = expected.includes(dep) || (p.expect === undefined && isMember) ? [] : [[...p.path, 'expect']];
    const required = p.threshold.kind === 'all' ? [] : [[...p.threshold.path, 'required']];
    return [...expect, ...required].map((path) => formatPath(path));
  });
  return `require it: add "${dep}" to ${fields.join(', ')}`;
}
