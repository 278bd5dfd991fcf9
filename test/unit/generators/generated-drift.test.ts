import { describe, expect, it } from 'vitest';
import { loadPipeline } from '../../../engine/config/load-pipeline.ts';
import { packageRoot } from '../../../engine/config/package-root.ts';
import { checkDrift, generateAll } from '../../../generators/generate.ts';

describe('the committed generated/ folder', () => {
  it('matches what pipeline.yaml renders today (run `npx baton generate` after editing it)', async () => {
    const root = packageRoot();
    const files = await generateAll(loadPipeline(`${root}/pipeline.yaml`));
    expect(await checkDrift(`${root}/generated`, files)).toEqual({ changed: [], missing: [], extra: [] });
  });
});
