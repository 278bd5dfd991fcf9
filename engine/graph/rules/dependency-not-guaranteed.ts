import type { Finding } from '../../config/diagnostic.ts';
import { findingOf, type GraphRule } from '../graph-rule.ts';

/**
 * A processor may depend on a processor of an earlier phase only if the barrier that starts its phase
 * requires that processor in every mode; otherwise the trigger can fire without it. A warning, since
 * the processor may tolerate stale input. Prevents #9.
 */
export const dependencyNotGuaranteed: GraphRule = {
  code: 'graph/dependency-not-guaranteed',
  severity: 'warning',
  prevents: [9],
  skipAfter: ['graph/duplicate-name', 'graph/unknown-topic', 'graph/unknown-processor', 'graph/unknown-phase'],
  check({ pipeline }) {
    const findings: Finding[] = [];
    for (const processor of pipeline.processors) {
      for (const dep of processor.dependsOn) {
        const upstream = pipeline.processors.find((p) => p.name === dep.name);
        if (upstream === undefined) continue;
        if (upstream.phase === processor.phase) continue;
        const gate = pipeline.barriers.find((b) => b.kind === 'phase' && b.publishes.name === processor.triggeredBy?.name);
        const guaranteed =
          gate !== undefined &&
          (gate.modes
            ? gate.modes.profiles.every((profile) =>
                isGuaranteed(dep.name, profile.expect?.map((r) => r.name) ?? gate.members.map((m) => m.name), profile.threshold),
              )
            : isGuaranteed(
                dep.name,
                gate.members.map((m) => m.name),
                gate.threshold,
              ));
        if (!guaranteed) {
          const why = gate === undefined ? 'no barrier starts its phase' : `barrier "${gate.name}" can fire without it`;
          findings.push(
            findingOf(
              this,
              dep.path,
              `"${processor.name}" depends on "${dep.name}" (phase "${upstream.phase}"), but ${why}`,
              gate ? `make "${dep.name}" required in every mode of "${gate.name}"` : undefined,
            ),
          );
        }
      }
    }
    return findings;
  },
};

function isGuaranteed(name: string, expected: readonly string[], threshold: { kind: string; required: readonly { name: string }[] }): boolean {
  if (!expected.includes(name)) return false;
  return threshold.kind === 'all' || threshold.required.some((r) => r.name === name);
}
