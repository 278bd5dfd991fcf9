import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadPipeline } from '../../../engine/config/load-pipeline.ts';
import { packageRoot } from '../../../engine/config/package-root.ts';
import type { ResolvedPipeline } from '../../../engine/config/resolved-pipeline.ts';
import type { BatchState, DeadlineSnapshot, TriggerRecord } from '../../../engine/ports/state-store.ts';
import type { BarrierKeyStatus } from '../../../engine/runtime/completion-barrier.ts';
import { findStuck, PUBLISH_GRACE_MS } from '../../../engine/runtime/find-stuck.ts';
import type { KeyView } from '../../../engine/runtime/inspect-key.ts';

const pipeline = loadPipeline(join(packageRoot(), 'pipeline.yaml')).pipeline as ResolvedPipeline;
const H = 3_600_000;
const T0 = 1_000_000_000_000;
const MEMBERS = ['a', 'b', 'c', 'd', 'e'];
const TIERS: DeadlineSnapshot[] = [
  { after: '1h', afterMs: H, minMembers: 4 },
  { after: '4h', afterMs: 4 * H, minMembers: 3 },
];

/** phase4-complete for key K: `counted` members counted, `failed` reported failed, the rest unreported. */
function barrier(counted: string[], failed: string[], options: { tiers?: DeadlineSnapshot[]; trigger?: Partial<TriggerRecord> } = {}): BarrierKeyStatus {
  const trigger = options.trigger && {
    emitter: 'phase4-complete',
    scope: 'K',
    topic: 't',
    message: { id: 'x', attributes: {}, data: '{}' },
    reason: 'deadline',
    decidedAt: T0,
    publishedAt: undefined,
    ...options.trigger,
  };
  return {
    snapshot: {
      barrier: 'phase4-complete',
      key: 'K',
      expected: MEMBERS,
      mode: undefined,
      threshold: { kind: 'all', required: [], count: undefined, quorum: undefined },
      deadlines: options.tiers ?? TIERS,
      countsAsComplete: ['success'],
      firstCompletionAt: T0,
      correlationId: 'c',
      traceparent: undefined,
    },
    trigger,
    nextDeadlineAt: undefined,
    completed: counted,
    missing: MEMBERS.filter((m) => !counted.includes(m)),
    failed,
    joined: [],
    needed: MEMBERS.length,
  };
}

function view(status: BarrierKeyStatus | undefined, batch?: Partial<BatchState> & { counted: number; total: number }): KeyView {
  const ids = Array.from({ length: batch?.total ?? 0 }, (_, i) => i + 1);
  return {
    key: 'K',
    correlationId: 'c',
    barriers: [{ barrier: 'phase4-complete', kind: 'phase', status, generations: status ? [status] : [] }],
    batches:
      batch === undefined
        ? []
        : [
            {
              coordinator: 'prediction-coordinator',
              batchId: 'B',
              progress: {
                state: { batch: { state: 'active', createdAt: T0 } as BatchState['batch'], items: [], lastProgressAt: T0, completion: batch.completion },
                counted: ids.slice(0, batch.counted),
                failed: [],
                unreported: ids.slice(batch.counted),
                total: batch.total,
              },
            },
          ],
  };
}

const kinds = (v: KeyView, now: number): string[] =>
  findStuck(pipeline, v, now).map((i) => `${i.kind} ${i.fix.by}${i.fix.by === 'operator' ? ` ${i.fix.rerun.join(',')}` : ''}`);

describe('findStuck', () => {
  it.each([
    ['waiting for members before its first tier', view(barrier(['a', 'b', 'c'], [])), T0 + 30 * 60_000, []],
    ['a tier elapsed whose minimum holds', view(barrier(['a', 'b', 'c', 'd'], [])), T0 + 2 * H, ['tier-due tick']],
    ['members still out, a tier ahead that may yet fire', view(barrier(['a', 'b'], [])), T0 + 2 * H, []],
    ['the last tier elapsed short, members unreported', view(barrier(['a', 'b'], ['c'])), T0 + 5 * H, ['past-last-tier operator c,d,e']],
    ['everyone reported, too few counted, no tier would fire', view(barrier(['a', 'b'], ['c', 'd', 'e'])), T0 + 2 * H, ['unreachable operator c,d,e']],
    ['everyone reported, a later tier will fire them', view(barrier(['a', 'b', 'c'], ['d', 'e'])), T0 + 2 * H, []],
    ['no deadline and members still out: they may yet report', view(barrier(['a'], [], { tiers: [] })), T0 + 100 * H, []],
    ['a trigger decided and published', view(barrier(MEMBERS, [], { trigger: { publishedAt: T0 } })), T0 + H, []],
    ['a trigger decided just now, not published yet', view(barrier(MEMBERS, [], { trigger: {} })), T0 + PUBLISH_GRACE_MS - 1, []],
    ['a trigger decided a while ago, never published', view(barrier(MEMBERS, [], { trigger: {} })), T0 + PUBLISH_GRACE_MS, ['unpublished tick']],
    ['a batch quiet for less than its stall window', view(undefined, { counted: 96, total: 100 }), T0 + 9 * 60_000, []],
    ['a batch quiet past its stall window at its stall minimum', view(undefined, { counted: 96, total: 100 }), T0 + 10 * 60_000, ['stalled tick']],
    ['a batch quiet past its stall window below it', view(undefined, { counted: 50, total: 100 }), T0 + H, ['stalled-short operator prediction_worker']],
  ])('%s', (_title, v, now, expected) => {
    expect(kinds(v, now)).toEqual(expected);
  });

  it('leaves a dependency barrier alone once its phase ended by its own barrier', () => {
    const dependency = { ...barrier(['a'], ['b', 'c', 'd', 'e'], { tiers: [] }) };
    const fired = barrier(['a', 'b'], [], { trigger: { publishedAt: T0 } });
    const base = view(fired);
    const withDependency: KeyView = {
      ...base,
      barriers: [...base.barriers, { barrier: 'player_composite_factors-dependencies', kind: 'dependency', status: dependency, generations: [dependency] }],
    };
    expect(kinds(withDependency, T0 + 5 * H)).toEqual([]);
    const open: KeyView = { ...withDependency, barriers: [{ ...base.barriers[0]!, status: undefined, generations: [] }, withDependency.barriers[1]!] };
    expect(kinds(open, T0 + 5 * H)).toEqual(['unreachable operator b,c,d,e']);
  });
});
