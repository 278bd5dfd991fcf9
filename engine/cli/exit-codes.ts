/** Process exit codes of every `baton` command. */
export const EXIT = {
  ok: 0,
  /** The pipeline (or the run) is invalid / failed. */
  invalid: 1,
  /** The command line itself is wrong. */
  usage: 2,
  /** `baton status --stuck` found a key that cannot get on by itself (for a cron check). */
  stuck: 3,
  /** The embedded backend's database cannot be used: damaged, not Baton's, read-only, disk full (sysexits EX_IOERR). */
  state: 74,
  /** Another `baton run` holds the state folder; try again when it ends (sysexits EX_TEMPFAIL). */
  busy: 75,
} as const;

/** What a command needs from the process, injected so commands can be tested in-process. */
export interface CommandContext {
  readonly stdout: NodeJS.WriteStream;
  readonly stderr: NodeJS.WriteStream;
  setExitCode(code: number): void;
}
