import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadPipeline } from '../../../engine/config/load-pipeline.ts';
import { packageRoot } from '../../../engine/config/package-root.ts';
import type { ResolvedPipeline } from '../../../engine/config/resolved-pipeline.ts';
import { backfillCompletion, backfillPhases, backfillStart, entryRequest } from '../../../engine/runtime/backfill-start.ts';
import { parseMessage } from '../../../engine/runtime/envelope.ts';

const loaded = loadPipeline(join(packageRoot(), 'pipeline.yaml'));
const pipeline = loaded.pipeline as ResolvedPipeline;
const executionOf = (message: { data: string }): string => (JSON.parse(message.data) as { execution_id: string }).execution_id;

describe('backfillStart', () => {
  it.each([
    ['scrapers', 'entry: nba_scrapers'],
    ['raw', 'nba-phase1-scrapers-complete ← nba_scrapers (scrapers)'],
    // Through the phase2-to-phase3 barrier: its members' completions, never a forged trigger.
    ['analytics', 'nba-phase2-raw-complete ← 21 processors (raw)'],
    // Through the coordinator and phase4-complete: the precompute processors' completions.
    ['predictions', 'nba-phase4-processor-complete ← 5 processors (precompute)'],
  ])('starts %s by %s', (phase, expected) => {
    const found = backfillStart(pipeline, phase);
    if (!found.ok) throw new Error(found.error);
    const { start } = found;
    const described =
      start.kind === 'entry'
        ? `entry: ${start.processors.map((p) => p.name).join(', ')}`
        : `${start.topic} ← ${start.processors.length === 1 ? (start.processors[0]?.name ?? '') : `${start.processors.length} processors`} (${start.upstream})`;
    expect(described).toBe(expected);
  });

  it('runs the start phase upstream and every phase after it', () => {
    const found = backfillStart(pipeline, 'analytics');
    if (!found.ok) throw new Error(found.error);
    expect(backfillPhases(pipeline, found.start)).toEqual(['raw', 'analytics', 'precompute', 'predictions']);
  });

  it('gives a key the same schema-valid completion and entry ids on every attempt, and --force executions new ones', () => {
    const processor = pipeline.processors.find((p) => p.name === 'nba_scrapers');
    if (processor === undefined) throw new Error('no nba_scrapers');
    const once = backfillCompletion(pipeline, processor, '2025-11-01', { execution: 'backfill' }, 1_000, 'h1');
    const twice = backfillCompletion(pipeline, processor, '2025-11-01', { execution: 'backfill' }, 9_000, 'h1');
    const forced = backfillCompletion(pipeline, processor, '2025-11-01', { execution: 'backfill-1a2b' }, 9_000, 'h1');
    expect(parseMessage(once).data).toMatchObject({ processor_name: 'nba_scrapers', key: '2025-11-01', status: 'success', trigger_source: 'manual' });
    expect(once.id).toBe(twice.id);
    expect(executionOf(once)).toBe(executionOf(twice));
    expect(forced.id).not.toBe(once.id);
    expect(executionOf(forced)).not.toBe(executionOf(once));
    expect(entryRequest({ execution: 'backfill' }, '2025-11-01')).toEqual(entryRequest({ execution: 'backfill' }, '2025-11-01'));
  });
});
