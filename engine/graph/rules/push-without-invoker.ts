import { findingOf, type GraphRule } from '../graph-rule.ts';

/**
 * A push subscription must sign its requests with an invoker service account, which Baton grants
 * roles/run.invoker on exactly the target; without one Cloud Run answers 403 and nothing is logged.
 * Reported once per settings block that leaves it unset. Prevents #1, #24.
 */
export const pushWithoutInvoker: GraphRule = {
  code: 'graph/push-without-invoker',
  severity: 'error',
  prevents: [1, 24],
  check({ pipeline }) {
    const byBlock = new Map<string, { path: readonly (string | number)[]; names: string[] }>();
    for (const p of pipeline.processors) {
      if (p.triggeredBy === undefined || p.subscription.delivery !== 'push' || p.subscription.invoker !== undefined) continue;
      const id = p.subscription.path.join('.');
      const entry = byBlock.get(id) ?? { path: p.subscription.path, names: [] };
      entry.names.push(p.name);
      byBlock.set(id, entry);
    }
    return [...byBlock.values()].map(({ path, names }) => {
      const list = names.length > 3 ? `${names.slice(0, 3).join(', ')} and ${names.length - 3} more` : names.join(', ');
      return findingOf(
        this,
        path,
        `push subscription${names.length === 1 ? '' : 's'} of ${list} ${names.length === 1 ? 'has' : 'have'} no invoker identity; Cloud Run would reject every push with 403`,
        'set `invoker: <service-account-id>` under defaults.subscription (or the phase/processor subscription)',
      );
    });
  },
};
