import { Option, type Command } from 'commander';
import type { BackendChoice } from './run-backend.ts';

/** The backend options as commander parses them (`--backend`, `--state-dir`, `--project`, `--emulators`). */
export interface BackendOptions {
  readonly backend: 'embedded' | 'gcp';
  readonly stateDir: string;
  readonly project?: string;
  readonly emulators?: boolean;
}

/** The embedded backend's state folder when none is given. */
export const DEFAULT_STATE_DIR = '.baton';

/**
 * Gives a command the backend options, declared the same way for every command that opens Baton's
 * state: `--backend embedded|gcp`, `--state-dir` (embedded), `--project` (gcp) and, for commands that
 * can work on fresh emulators (run), `--emulators`. `backendUsageError` checks the combination.
 */
export function withBackendOptions(command: Command, { emulators = false }: { emulators?: boolean } = {}): Command {
  command
    .addOption(
      new Option('--backend <backend>', 'embedded (SQLite in --state-dir) or gcp (Pub/Sub + Firestore)').choices(['embedded', 'gcp']).default('embedded'),
    )
    .option('--state-dir <dir>', "embedded: the folder holding Baton's SQLite state", DEFAULT_STATE_DIR)
    .option(
      '--project <id>',
      emulators
        ? 'gcp: the project (default: pipeline.project on real Google Cloud, baton-local on emulators)'
        : 'gcp: the project (required on real Google Cloud; on emulators from PUBSUB_EMULATOR_HOST and FIRESTORE_EMULATOR_HOST, default baton-local)',
    );
  if (emulators) command.option('--emulators', 'gcp: start the Pub/Sub and Firestore emulators for this command and stop them after');
  return command;
}

/** A usage error in the backend options (gcp-only options on the embedded backend), or undefined. */
export function backendUsageError(options: BackendOptions): string | undefined {
  if (options.backend !== 'embedded') return undefined;
  const gcpOnly = [options.emulators === true ? '--emulators' : undefined, options.project === undefined ? undefined : '--project'].filter(
    (o): o is string => o !== undefined,
  );
  return gcpOnly.length === 0 ? undefined : `${gcpOnly.join(' and ')} go${gcpOnly.length === 1 ? 'es' : ''} with --backend gcp`;
}

/** Where the chosen backend keeps its state, for messages: `.baton/` or `Firestore (project P)`. */
export function stateLocation(options: BackendOptions): string {
  return options.backend === 'gcp' ? `Firestore${options.project === undefined ? '' : ` (project ${options.project})`}` : `${options.stateDir}/`;
}

/** The options as the backend opener takes them. */
export function backendChoice(options: BackendOptions): BackendChoice {
  return {
    backend: options.backend,
    stateDir: options.stateDir,
    ...(options.project === undefined ? {} : { project: options.project }),
    ...(options.emulators === true ? { emulators: true } : {}),
  };
}
