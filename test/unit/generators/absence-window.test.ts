import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { completionAbsenceWindow } from '../../../generators/alerts.ts';
import { fileOf, generated } from './generate-fixture.ts';

const HOURLY = fileURLToPath(new URL('../../fixtures/valid/hourly-telemetry.yaml', import.meta.url));

describe("the no-final-output window follows the key's cadence (issue 10: it was 26 h for every pipeline)", () => {
  it.each([
    { cadence: '1d', ms: 86_400_000, window: '93600s' },
    { cadence: '1h', ms: 3_600_000, window: '7200s' },
    { cadence: '15m', ms: 900_000, window: '1800s' },
    { cadence: '6h', ms: 21_600_000, window: '28800s' },
    { cadence: '7d', ms: 604_800_000, window: '612000s' },
  ])('a key every $cadence: nothing on the terminal topic for $window', ({ ms, window }) => {
    expect(completionAbsenceWindow(ms)).toBe(window);
  });

  it('renders a 2 h window for an hour key into Terraform, deploy.sh and the runbook', async () => {
    const { files } = await generated(HOURLY);
    expect(fileOf(files, 'terraform/variables.tf')).toMatch(/variable "completion_absence_window" \{[^}]*default\s+= "7200s"/);
    expect(fileOf(files, 'gcloud/deploy.sh')).toContain("DEFAULT_COMPLETION_ABSENCE_WINDOW='7200s'");
    expect(fileOf(files, 'docs/runbook.md')).toContain("default 7200s = 2 h, from the key's cadence");
  });

  it('takes key.cadence over the default of the key type', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'baton-cadence-')), 'pipeline.yaml');
    writeFileSync(file, readFileSync(HOURLY, 'utf8').replace('  type: hour\n', '  type: hour\n  cadence: 6h\n'));
    const { files } = await generated(file);
    expect(fileOf(files, 'terraform/variables.tf')).toMatch(/default\s+= "28800s"/);
  });
});
