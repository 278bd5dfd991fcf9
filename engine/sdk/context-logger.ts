import type { LogEntry, LogFields, Logger, Severity } from '../entry/cloud-logger.ts';

/**
 * The logger `handle` gets: every line is one Cloud Logging JSON entry carrying the processor, key,
 * correlation id, execution id and traceparent of the execution, so a key's lines can be found and
 * joined to its trace without the processor passing them along.
 */
export class ContextLogger implements Logger {
  constructor(
    private readonly sink: Logger,
    private readonly fields: LogFields,
  ) {}

  /** Writes one entry with the execution's fields (the entry's own fields win). */
  log(entry: LogEntry): void {
    this.sink.log({ ...this.fields, ...entry });
  }

  /** One DEBUG line. */
  debug(message: string, fields: LogFields = {}): void {
    this.write('DEBUG', message, fields);
  }

  /** One INFO line. */
  info(message: string, fields: LogFields = {}): void {
    this.write('INFO', message, fields);
  }

  /** One WARNING line. */
  warning(message: string, fields: LogFields = {}): void {
    this.write('WARNING', message, fields);
  }

  /** One ERROR line. */
  error(message: string, fields: LogFields = {}): void {
    this.write('ERROR', message, fields);
  }

  private write(severity: Severity, message: string, fields: LogFields): void {
    this.log({ ...fields, severity, message });
  }
}
