import { findingOf, type GraphRule } from '../graph-rule.ts';

/**
 * A push subscription must sign its requests with an invoker service account, which Baton grants
 * roles/run.invoker on exactly the target; without one Cloud Run answers 403 and nothing is logged.
 * Prevents #1, #24.
 */
export const pushWithoutInvoker: GraphRule = {
  code: 'graph/push-without-invoker',
  severity: 'error',
  prevents: [1, 24],
  check({ pipeline }) {
    return pipeline.processors
      .filter((p) => p.triggeredBy !== undefined && p.subscription.delivery === 'push' && p.subscription.invoker === undefined)
      .map((p) =>
        findingOf(
          this,
          p.path,
          `processor "${p.name}" is pushed to without an invoker identity; Cloud Run would reject every push with 403`,
          'set `invoker: <service-account-id>` under defaults.subscription (or the phase/processor subscription)',
        ),
      );
  },
};
