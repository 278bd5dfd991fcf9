import { suggestHint } from '../../config/suggest.ts';
import { findingOf, type GraphRule } from '../graph-rule.ts';
import { topicReferences } from '../references.ts';

/** Every topic a phase, barrier or coordinator names must be declared under `topics:`. Prevents #4, #18, #30. */
export const unknownTopic: GraphRule = {
  code: 'graph/unknown-topic',
  severity: 'error',
  prevents: [4, 18, 30],
  check({ pipeline }) {
    const declared = pipeline.topics.map((t) => t.name);
    return topicReferences(pipeline)
      .filter((ref) => !declared.includes(ref.name))
      .map((ref) => findingOf(this, ref.path, `topic "${ref.name}" is not declared under topics`, suggestHint(ref.name, declared, 'declared topics')));
  },
};
