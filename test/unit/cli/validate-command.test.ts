import { execFileSync, spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { runCli as run } from '../../helpers/run-cli.ts';

const fixture = (name: string): string => new URL(`../../fixtures/${name}`, import.meta.url).pathname;
const ESC = '\u001b[';

describe('baton validate', () => {
  it('exits 0 on the NBA pipeline and summarises phases, topics and thresholds in words', async () => {
    const { code, stdout, stderr } = await run('validate');
    expect(code).toBe(0);
    expect(stderr).toBe('');
    expect(stdout).toContain('pipeline.yaml is valid: pipeline nba-props, key game_date');
    expect(stdout).toMatch(/raw\s+21 processors/);
    expect(stdout).toContain('topics (10, 10 with a dead-letter topic)');
    expect(stdout).toContain('fires on all 21');
    expect(stdout).toContain('overnight: critical (2) + 60% of 5');
    expect(stdout).toContain('tiers 5→4@1h→3@2h→any@4h');
    expect(stdout).toContain('entity types (2): players, teams');
  });

  it('exits 1 and prints located diagnostics with hints for an invalid file', async () => {
    const { code, stdout, stderr } = await run('validate', fixture('invalid/unknown-topic.yaml'));
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr).toMatch(/unknown-topic\.yaml:28:16 error \[graph\/unknown-topic\] phases\.stage\.publishes: topic "stage-compelte"/);
    expect(stderr).toContain('hint: did you mean "stage-complete"?');
  });

  it('reports a missing file as a located diagnostic, not a stack trace', async () => {
    const { code, stderr } = await run('validate', 'no/such/pipeline.yaml');
    expect(code).toBe(1);
    expect(stderr).toContain('no/such/pipeline.yaml:1:1 error [source/unreadable] "no/such/pipeline.yaml" does not exist');
    expect(stderr).not.toMatch(/\n\s+at /);
  });

  it('prints machine-readable diagnostics with --format json', async () => {
    const { code, stdout } = await run('validate', fixture('invalid/unknown-processor.yaml'), '--format', 'json');
    expect(code).toBe(1);
    const report = JSON.parse(stdout) as { valid: boolean; diagnostics: { code: string; line: number; hint: string }[] };
    expect(report.valid).toBe(false);
    expect(report.diagnostics).toEqual([expect.objectContaining({ code: 'graph/unknown-processor', line: 40, hint: 'did you mean "build_y"?' })]);
  });

  it('exits 0 with warnings shown for a pipeline that only has warnings', async () => {
    const { code, stderr, stdout } = await run('validate', fixture('invalid/topic-no-subscriber.yaml'));
    expect(code).toBe(0);
    expect(stderr).toContain('warning [graph/topic-no-subscriber]');
    expect(stdout).toContain('1 warning (above)');
  });

  it('exits 2 on usage errors: an unknown option, a bad --format, an unknown command', async () => {
    expect((await run('validate', '--frmat', 'json')).code).toBe(2);
    expect((await run('validate', '--format', 'xml')).code).toBe(2);
    expect((await run('valdate')).code).toBe(2);
  });

  it('answers --help on the program and on validate with exit 0', async () => {
    const top = await run('--help');
    expect(top.code).toBe(0);
    expect(top.stdout).toContain('validate [options] [file]');
    const sub = await run('validate', '--help');
    expect(sub.code).toBe(0);
    expect(sub.stdout).toContain('Exit codes: 0 valid');
  });

  it('writes no colour codes when the output is not a terminal', async () => {
    const { stderr } = await run('validate', fixture('invalid/unknown-topic.yaml'));
    expect(stderr).not.toContain(ESC);
  });
});

describe('the baton binary', () => {
  const bin = new URL('../../../bin/baton.js', import.meta.url).pathname;

  it('colours with FORCE_COLOR and honours NO_COLOR', () => {
    const coloured = spawnSync('node', [bin, 'validate', fixture('invalid/unknown-topic.yaml')], {
      env: { ...process.env, FORCE_COLOR: '1', NO_COLOR: '' },
      encoding: 'utf8',
    });
    expect(coloured.status).toBe(1);
    expect(coloured.stderr).toContain(ESC);
    const plain = spawnSync('node', [bin, 'validate', fixture('invalid/unknown-topic.yaml')], {
      env: { ...process.env, FORCE_COLOR: undefined, NO_COLOR: '1' },
      encoding: 'utf8',
    });
    expect(plain.status).toBe(1);
    expect(plain.stderr).not.toContain(ESC);
  });

  it('validates the repository pipeline from the command line', () => {
    const out = execFileSync('node', [bin, 'validate'], { encoding: 'utf8' });
    expect(out).toContain('is valid');
  });
});
