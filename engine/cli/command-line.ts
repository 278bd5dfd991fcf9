/** The options a follow-up command must repeat so it looks at the same pipeline and the same state. */
export interface CommandOrigin {
  readonly file: string;
  readonly backend?: 'embedded' | 'gcp';
  readonly stateDir?: string;
  readonly project?: string;
}

/** A word quoted for a POSIX shell when it needs it. */
export function quote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", "'\\''")}'`;
}

/**
 * A `npx baton <command>` line to print in a hint, rebuilt from the options the user gave: the same
 * pipeline file, backend, project and state folder (a hint that dropped `-f` showed another
 * pipeline's barriers). Defaults are left out; `extra` words (placeholders like `--key <key>`) are
 * appended as they are.
 */
export function commandLine(command: string, origin: CommandOrigin, extra: readonly string[] = []): string {
  const words = ['npx', 'baton', command];
  if (origin.file !== 'pipeline.yaml') words.push('-f', quote(origin.file));
  if (origin.backend === 'gcp') {
    words.push('--backend', 'gcp');
    if (origin.project !== undefined) words.push('--project', quote(origin.project));
  } else if (origin.stateDir !== undefined) words.push('--state-dir', quote(origin.stateDir));
  return [...words, ...extra].join(' ');
}
