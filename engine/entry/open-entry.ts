// Data flow: env → readEntryConfig → loadPipeline (bundled or BATON_PIPELINE) → openGcpBackend → EntryComponent + OidcVerifier + CloudLogger → BatonHandler.
import { GoogleAuth, type Certificates } from 'google-auth-library';
import { openGcpBackend, type GcpBackend } from '../adapters/gcp/index.ts';
import { hasErrors } from '../config/diagnostic.ts';
import { loadPipeline } from '../config/load-pipeline.ts';
import { packageRoot } from '../config/package-root.ts';
import type { Clock } from '../ports/clock.ts';
import type { MessageBus } from '../ports/message-bus.ts';
import type { StateStore } from '../ports/state-store.ts';
import type { EntityListProvider } from '../runtime/coordinator.ts';
import { ScaledClock } from '../runtime/scaled-clock.ts';
import { SystemClock } from '../runtime/system-clock.ts';
import { BatonHandler } from './baton-handler.ts';
import { CloudLogger } from './cloud-logger.ts';
import { credentialsCheck } from './credentials-check.ts';
import { createEntryComponent } from './entry-component.ts';
import { fetchEntityList } from './fetch-entity-list.ts';
import { OidcVerifier } from './oidc-verifier.ts';
import { EntryConfigError, readEntryConfig, type EntryConfig } from './read-entry-config.ts';

/** Overrides for tests and local runs; production passes nothing and reads the environment. */
export interface OpenEntryOptions {
  /** Default `process.env`. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Receives each JSON log line; default stdout. */
  readonly writeLog?: (line: string) => void;
  /** State and bus; default the gcp backend (emulators when `PUBSUB_EMULATOR_HOST` / `FIRESTORE_EMULATOR_HOST` are set). */
  readonly backend?: { readonly bus: MessageBus; readonly store: StateStore };
  readonly clock?: Clock;
  /** OIDC signing certificates; default Google's. */
  readonly certs?: () => Promise<Certificates>;
  /** A coordinator's full entity list; default GET `entities.full_list_url`. */
  readonly fullList?: EntityListProvider;
}

/** A ready entry point and what it opened. */
export interface OpenedEntry {
  readonly handler: BatonHandler;
  readonly config: EntryConfig;
  readonly pipelineHash: string;
  /** Closes the backend clients this call opened (not an injected backend). */
  close(): Promise<void>;
}

/**
 * The entry points' composition root: reads the deployment's environment, loads and checks the
 * pipeline, connects Pub/Sub + Firestore and builds the one generic handler. Throws
 * `EntryConfigError` when the deployment cannot serve (bad pipeline, unknown component).
 */
export async function openEntry(options: OpenEntryOptions = {}): Promise<OpenedEntry> {
  const env = options.env ?? process.env;
  const config = readEntryConfig(env, packageRoot());
  const loaded = loadPipeline(config.pipelineFile);
  if (loaded.pipeline === undefined || loaded.hash === undefined || hasErrors(loaded.diagnostics)) {
    const first = loaded.diagnostics.find((d) => d.severity === 'error');
    throw new EntryConfigError(`${config.pipelineFile} does not load: ${first ? `${first.code} ${first.path}: ${first.message}` : 'unknown error'}`);
  }
  const pipeline = loaded.pipeline;
  if (config.pipelineName !== undefined && config.pipelineName !== pipeline.name) {
    throw new EntryConfigError(`BATON_PIPELINE names pipeline "${config.pipelineName}" but ${config.pipelineFile} is pipeline "${pipeline.name}"`);
  }
  const pipelineHash = loaded.hash;
  const projectId = config.projectId ?? (await new GoogleAuth().getProjectId());
  const mismatch = config.deployedPipelineHash !== undefined && config.deployedPipelineHash !== pipelineHash;
  const logger = new CloudLogger({ projectId, pipelineHash, ...(options.writeLog ? { write: options.writeLog } : {}) });

  const clock = options.clock ?? entryClock(env.BATON_CLOCK);
  let opened: GcpBackend | undefined;
  const backend = options.backend ?? (opened = openGcpBackend({ projectId, clock, provisioned: true }));
  try {
    const coordinator = pipeline.coordinators.find((c) => c.name === config.target.name);
    const fullList = options.fullList ?? (coordinator ? fetchEntityList(coordinator) : () => Promise.resolve([]));
    const component = createEntryComponent(config.target, { pipeline, pipelineHash, store: backend.store, bus: backend.bus, clock, fullList });
    const verifier = config.oidc && new OidcVerifier({ ...config.oidc, ...(options.certs ? { certs: options.certs } : {}) });
    const handler = new BatonHandler({
      component,
      bus: backend.bus,
      topics: pipeline.topics,
      pipelineHash,
      deployedPipelineHash: mismatch ? config.deployedPipelineHash : undefined,
      logger,
      verifier,
      // Only the clients this call opens need credentials; an injected backend is the caller's.
      // The emulator hosts are read where openGcpBackend reads them: process.env.
      ready: opened ? credentialsCheck(process.env) : undefined,
    });
    const labels = { [config.target.kind]: config.target.name };
    if (mismatch) {
      logger.log({
        severity: 'WARNING',
        message: `BATON_PIPELINE_HASH ${config.deployedPipelineHash} differs from the loaded ${config.pipelineFile} (${pipelineHash}): the manifests and the bundled pipeline disagree`,
        baton_event: 'entry.pipeline_hash_mismatch',
        deployed_pipeline_hash: config.deployedPipelineHash,
        ...labels,
      });
    }
    logger.log({
      severity: 'INFO',
      message: `serving ${config.target.kind} ${config.target.name} of ${pipeline.name}`,
      baton_event: 'entry.started',
      oidc: config.oidc !== undefined,
      ...(clock instanceof ScaledClock ? { clock: `scaled x${clock.speed} (rehearsal)` } : {}),
      ...labels,
    });
    return { handler, config, pipelineHash, close: async () => opened?.close() };
  } catch (error) {
    await opened?.close();
    // A component the pipeline does not declare is a deployment mistake like a bad pipeline file.
    if (error instanceof Error && 'code' in error && error.code === 'entry/unknown-component') throw new EntryConfigError(error.message);
    throw error;
  }
}

/**
 * The wall clock, unless `BATON_CLOCK` asks for the compressed clock of a rehearsal
 * (`scaled:<speed>:<simulated origin>:<real origin>`, set only by `baton rehearse`).
 */
function entryClock(setting: string | undefined): Clock {
  if (setting === undefined || setting.trim() === '') return new SystemClock();
  const scaled = ScaledClock.fromEnv(setting);
  if (scaled === undefined)
    throw new EntryConfigError(`BATON_CLOCK="${setting}" is not scaled:<speed>:<simulated origin ms>:<real origin ms>; unset it to use the wall clock`);
  return scaled;
}
