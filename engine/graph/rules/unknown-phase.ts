import { suggestHint } from '../../config/suggest.ts';
import { findingOf, type GraphRule } from '../graph-rule.ts';
import { phaseReferences } from '../references.ts';

/** Barrier members and coordinators must name declared phases. Prevents #7. */
export const unknownPhase: GraphRule = {
  code: 'graph/unknown-phase',
  severity: 'error',
  prevents: [7],
  check({ pipeline }) {
    const declared = pipeline.phases.map((p) => p.name);
    return phaseReferences(pipeline)
      .filter((ref) => !declared.includes(ref.name))
      .map((ref) => findingOf(this, ref.path, `phase "${ref.name}" is not declared under phases`, suggestHint(ref.name, declared, 'declared phases')));
  },
};
