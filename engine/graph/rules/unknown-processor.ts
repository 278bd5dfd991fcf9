import { suggestHint } from '../../config/suggest.ts';
import { findingOf, type GraphRule } from '../graph-rule.ts';
import { processorReferences } from '../references.ts';

/** Members, required members, expectations and dependencies must name declared processors. Prevents #7, #8. */
export const unknownProcessor: GraphRule = {
  code: 'graph/unknown-processor',
  severity: 'error',
  prevents: [7, 8],
  check({ pipeline }) {
    const declared = pipeline.processors.map((p) => p.name);
    return processorReferences(pipeline)
      .filter((ref) => !declared.includes(ref.name))
      .map((ref) => findingOf(this, ref.path, `processor "${ref.name}" is not declared in any phase`, suggestHint(ref.name, declared, 'declared processors')));
  },
};
