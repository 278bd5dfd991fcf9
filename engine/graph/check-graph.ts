import type { Finding } from '../config/diagnostic.ts';
import type { PipelineGraph } from './pipeline-graph.ts';
import { GRAPH_RULES } from './rules/index.ts';

/**
 * Stage 5: runs every graph rule and returns all their findings. A rule whose `skipAfter` codes already
 * fired is skipped, so one typo yields one error rather than a cascade of consequences.
 */
export function checkGraph(graph: PipelineGraph): Finding[] {
  const findings: Finding[] = [];
  const fired = new Set<string>();
  for (const rule of GRAPH_RULES) {
    if (rule.skipAfter?.some((code) => fired.has(code))) continue;
    const found = rule.check(graph);
    if (found.length > 0) fired.add(rule.code);
    findings.push(...found);
  }
  return findings;
}
