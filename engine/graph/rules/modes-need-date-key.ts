import { findingOf, type GraphRule } from '../graph-rule.ts';

/**
 * `modes: { select: key_date_vs_today }` compares the key with today's date as YYYY-MM-DD. On a
 * `string` key that comparison is a string comparison: an hourly key `2026-11-29T13` sorts after
 * today's `2026-11-29`, so every key of today silently selects the `after_today` profile. The select
 * needs a `date` key, whose every value is a calendar date, or an `hour` key, a UTC hour placed on the
 * day it falls on in the modes' time zone. Prevents #9.
 */
export const modesNeedDateKey: GraphRule = {
  code: 'graph/modes-need-date-key',
  severity: 'error',
  prevents: [9],
  check({ pipeline }) {
    if (pipeline.key.type === 'date' || pipeline.key.type === 'hour') return [];
    return pipeline.barriers
      .filter((barrier) => barrier.modes !== undefined)
      .map((barrier) =>
        findingOf(
          this,
          [...(barrier.modes?.path ?? barrier.path), 'select'],
          `barrier "${barrier.name}" selects its mode by ${barrier.modes?.select ?? 'key_date_vs_today'}, but key "${pipeline.key.name}" is a ${pipeline.key.type}, not a date or an hour; keys would be compared as text`,
          pipeline.key.pattern === undefined
            ? `set "type: date" under key (every key is then YYYY-MM-DD; "type: hour" for YYYY-MM-DDTHH keys), or give the barrier one threshold instead of modes`
            : `set "type: date" under key and remove its pattern (every key is then YYYY-MM-DD; "type: hour" for YYYY-MM-DDTHH keys), or give the barrier one threshold instead of modes`,
        ),
      );
  },
};
