import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';

/** What a backfill is: the same arguments continue the same backfill. */
export interface BackfillArgs {
  readonly from: string;
  readonly to: string;
  readonly phase: string;
  readonly force: boolean;
}

/**
 * A backfill's journal: one JSON line per event, appended and flushed as it happens, so a backfill
 * killed at any point continues where it was when run again with the same arguments. The first line
 * holds the arguments and the execution id; then `{"sent":key}` after a key's messages were all
 * published and `{"done":key}` once the state shows it finished (or `{"skipped":key}`). A key killed
 * between its publishes and its `sent` line is sent again on resume with the same ids: the bus and
 * the barriers take those as duplicates.
 */
export class BackfillJournal {
  readonly sent = new Set<string>();
  readonly done = new Set<string>();
  readonly skipped = new Set<string>();
  /** The execution of this backfill: `backfill`, or `backfill-<random>` with --force (kept across resumes). */
  readonly execution: string;
  /** True when this run continues an earlier one. */
  readonly resumed: boolean;

  constructor(
    readonly file: string,
    args: BackfillArgs,
  ) {
    this.resumed = existsSync(file);
    if (!this.resumed) {
      mkdirSync(dirname(file), { recursive: true });
      this.execution = args.force ? `backfill-${randomBytes(4).toString('hex')}` : 'backfill';
      this.append({ backfill: args, execution: this.execution });
      return;
    }
    const text = readFileSync(file, 'utf8');
    // A line cut short by a kill ends without a newline: end it, so the next event starts a line of its own.
    if (text !== '' && !text.endsWith('\n')) appendFileSync(file, '\n');
    const lines = text.split('\n').filter((l) => l.trim() !== '');
    let execution: string | undefined;
    for (const line of lines) {
      let entry: Record<string, unknown>;
      try {
        entry = JSON.parse(line) as Record<string, unknown>;
      } catch {
        continue; // A line cut short by a kill: the event it was about is redone.
      }
      if (typeof entry.execution === 'string') execution = entry.execution;
      if (typeof entry.sent === 'string') this.sent.add(entry.sent);
      if (typeof entry.done === 'string') this.done.add(entry.done);
      if (typeof entry.skipped === 'string') this.skipped.add(entry.skipped);
    }
    this.execution = execution ?? (args.force ? `backfill-${randomBytes(4).toString('hex')}` : 'backfill');
  }

  record(event: 'sent' | 'done' | 'skipped', key: string): void {
    ({ sent: this.sent, done: this.done, skipped: this.skipped })[event].add(key);
    this.append({ [event]: key, at: new Date().toISOString() });
  }

  private append(entry: Record<string, unknown>): void {
    appendFileSync(this.file, `${JSON.stringify(entry)}\n`);
  }
}

/** Where a backfill's journal lives by default: one file per set of arguments, in the state folder. */
export function defaultJournalFile(stateDir: string, args: BackfillArgs): string {
  const safe = (text: string): string => text.replace(/[^\w.-]+/g, '_');
  return join(stateDir, 'backfill', `${safe(args.from)}..${safe(args.to)}-${safe(args.phase)}${args.force ? '-force' : ''}.jsonl`);
}
