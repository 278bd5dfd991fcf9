import type { TriggerData } from './envelope.ts';

type Counts = Pick<TriggerData, 'members_completed' | 'members_missing' | 'members_failed'>;

/**
 * `57/60`: members (or entities) counted of all expected. Old coordinator triggers whose
 * `members_missing` left the failed entities out still add up to the batch.
 */
export function countOf(data: Counts): string {
  const total = data.members_completed.length + new Set([...data.members_missing, ...(data.members_failed ?? [])]).size;
  return `${data.members_completed.length}/${total}`;
}

/**
 * A trigger's counts as the views of many entities print them (a coordinator's batch in `baton status`,
 * `trace`, the run summary and report): `286/300`, then `, 14 failed` when any reported only statuses
 * that do not count. Barriers, with few members, print `countOf` and name the failed ones instead.
 */
export function describeCounts(data: Counts): string {
  const failed = data.members_failed?.length ?? 0;
  return `${countOf(data)}${failed > 0 ? `, ${failed} failed` : ''}`;
}

/** Members (or entities) that never reported: `members_missing` without the failed ones. */
export function unreportedOf(data: Pick<TriggerData, 'members_missing' | 'members_failed'>): string[] {
  const failed = new Set(data.members_failed ?? []);
  return data.members_missing.filter((m) => !failed.has(m));
}
