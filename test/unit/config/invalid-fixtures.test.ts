import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatReport } from '../../../engine/config/format-diagnostics.ts';
import { loadPipeline } from '../../../engine/config/load-pipeline.ts';

const folder = new URL('../../fixtures/invalid/', import.meta.url).pathname;
const fixtures = readdirSync(folder)
  .filter((name) => name.endsWith('.yaml'))
  .sort();

/** Each fixture sits beside the exact report it must produce. UPDATE_FIXTURES=1 rewrites them (review the diff!). */
describe('invalid pipeline fixtures', () => {
  it('cover at least 30 cases', () => {
    expect(fixtures.length).toBeGreaterThanOrEqual(30);
  });

  it.each(fixtures)('%s yields exactly its expected report', (name) => {
    const file = join(folder, name);
    const result = loadPipeline(file);
    const report = `${formatReport(basename(file), result)}\n`;
    const expectedFile = file.replace(/\.yaml$/, '.expected');
    if (process.env.UPDATE_FIXTURES === '1') writeFileSync(expectedFile, report);
    expect(report).toBe(readFileSync(expectedFile, 'utf8'));
    expect(result.diagnostics.length).toBeGreaterThan(0);
    for (const diagnostic of result.diagnostics) expect(diagnostic.line).toBeGreaterThanOrEqual(1);
  });
});
