// Data flow: entry handler → CloudLogger.log(entry) → one JSON line on stdout → Cloud Logging (severity, trace, labels as fields).
import { traceIdOf } from '../runtime/envelope.ts';

/** Cloud Logging severities the entry points use. */
export type Severity = 'DEBUG' | 'INFO' | 'NOTICE' | 'WARNING' | 'ERROR' | 'CRITICAL';

/** The fields of a log entry besides severity and message. Unset fields are left out of the line. */
export interface LogFields {
  /** Stable event name (`barrier.fired`, `barrier.deadline_missed`, …) to filter and alert on. */
  readonly baton_event?: string;
  /** W3C traceparent of the message being handled; becomes `logging.googleapis.com/trace`. */
  readonly traceparent?: string | undefined;
  readonly correlation_id?: string | undefined;
  readonly barrier?: string | undefined;
  readonly coordinator?: string | undefined;
  readonly key?: string | undefined;
  readonly [field: string]: unknown;
}

/** One structured log entry before formatting. */
export interface LogEntry extends LogFields {
  readonly severity: Severity;
  readonly message: string;
}

/** Where entries go; the entry points take one so tests can capture lines. */
export interface Logger {
  log(entry: LogEntry): void;
}

/** What every line carries besides the entry. */
export interface CloudLoggerOptions {
  /** Project for the trace resource name (`GOOGLE_CLOUD_PROJECT`); without it no trace field is written. */
  readonly projectId?: string | undefined;
  /** Stamped on every line. */
  readonly pipelineHash?: string | undefined;
  /** Receives each finished line (with its newline); default stdout. */
  readonly write?: (line: string) => void;
}

/**
 * Writes structured JSON lines in Cloud Logging's format: the platform's agent turns `severity`,
 * `message` and `logging.googleapis.com/trace` into the entry's own fields, and keeps the rest
 * (correlation id, barrier, key, pipeline hash, event) as searchable `jsonPayload` fields.
 */
export class CloudLogger implements Logger {
  private readonly write: (line: string) => void;

  constructor(private readonly options: CloudLoggerOptions = {}) {
    this.write = options.write ?? ((line) => process.stdout.write(line));
  }

  log(entry: LogEntry): void {
    this.write(`${JSON.stringify(formatLogEntry(entry, this.options))}\n`);
  }
}

/** The JSON object of one line (pure, for tests and other sinks). */
export function formatLogEntry(entry: LogEntry, options: Pick<CloudLoggerOptions, 'projectId' | 'pipelineHash'>): Record<string, unknown> {
  const { severity, message, traceparent, ...fields } = entry;
  const traceId = traceIdOf(traceparent);
  const line: Record<string, unknown> = { severity, message };
  // Only a resource name in this form links the line to the trace in Cloud Trace.
  if (traceId !== undefined && options.projectId) line['logging.googleapis.com/trace'] = `projects/${options.projectId}/traces/${traceId}`;
  if (options.pipelineHash !== undefined) line.pipeline_hash = options.pipelineHash;
  for (const [field, value] of Object.entries(fields)) if (value !== undefined) line[field] = value;
  return line;
}
