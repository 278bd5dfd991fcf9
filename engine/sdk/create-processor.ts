// Data flow: createProcessor(options) → bindProcessor (pipeline.yaml, name) + env (OIDC, project) → Processor { listener, handle, deliver }.
import type { ResolvedPipeline } from '../config/resolved-pipeline.ts';
import type { RequestVerifier } from '../entry/baton-handler.ts';
import { CloudLogger, type Logger } from '../entry/cloud-logger.ts';
import type { OidcVerifierOptions } from '../entry/oidc-verifier.ts';
import { EntryConfigError, readOidcConfig } from '../entry/read-entry-config.ts';
import type { Clock } from '../ports/clock.ts';
import type { MessageBus } from '../ports/message-bus.ts';
import { SystemClock } from '../runtime/system-clock.ts';
import { bindProcessor } from './bind-processor.ts';
import { defaultPublisher } from './default-publisher.ts';
import type { ExecutionStore } from './execution-store.ts';
import { MemoryExecutionStore } from './memory-execution-store.ts';
import { Processor, type ProcessorHandler } from './processor.ts';
import { ProcessorConfigError } from './processor-config-error.ts';

/** How to build a processor. Only `pipeline`, `name` and `handle` are needed in production. */
export interface CreateProcessorOptions {
  /** Path to pipeline.yaml, or an already loaded pipeline. */
  readonly pipeline: string | ResolvedPipeline;
  /** With a loaded pipeline: its file's hash, stamped on completions (a path is hashed for you). */
  readonly pipelineHash?: string;
  /** The processor's name in pipeline.yaml; an unknown name throws at start-up with a did-you-mean. */
  readonly name: string;
  /** Optional: the topic you expect to publish to; a mismatch with pipeline.yaml throws at start-up. */
  readonly topic?: string;
  /** The work. Resolve only when it is durable: the completion is published after, and the trigger acked after that. */
  readonly handle: ProcessorHandler;
  /** Where completions go; default Google Pub/Sub (`PUBSUB_EMULATOR_HOST` honoured). */
  readonly publisher?: Pick<MessageBus, 'publish'>;
  /** Which executions already completed; default in memory, this instance only (see `ExecutionStore`). */
  readonly executions?: ExecutionStore;
  /** OIDC checks; default from `BATON_OIDC_AUDIENCE` / `BATON_OIDC_EMAIL` (off without an audience); `false` turns them off. */
  readonly oidc?: OidcVerifierOptions | false;
  /** Replaces the OIDC verifier altogether (tests, other identity providers). */
  readonly verifier?: RequestVerifier;
  /** Default: Cloud Logging JSON lines on stdout. */
  readonly logger?: Logger;
  readonly clock?: Clock;
  /** Default `process.env`. */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/**
 * Builds a processor from pipeline.yaml: which topic triggers it, what it receives (a trigger
 * envelope, a work item, an upstream completion, or an entry message for an entry phase), where its
 * one completion goes, and whether its triggers say which entities changed all come from the graph.
 * Serve `processor.listener` with `node:http` or `functions.http`; call `processor.handle(request)`
 * in tests. Throws `ProcessorConfigError` when the pipeline does not load, the name or topic is wrong,
 * or the OIDC environment is inconsistent. See `Processor` for the status rules.
 */
export function createProcessor(options: CreateProcessorOptions): Processor {
  const env = options.env ?? process.env;
  const binding = bindProcessor(options);
  const projectId = env.GOOGLE_CLOUD_PROJECT ?? env.GCLOUD_PROJECT ?? binding.pipeline.project;
  return new Processor({
    binding,
    handle: options.handle,
    publisher: options.publisher ?? defaultPublisher(projectId),
    executions: options.executions ?? new MemoryExecutionStore(),
    verifier: options.verifier ?? verifierFor(options.oidc, env),
    logger: options.logger ?? new CloudLogger({ projectId, pipelineHash: binding.pipelineHash }),
    clock: options.clock ?? new SystemClock(),
  });
}

function verifierFor(oidc: OidcVerifierOptions | false | undefined, env: Readonly<Record<string, string | undefined>>): RequestVerifier | undefined {
  if (oidc === false) return undefined;
  let settings: OidcVerifierOptions | undefined;
  try {
    settings = oidc ?? readOidcConfig(env);
  } catch (error) {
    if (error instanceof EntryConfigError) throw new ProcessorConfigError(error.message);
    throw error;
  }
  if (settings === undefined) return undefined;
  const chosen = settings;
  // google-auth-library is loaded with the first request, not with the SDK.
  let verifier: Promise<RequestVerifier> | undefined;
  return {
    verify: async (authorization) => {
      verifier ??= import('../entry/oidc-verifier.ts').then(({ OidcVerifier }) => new OidcVerifier(chosen));
      return (await verifier).verify(authorization);
    },
  };
}
