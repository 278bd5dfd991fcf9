import { appendFileSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BackfillJournal } from '../../../engine/cli/backfill-journal.ts';

describe('BackfillJournal', () => {
  it('continues from what an earlier process recorded, ignoring a line a kill cut short, and keeps a --force execution', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'baton-journal-')), 'b', 'j.jsonl');
    const args = { from: '2025-11-01', to: '2025-11-03', phase: 'raw', force: true };
    const first = new BackfillJournal(file, args);
    first.record('sent', '2025-11-01');
    first.record('done', '2025-11-01');
    first.record('sent', '2025-11-02');
    appendFileSync(file, '{"sent":"2025-11-0');

    const again = new BackfillJournal(file, args);
    expect(again.resumed).toBe(true);
    expect(again.execution).toBe(first.execution);
    expect(again.execution).toMatch(/^backfill-[0-9a-f]{8}$/);
    expect([...again.sent]).toEqual(['2025-11-01', '2025-11-02']);
    expect([...again.done]).toEqual(['2025-11-01']);
    expect(readFileSync(file, 'utf8').split('\n')[0]).toContain('"backfill":{"from":"2025-11-01"');
    again.record('sent', '2025-11-03');
    expect([...new BackfillJournal(file, args).sent]).toEqual(['2025-11-01', '2025-11-02', '2025-11-03']);
  });
});
