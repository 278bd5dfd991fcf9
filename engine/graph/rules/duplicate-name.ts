import type { Finding } from '../../config/diagnostic.ts';
import { normalizeName } from '../../config/suggest.ts';
import { findingOf, type GraphRule } from '../graph-rule.ts';

/**
 * One name per thing: names that differ only in case or `-`/`_` (`nbac_team_boxscore` vs
 * `nbac-team-boxscore`) clash, because they become the same service, table and resource names.
 * Components (processors, barriers, coordinators) share one namespace; topics and phases have their own.
 * Prevents #7.
 */
export const duplicateName: GraphRule = {
  code: 'graph/duplicate-name',
  severity: 'error',
  prevents: [7],
  check({ pipeline }) {
    const findings: Finding[] = [];
    const namespaces = [
      [
        ...pipeline.processors.map((p) => ({ name: p.name, what: `processor in phase "${p.phase}"`, path: p.path })),
        ...pipeline.barriers.filter((b) => b.kind === 'phase').map((b) => ({ name: b.name, what: 'barrier', path: b.path })),
        ...pipeline.coordinators.map((c) => ({ name: c.name, what: 'coordinator', path: c.path })),
      ],
      pipeline.topics.flatMap((t) => [
        { name: t.name, what: 'topic', path: t.path },
        ...(t.deadLetter.enabled ? [{ name: t.deadLetter.topic, what: `dead-letter topic of "${t.name}"`, path: t.path }] : []),
      ]),
      pipeline.phases.map((p) => ({ name: p.name, what: 'phase', path: p.path })),
    ];
    for (const entries of namespaces) {
      const first = new Map<string, (typeof entries)[number]>();
      for (const entry of entries) {
        const folded = normalizeName(entry.name);
        const earlier = first.get(folded);
        if (earlier === undefined) {
          first.set(folded, entry);
          continue;
        }
        const same = earlier.name === entry.name ? 'is already used' : `clashes with "${earlier.name}"`;
        findings.push(
          findingOf(
            this,
            entry.path,
            `name "${entry.name}" (${entry.what}) ${same} (${earlier.what}); names must differ by more than case and -/_`,
            'rename one of them',
          ),
        );
      }
    }
    return findings;
  },
};
