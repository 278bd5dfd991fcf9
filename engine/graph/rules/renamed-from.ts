import type { Finding } from '../../config/diagnostic.ts';
import type { Ref } from '../../config/resolved-pipeline.ts';
import { findingOf, type GraphRule } from '../graph-rule.ts';

/**
 * `renamed_from:` says which old name a processor or barrier replaces, so `baton plan` reports a rename
 * instead of a removal and an addition. It must name something that no longer exists: an old name that
 * is still declared (or the thing's own name) would make the plan hide a real addition, and two things
 * renamed from one name would split its history. Prevents #6 (a rename the plan misreads leaves the old
 * name's subscription unnoticed).
 */
export const renamedFrom: GraphRule = {
  code: 'graph/renamed-from',
  severity: 'error',
  prevents: [6],
  check({ pipeline }) {
    const findings: Finding[] = [];
    const kinds: { what: string; names: readonly string[]; renames: { name: string; from: Ref }[] }[] = [
      {
        what: 'processor',
        names: pipeline.processors.map((p) => p.name),
        renames: pipeline.processors.flatMap((p) => (p.renamedFrom === undefined ? [] : [{ name: p.name, from: p.renamedFrom }])),
      },
      {
        what: 'barrier',
        names: pipeline.barriers.map((b) => b.name),
        renames: pipeline.barriers.flatMap((b) => (b.renamedFrom === undefined ? [] : [{ name: b.name, from: b.renamedFrom }])),
      },
    ];
    for (const { what, names, renames } of kinds) {
      const claimed = new Map<string, string>();
      for (const { name, from } of renames) {
        if (from.name === name) {
          findings.push(findingOf(this, from.path, `${what} "${name}" is renamed from its own name`, 'remove renamed_from, or name the old name'));
        } else if (names.includes(from.name)) {
          findings.push(
            findingOf(
              this,
              from.path,
              `${what} "${name}" is renamed from "${from.name}", which is still declared`,
              `a rename removes the old ${what}: delete "${from.name}", or drop renamed_from if "${name}" is new`,
            ),
          );
        } else if (claimed.has(from.name)) {
          findings.push(
            findingOf(
              this,
              from.path,
              `${what}s "${claimed.get(from.name) ?? ''}" and "${name}" are both renamed from "${from.name}"`,
              'one of them is new: drop its renamed_from',
            ),
          );
        } else claimed.set(from.name, name);
      }
    }
    return findings;
  },
};
