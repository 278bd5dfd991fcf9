import { closestMatch, suggestHint } from '../../config/suggest.ts';
import { findingOf, type GraphRule } from '../graph-rule.ts';
import { entityTypeReferences } from '../references.ts';

/**
 * Every entity type a coordinator or the simulation names must be declared once under the top-level
 * `entities:`. A misspelt type (`shops` for `shop`) otherwise validates, finds no ids in any trigger or
 * universe, and the coordinator reports a batch of 0/0 as finished. A file with no `entities:` gets one
 * finding that says exactly what to declare. Prevents #7 (a name that silently refers to nothing).
 */
export const unknownEntityType: GraphRule = {
  code: 'graph/unknown-entity-type',
  severity: 'error',
  prevents: [7],
  check({ pipeline }) {
    const references = entityTypeReferences(pipeline);
    if (pipeline.entityTypes === undefined) {
      const first = references[0];
      if (first === undefined) return [];
      const types = [...new Set(references.map((r) => r.name))];
      const others = references.length - 1;
      return [
        findingOf(
          this,
          first.path,
          `entity type${types.length === 1 ? '' : 's'} ${types.map((t) => `"${t}"`).join(', ')} ${types.length === 1 ? 'is' : 'are'} named here${others > 0 ? ` and in ${others} other place${others === 1 ? '' : 's'}` : ''}, but the pipeline declares no entity types (no top-level "entities:")`,
          `add "entities: { ${types.map((t) => `${t}: {}`).join(', ')} }" at the top level`,
        ),
      ];
    }
    const declared = pipeline.entityTypes.map((e) => e.name);
    return references
      .filter((ref) => !declared.includes(ref.name))
      .map((ref) => findingOf(this, ref.path, `entity type "${ref.name}" is not declared under "entities:"`, hintFor(ref.name, declared)));
  },
};

/** With one declared type, any other name is most likely a typo of it; with several, the closest or the list. */
function hintFor(name: string, declared: readonly string[]): string {
  const only = declared.length === 1 ? declared[0] : undefined;
  const match = closestMatch(name, declared) ?? only;
  if (match !== undefined) return `did you mean "${match}"?`;
  return suggestHint(name, declared, 'declared entity types') ?? `declare it: add "${name}: {}" under entities`;
}
