import type { Finding } from '../../config/diagnostic.ts';
import type { SubscriptionSettings } from '../../config/resolved-pipeline.ts';
import { findingOf, type GraphRule } from '../graph-rule.ts';

/**
 * Subscription settings that production learned to avoid: an ack deadline under 60 s redelivers work
 * still running (duplicates), and a minimum backoff above the maximum is ignored by Pub/Sub. A warning:
 * short deadlines can be right for very fast processors. Prevents #19.
 */
export const subscriptionSettings: GraphRule = {
  code: 'graph/subscription-settings',
  severity: 'warning',
  prevents: [19],
  check({ pipeline }) {
    const seen = new Map<string, SubscriptionSettings>();
    for (const p of pipeline.processors) seen.set(p.subscription.path.join('.'), p.subscription);
    const findings: Finding[] = [];
    for (const settings of seen.values()) {
      if (settings.ackDeadlineSeconds < 60) {
        findings.push(
          findingOf(
            this,
            [...settings.path, 'ack_deadline_seconds'],
            `ack deadline of ${settings.ackDeadlineSeconds} s redelivers work that runs longer, causing duplicate processing`,
            'use 600 unless every processor acks within seconds',
          ),
        );
      }
      if (settings.minBackoffSeconds > settings.maxBackoffSeconds) {
        findings.push(
          findingOf(
            this,
            [...settings.path, 'retry'],
            `min_backoff_seconds (${settings.minBackoffSeconds}) is above max_backoff_seconds (${settings.maxBackoffSeconds})`,
            'swap them',
          ),
        );
      }
    }
    return findings;
  },
};
