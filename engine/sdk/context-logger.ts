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

  log(entry: LogEntry): void {
    this.sink.log({ ...this.fields, ...entry });
  }

  debug(message: string, fields: LogFields = {}): void {
    this.write('DEBUG', message, fields);
  }

  info(message: string, fields: LogFields = {}): void {
    this.write('INFO', message, fields);
  }

  warning(message: string, fields: LogFields = {}): void {
    this.write('WARNING', message, fields);
  }

  error(message: string, fields: LogFields = {}): void {
    this.write('ERROR', message, fields);
  }

  private write(severity: Severity, message: string, fields: LogFields): void {
    this.log({ ...fields, severity, message });
  }
}
