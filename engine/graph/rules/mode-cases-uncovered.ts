import type { ModeProfile } from '../../config/resolved-pipeline.ts';
import { formatPath } from '../../config/diagnostic.ts';
import { findingOf, type GraphRule } from '../graph-rule.ts';

/** Every case `key_date_vs_today` can select, in the order time runs. */
export const MODE_CASES: readonly ModeProfile['when'][] = ['before_today', 'today', 'after_today'];

/**
 * Modes must give every case a profile: a key whose case has none cannot be evaluated, so each of its
 * completions goes to the dead-letter topic at run time and the barrier never fires for it.
 * Prevents #8 (a key stranded behind a barrier that cannot fire).
 */
export const modeCasesUncovered: GraphRule = {
  code: 'graph/mode-cases-uncovered',
  severity: 'error',
  prevents: [8],
  check({ pipeline }) {
    return pipeline.barriers.flatMap((barrier) => {
      const modes = barrier.modes;
      if (modes === undefined) return [];
      const covered = new Set(modes.profiles.map((p) => p.when));
      const missing = MODE_CASES.filter((when) => !covered.has(when));
      if (missing.length === 0) return [];
      const names = new Set(modes.profiles.map((p) => p.name));
      const snippets = missing.map((when) => `"${names.has(when) ? `${when}_mode` : when}: { when: ${when} }"`);
      const keys = missing.map((when) => when.replace('_', ' ')).join(' or ');
      return [
        findingOf(
          this,
          [...modes.path, 'profiles'],
          `barrier "${barrier.name}" has no mode profile for ${missing.map((w) => `when: ${w}`).join(', ')}; completions of a key ${keys} would go to the dead-letter topic`,
          `add ${snippets.join(' and ')} under ${formatPath([...modes.path, 'profiles'])} (it expects every member; threshold all)`,
        ),
      ];
    });
  },
};
