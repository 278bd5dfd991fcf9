import type { Finding, Severity } from '../config/diagnostic.ts';
import type { PipelineGraph } from './pipeline-graph.ts';

/** One graph rule: a check over the whole graph that returns every problem it finds. */
export interface GraphRule {
  /** Diagnostic code, `graph/<file name>`. */
  readonly code: string;
  /** Errors make the pipeline invalid; warnings are shown and allowed. */
  readonly severity: Severity;
  /** Rows of reference/failure-modes.md this rule makes impossible. */
  readonly prevents: readonly number[];
  /** Codes whose findings make this rule's findings mere consequences: the rule is skipped after them. */
  readonly skipAfter?: readonly string[];
  check(graph: PipelineGraph): Finding[];
}

/** Builds a finding for a rule. */
export function findingOf(rule: Pick<GraphRule, 'code' | 'severity'>, path: Finding['path'], message: string, hint?: string): Finding {
  return { code: rule.code, severity: rule.severity, path, message, hint };
}
