import type { Finding } from '../../config/diagnostic.ts';
import { findingOf, type GraphRule } from '../graph-rule.ts';
import { upstreamPhasesOf } from '../upstream-phases.ts';

/**
 * A processor may depend only on processors of its own phase (a dependency barrier waits for them) or
 * of an upstream phase (the barrier that starts its phase can wait for them). A dependency on a later
 * or unrelated phase is enforced by nothing: the processor starts without it and the run still
 * succeeds, so the file says something the run does not do. Prevents #9.
 */
export const dependencyNotUpstream: GraphRule = {
  code: 'graph/dependency-not-upstream',
  severity: 'error',
  prevents: [9],
  skipAfter: ['graph/duplicate-name', 'graph/unknown-topic', 'graph/unknown-processor', 'graph/unknown-phase', 'graph/cycle'],
  check(pipelineGraph) {
    const { pipeline } = pipelineGraph;
    const findings: Finding[] = [];
    for (const processor of pipeline.processors) {
      for (const dep of processor.dependsOn) {
        const upstream = pipeline.processors.find((p) => p.name === dep.name);
        if (upstream === undefined || upstream.phase === processor.phase) continue;
        if (upstreamPhasesOf(pipelineGraph, processor.phase).has(upstream.phase)) continue;
        const later = upstreamPhasesOf(pipelineGraph, upstream.phase).has(processor.phase);
        findings.push(
          findingOf(
            this,
            dep.path,
            `"${processor.name}" depends on "${dep.name}", but phase "${upstream.phase}" ${later ? 'runs after' : 'does not run before'} phase "${processor.phase}", so nothing makes "${processor.name}" wait for it`,
            `remove "${dep.name}" from the depends_on of "${processor.name}" (a processor can wait only for its own phase or an upstream one)`,
          ),
        );
      }
    }
    return findings;
  },
};
