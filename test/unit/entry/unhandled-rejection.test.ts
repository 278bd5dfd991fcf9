import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../../../engine/config/package-root.ts';

describe('logUnhandledRejections', () => {
  it('logs an unhandled rejection as one Cloud Logging ERROR line, not a stack trace, and keeps the process up', () => {
    const root = packageRoot();
    const script = [
      `import { logUnhandledRejections } from ${JSON.stringify(join(root, 'engine/entry/serve.ts'))};`,
      `import { CloudLogger } from ${JSON.stringify(join(root, 'engine/entry/cloud-logger.ts'))};`,
      'logUnhandledRejections(new CloudLogger());',
      "void Promise.reject(new Error('Could not load the default credentials'));",
      "setTimeout(() => process.stdout.write('still up\\n'), 50);",
    ].join('\n');
    const run = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: root, encoding: 'utf8' });
    expect(run.status).toBe(0);
    expect(run.stderr).toBe('');
    const [line, after] = run.stdout.trim().split('\n');
    expect(JSON.parse(line ?? '')).toEqual({
      severity: 'ERROR',
      message: 'unhandled rejection: Could not load the default credentials',
      baton_event: 'entry.unhandled_rejection',
      reason: 'Could not load the default credentials',
    });
    expect(after).toBe('still up');
  });
});
