import { describe, expect, it } from 'vitest';
import { CloudLogger, formatLogEntry } from '../../../engine/entry/cloud-logger.ts';

const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

describe('CloudLogger', () => {
  it("writes one JSON line in Cloud Logging's format, with the trace as a resource name", () => {
    const lines: string[] = [];
    const logger = new CloudLogger({ projectId: 'demo-proj', pipelineHash: 'abc123def456', write: (line) => lines.push(line) });
    logger.log({
      severity: 'WARNING',
      message: 'deadline missed',
      baton_event: 'barrier.deadline_missed',
      barrier: 'gate',
      key: '2025-11-28',
      correlation_id: 'run-1',
      traceparent: TRACEPARENT,
    });
    expect(lines).toHaveLength(1);
    expect(lines[0]?.endsWith('\n')).toBe(true);
    expect(JSON.parse(lines[0] ?? '')).toEqual({
      severity: 'WARNING',
      message: 'deadline missed',
      'logging.googleapis.com/trace': 'projects/demo-proj/traces/4bf92f3577b34da6a3ce929d0e0e4736',
      pipeline_hash: 'abc123def456',
      baton_event: 'barrier.deadline_missed',
      barrier: 'gate',
      key: '2025-11-28',
      correlation_id: 'run-1',
    });
  });

  it.each([
    ['no project is known', { pipelineHash: 'h' }, TRACEPARENT],
    ['the traceparent is malformed', { projectId: 'p' }, 'not-a-traceparent'],
  ])('leaves the trace out when %s', (_name, options, traceparent) => {
    expect(formatLogEntry({ severity: 'INFO', message: 'm', traceparent }, options)).not.toHaveProperty(['logging.googleapis.com/trace']);
  });

  it('drops unset fields instead of writing nulls', () => {
    expect(formatLogEntry({ severity: 'INFO', message: 'm', key: undefined, barrier: 'gate' }, {})).toEqual({
      severity: 'INFO',
      message: 'm',
      barrier: 'gate',
    });
  });
});
