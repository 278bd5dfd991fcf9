// Data flow: process env (as the generated Terraform sets it) → readEntryConfig → EntryConfig → openEntry.
import { isAbsolute, join, resolve } from 'node:path';
import type { ComponentTarget } from './entry-component.ts';

/** Environment variables the entry points read; names match generators/templates/tf-compute.hbs. */
export const ENTRY_ENV = {
  barrier: 'BATON_BARRIER',
  coordinator: 'BATON_COORDINATOR',
  pipeline: 'BATON_PIPELINE',
  pipelineHash: 'BATON_PIPELINE_HASH',
  oidcAudience: 'BATON_OIDC_AUDIENCE',
  oidcEmail: 'BATON_OIDC_EMAIL',
  oidcAllowAnyEmail: 'BATON_OIDC_ALLOW_ANY_EMAIL',
  project: 'GOOGLE_CLOUD_PROJECT',
} as const;

/** A deployment's settings, read once at start-up. */
export interface EntryConfig {
  readonly target: ComponentTarget;
  /** The pipeline.yaml to load. */
  readonly pipelineFile: string;
  /** When `BATON_PIPELINE` gave a pipeline name rather than a path: the loaded pipeline must have it. */
  readonly pipelineName: string | undefined;
  /** `BATON_PIPELINE_HASH`: the hash the manifests were generated from. */
  readonly deployedPipelineHash: string | undefined;
  /**
   * Set when requests must carry a Google-signed OIDC token for `audience`, from one of `emails` (the
   * invoker accounts `BATON_OIDC_EMAIL` lists, comma-separated). `emails` is undefined only when
   * `BATON_OIDC_ALLOW_ANY_EMAIL=true` says on purpose that any Google account's token will do.
   */
  readonly oidc: { readonly audience: string; readonly emails: readonly string[] | undefined } | undefined;
  /** `GOOGLE_CLOUD_PROJECT` (or `GCLOUD_PROJECT`); unset = ask the metadata server. */
  readonly projectId: string | undefined;
}

/** The deployment's environment is inconsistent; nothing can be handled until it is fixed. */
export class EntryConfigError extends Error {
  readonly code = 'entry/config';
  // Redeploying with the right settings fixes it, so deliveries are retried meanwhile rather than dropped.
  readonly retryable = true;
}

/**
 * Reads the entry configuration. `BATON_PIPELINE` is a path to pipeline.yaml (relative paths are
 * taken from the package root), or — as the generated Terraform sets it — the pipeline's name, which
 * selects the bundled `pipeline.yaml` and is checked against it. Unset, the bundled file is used.
 */
export function readEntryConfig(env: Readonly<Record<string, string | undefined>>, root: string): EntryConfig {
  const value = (name: string): string | undefined => {
    const raw = env[name]?.trim();
    return raw === '' ? undefined : raw;
  };
  const barrier = value(ENTRY_ENV.barrier);
  const coordinator = value(ENTRY_ENV.coordinator);
  if ((barrier === undefined) === (coordinator === undefined)) {
    throw new EntryConfigError(`set exactly one of ${ENTRY_ENV.barrier} and ${ENTRY_ENV.coordinator} (got ${barrier === undefined ? 'neither' : 'both'})`);
  }
  const target: ComponentTarget = barrier === undefined ? { kind: 'coordinator', name: coordinator ?? '' } : { kind: 'barrier', name: barrier };

  const pipeline = value(ENTRY_ENV.pipeline);
  const isPath = pipeline !== undefined && (/[\\/]/.test(pipeline) || /\.ya?ml$/i.test(pipeline));
  const pipelineFile = isPath ? (isAbsolute(pipeline) ? pipeline : resolve(root, pipeline)) : join(root, 'pipeline.yaml');

  return {
    target,
    pipelineFile,
    pipelineName: isPath ? undefined : pipeline,
    deployedPipelineHash: value(ENTRY_ENV.pipelineHash),
    oidc: readOidcConfig(env),
    projectId: value(ENTRY_ENV.project) ?? value('GCLOUD_PROJECT'),
  };
}

/**
 * The OIDC rule of every Baton HTTP entry point (barriers, coordinator, processors written with the
 * SDK): `BATON_OIDC_AUDIENCE` turns token checks on, `BATON_OIDC_EMAIL` also pins the signer. Unset
 * audience = no checks; an email without an audience is a configuration error.
 */
export function readOidcConfig(env: Readonly<Record<string, string | undefined>>): EntryConfig['oidc'] {
  const value = (name: string): string | undefined => {
    const raw = env[name]?.trim();
    return raw === '' ? undefined : raw;
  };
  const audience = value(ENTRY_ENV.oidcAudience);
  const emailList = value(ENTRY_ENV.oidcEmail);
  const emails = emailList
    ?.split(',')
    .map((e) => e.trim())
    .filter((e) => e !== '');
  if (emailList !== undefined && audience === undefined) {
    throw new EntryConfigError(`${ENTRY_ENV.oidcEmail} is set but ${ENTRY_ENV.oidcAudience} is not: a token is only checked against an audience`);
  }
  const allowAny = value(ENTRY_ENV.oidcAllowAnyEmail);
  if (allowAny !== undefined && allowAny !== 'true' && allowAny !== 'false') {
    throw new EntryConfigError(`${ENTRY_ENV.oidcAllowAnyEmail} is "${allowAny}"; set it to true or false`);
  }
  if (audience !== undefined && (emails === undefined || emails.length === 0) && allowAny !== 'true') {
    // Any Google account can mint a token for any audience: without an email check, the audience alone lets anyone in.
    throw new EntryConfigError(
      `${ENTRY_ENV.oidcAudience} is set but ${ENTRY_ENV.oidcEmail} is not: any Google account's token for that audience would be accepted. ` +
        `Set ${ENTRY_ENV.oidcEmail} to the invoker service account(s) allowed to call this component (comma-separated), ` +
        `or ${ENTRY_ENV.oidcAllowAnyEmail}=true to accept any signed-in caller on purpose`,
    );
  }
  return audience === undefined ? undefined : { audience, emails: emails !== undefined && emails.length > 0 ? emails : undefined };
}
