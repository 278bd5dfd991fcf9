// Data flow: pipeline.yaml → deploy model (what the manifests render) → emulators + topology → IAM guards → components (functions-framework, coordinator container command, SDK processors) → push gateway + scheduler timers → keys → state → RunReport.
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildDeployModel, type DeployModel, type PushTarget } from '../../generators/deploy-model.ts';
import type { RunningEmulators } from '../adapters/gcp/emulators.ts';
import type { LoadResult } from '../config/load-pipeline.ts';
import { packageRoot } from '../config/package-root.ts';
import type { ResolvedPipeline } from '../config/resolved-pipeline.ts';
import { inspectKey, isKeyFinished, type KeyView } from '../runtime/inspect-key.ts';
import { PipelineRuntime } from '../runtime/pipeline-runtime.ts';
import { ScaledClock } from '../runtime/scaled-clock.ts';
import { buildRunReport, type RunReport } from '../cli/run-report.ts';
import { runtimeSubscriptions } from '../cli/stored-run.ts';
import { buildPackage } from '../cli/build-package.ts';
import { stableId } from '../simulator/seeded-random.ts';
import { startComponentProcess, type ComponentProcess } from './component-process.ts';
import { createEmulatorTopology } from './emulator-topology.ts';
import { startGrpcGuard, type GrpcGuard } from './grpc-guard.ts';
import { IamPolicy } from './iam-policy.ts';
import { startProcessorHost, type ProcessorHost, type ProcessorHostOptions } from './processor-host.ts';
import { startPushGateway, type Denial, type DeliveryCounts, type PushGateway, type TickRoute } from './push-gateway.ts';
import { readDeadLetters, type DeadLetterRow } from './read-dead-letters.ts';
import { startSchedulerTimers } from './scheduler-timers.ts';
import { freePort } from '../adapters/free-port.ts';

/** What to rehearse. */
export interface RehearsalOptions {
  /** The loaded, valid pipeline (its file is what gets packaged). */
  readonly loaded: LoadResult & { readonly pipeline: ResolvedPipeline; readonly hash: string };
  readonly keys: readonly string[];
  /** Simulated milliseconds per real millisecond (default 60: a minute a second). */
  readonly speed: number;
  readonly seed: number;
  /** Simulated start (epoch ms); modes compare keys with this day. */
  readonly start: number;
  /** Give up after this much real time (default 10 min). */
  readonly timeoutMs?: number;
  /** Tests: change the deploy model before anything is stood up (e.g. drop an IAM binding). */
  readonly adjustModel?: (model: DeployModel) => DeployModel;
  /** Tests: processors that take a delivery and never report (a lost worker). */
  readonly silent?: ProcessorHostOptions['silent'];
  /** One line per notable event (components up, triggers, denials). */
  readonly onProgress?: (line: string) => void;
  /** Tests: messages an outside publisher sends once the components are up (poison, stray events). */
  readonly inject?: readonly { readonly topic: string; readonly data: string; readonly attributes?: Readonly<Record<string, string>> }[];
  /** Tests: emulators already running (left running), and a project id of its own in them. */
  readonly emulators?: RunningEmulators;
  readonly projectId?: string;
  /**
   * Keeps the deployment up for an outside client (e.g. `baton backfill` in a test): called once every
   * component is up, before the rehearsal's own keys start; the deployment stays up until it resolves.
   */
  readonly hold?: (deployment: StoodUpDeployment) => Promise<void>;
}

/** A deployment stood up on the emulators, as an outside client reaches it. */
export interface StoodUpDeployment {
  readonly projectId: string;
  readonly pubsubHost: string;
  readonly firestoreHost: string;
  /** The URL of a processor's service (what a scheduler calls for an entry processor). */
  readonly processorUrl: (processor: string) => string | undefined;
  /** The pipeline's runtime over the deployment's state, to read it (`inspectKey`). */
  readonly reader: PipelineRuntime;
}

/** Per component: what reached it and what it did. */
export interface ComponentSummary {
  readonly component: string;
  readonly kind: 'processor' | 'barrier' | 'coordinator';
  readonly deliveries: DeliveryCounts;
  /** Messages it dead-lettered itself (poison), from its log. */
  readonly deadLettered: number;
  readonly denied: number;
}

/** How a rehearsal went. */
export interface RehearsalResult {
  readonly runId: string;
  readonly end: 'finished' | 'denied' | 'timeout';
  readonly report: RunReport;
  readonly components: readonly ComponentSummary[];
  readonly denials: readonly Denial[];
  readonly deadLetters: readonly DeadLetterRow[];
  readonly wallMs: number;
  readonly simulatedMs: number;
  readonly speed: number;
}

/** The rehearsal cannot run here (no emulator jars, a component that will not start). */
export class RehearsalError extends Error {
  readonly code = 'rehearsal/unavailable';
  readonly retryable = false;
}

/**
 * Stands up the deployment the manifests describe, on this machine, runs keys through it, and tears
 * it down. Nothing is wired by hand: topics, subscriptions (push endpoints mapped to local ports),
 * service accounts and their grants, functions and their environment, the coordinator's container
 * command, and the scheduler jobs all come from the deploy model that Terraform and deploy.sh render.
 */
export async function rehearse(options: RehearsalOptions): Promise<RehearsalResult> {
  const { loaded, keys, speed } = options;
  const pipeline = loaded.pipeline;
  const model = (options.adjustModel ?? ((m: DeployModel) => m))(buildDeployModel(loaded));
  const say = options.onProgress ?? (() => undefined);
  const { findEmulatorJars, startEmulators, openGcpBackend } = await import('../adapters/gcp/index.ts');
  const jars = findEmulatorJars();
  if (!jars.found) throw new RehearsalError(`the rehearsal needs the Pub/Sub and Firestore emulators: ${jars.reason}`);

  const runId = `run-${stableId(options.seed, keys.join(','), 'incremental', options.start)}`;
  const projectId = options.projectId ?? 'baton-rehearsal';
  const work = mkdtempSync(join(tmpdir(), 'baton-rehearsal-'));
  const cleanups: (() => Promise<void> | void)[] = [() => rmSync(work, { recursive: true, force: true })];
  const cleanup = async (): Promise<void> => {
    for (const step of cleanups.reverse()) {
      if (process.env.BATON_DEBUG) process.stderr.write(`[rehearsal] cleanup: ${step.toString().slice(0, 60)}\n`);
      await Promise.resolve(step()).catch(() => undefined);
    }
  };
  const wallStart = Date.now();
  const denials: Denial[] = [];
  const logCounts = new Map<string, { deadLettered: number; duplicates: number }>();
  const deniedBy = new Map<string, number>();
  let denied: (() => void) | undefined;
  const deniedOnce = new Promise<void>((resolve) => (denied = resolve));
  const onDenied = (denial: Denial): void => {
    denials.push(denial);
    deniedBy.set(denial.component, (deniedBy.get(denial.component) ?? 0) + 1);
    say(`DENIED ${denial.call} as ${denial.identity}: missing ${denial.missing}`);
    denied?.();
  };

  try {
    const pkg = join(work, 'functions');
    await buildPackage(loaded, pkg);
    symlinkSync(join(packageRoot(), 'node_modules'), join(pkg, 'node_modules'));

    let emulators = options.emulators;
    if (emulators === undefined) {
      const started = await startEmulators({ projectId });
      cleanups.push(() => started.stop());
      emulators = started;
    }
    say(`emulators: Pub/Sub ${emulators.pubsubHost}, Firestore ${emulators.firestoreHost}`);

    const policy = new IamPolicy(model);
    const guards = new Map<string, GrpcGuard>();
    for (const account of model.serviceAccounts) {
      const guard = await startGrpcGuard({
        identity: account.accountId,
        upstreams: { pubsub: emulators.pubsubHost, firestore: emulators.firestoreHost },
        decide: (call) => policy.check(account.accountId, call),
        onCall: (call, decision) => {
          if (!decision.allowed) onDenied({ component: account.component, identity: account.accountId, call: describeCall(call), missing: decision.missing });
        },
      });
      guards.set(account.component, guard);
      cleanups.push(() => guard.close());
    }
    const guardOf = (component: string): string => {
      const guard = guards.get(component);
      if (guard === undefined) throw new RehearsalError(`the deploy model has no service account for ${component}`);
      return guard.host;
    };

    const clock = new ScaledClock(speed, options.start, Date.now());
    const endpoints = new Map<string, string>();
    const targetKey = (target: PushTarget): string => `${target.kind}:${target.name}`;
    const processors: ProcessorHost = await startProcessorHost({
      pipeline,
      model,
      runId,
      clock,
      pipelineHash: loaded.hash,
      projectId,
      pubsubHostOf: guardOf,
      ...(options.silent ? { silent: options.silent } : {}),
    });
    cleanups.push(() => processors.close());

    const gateway: PushGateway = await startPushGateway({
      subscriptions: model.subscriptions,
      ticks: tickRoutes(model),
      policy,
      endpointOf: (target, consumer) => (target.kind === 'service' ? processors.endpointOf(consumer) : endpoints.get(targetKey(target))),
      onDenied,
    });
    cleanups.push(() => gateway.close());

    const topology = await createEmulatorTopology(model, {
      pubsubHost: emulators.pubsubHost,
      projectId,
      speed,
      pushEndpoint: (subscription) => `${gateway.url}/push/${encodeURIComponent(subscription.name)}`,
    });
    say(`topology: ${topology.topics} topics, ${topology.subscriptions} subscriptions (push endpoints → ${gateway.url})`);

    const onLog = (component: string) => (entry: Record<string, unknown>) => {
      const text = (value: unknown): string => (typeof value === 'string' ? value : '');
      const event = text(entry.baton_event);
      const counts = logCounts.get(component) ?? { deadLettered: 0, duplicates: 0 };
      if (event === 'message.dead_lettered') counts.deadLettered++;
      if (event.endsWith('.duplicate')) counts.duplicates++;
      logCounts.set(component, counts);
      if (/\.(fired|stalled|deadline_missed)$/.test(event) && typeof entry.key === 'string') {
        say(`[+${formatSimulated(clock.now() - options.start)}] ${entry.key} ${component} ${event.split('.')[1]}: ${text(entry.reason)}`);
      }
      if (entry.severity === 'CRITICAL' || event === 'entry.unavailable') say(`${component}: ${text(entry.message)}`);
    };
    const common = {
      GOOGLE_CLOUD_PROJECT: projectId,
      METADATA_SERVER_DETECTION: 'none',
      BATON_CLOCK: clock.toEnv(),
    };
    const launches: Promise<ComponentProcess>[] = [];
    for (const barrier of model.barriers) {
      const port = await freePort();
      endpoints.set(targetKey({ kind: 'function', name: barrier.function, tfId: '' }), `http://127.0.0.1:${port}`);
      launches.push(
        startComponentProcess({
          label: `barrier ${barrier.name}`,
          command: process.execPath,
          args: [functionsFramework(), '--target=batonBarrier', '--signature-type=http', `--source=${pkg}`, `--port=${port}`],
          cwd: pkg,
          port,
          env: {
            ...common,
            ...barrier.environment,
            PUBSUB_EMULATOR_HOST: guardOf(barrier.name),
            FIRESTORE_EMULATOR_HOST: guardOf(barrier.name),
          },
          onLog: onLog(barrier.name),
        }),
      );
    }
    for (const coordinator of model.coordinators) {
      const port = await freePort();
      endpoints.set(targetKey({ kind: 'coordinator', name: coordinator.service, tfId: '' }), `http://127.0.0.1:${port}`);
      launches.push(
        startComponentProcess({
          label: `coordinator ${coordinator.name}`,
          // The container's command: the package's start script, as the coordinator image runs it.
          command: 'npm',
          args: ['start', '--silent'],
          cwd: pkg,
          port,
          env: {
            ...common,
            ...coordinator.environment,
            PUBSUB_EMULATOR_HOST: guardOf(coordinator.name),
            FIRESTORE_EMULATOR_HOST: guardOf(coordinator.name),
            BATON_HOST: '127.0.0.1',
          },
          onLog: onLog(coordinator.name),
        }),
      );
    }
    const started = await Promise.allSettled(launches);
    for (const result of started) if (result.status === 'fulfilled') cleanups.push(() => result.value.stop());
    const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason instanceof Error ? failed.reason : new RehearsalError(String(failed.reason));
    say(
      `components: ${model.barriers.length} functions under functions-framework, ${model.coordinators.length} coordinator service(s), ${processors.count} processor services`,
    );

    const timers = startSchedulerTimers(tickRoutes(model), speed, (job) => void gateway.tick(job));
    cleanups.push(() => timers.stop());

    // The state as an operator reads it: straight from the emulators, not through any component.
    const admin = openGcpBackend({ projectId, pubsubEmulatorHost: emulators.pubsubHost, firestoreEmulatorHost: emulators.firestoreHost, clock });
    cleanups.push(() => admin.close());
    const reader = new PipelineRuntime({
      pipeline,
      subscriptions: runtimeSubscriptions(pipeline),
      store: admin.store,
      bus: admin.bus,
      clock,
      fullList: () => () => Promise.resolve([]),
    });

    for (const message of options.inject ?? []) {
      const response = await fetch(`http://${emulators.pubsubHost}/v1/projects/${projectId}/topics/${message.topic}:publish`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ messages: [{ data: Buffer.from(message.data).toString('base64'), attributes: message.attributes ?? {} }] }),
      });
      if (!response.ok) throw new RehearsalError(`could not publish the injected message to ${message.topic}: HTTP ${response.status}`);
    }
    if (options.hold !== undefined) {
      await options.hold({
        projectId,
        pubsubHost: emulators.pubsubHost,
        firestoreHost: emulators.firestoreHost,
        processorUrl: (processor) => processors.endpointOf(processor),
        reader,
      });
    }
    processors.startKeys(keys);
    say(`started ${keys.length} key${keys.length === 1 ? '' : 's'} (${runId}), speed x${speed}`);
    const timeoutMs = options.timeoutMs ?? 600_000;
    let waitingSince = Date.now();
    const end = await waitForEnd(
      async () => {
        let unfinished = 0;
        for (const key of keys) if (!isKeyFinished(pipeline, await inspectKey(pipeline, reader, key))) unfinished++;
        const quiet = unfinished === 0 && gateway.inFlight === 0 && processors.busy === 0;
        if (!quiet && Date.now() - waitingSince > 15_000) {
          waitingSince = Date.now();
          say(`waiting: ${unfinished} key(s) unfinished, ${gateway.inFlight} push(es) in flight, ${processors.busy} processor deliveries running`);
        }
        return quiet;
      },
      deniedOnce,
      timeoutMs,
    );

    const views = [];
    for (const key of keys) views.push(await inspectKey(pipeline, reader, key));
    if (end === 'timeout') {
      // What a reader needs to see why: what is still open, and where deliveries were refused.
      for (const view of views) if (!isKeyFinished(pipeline, view)) say(`unfinished: ${describeOpen(view)}`);
      for (const [component, c] of gateway.counts)
        if (c.retries > 0) say(`retried: ${component} answered ${c.retries} of ${c.requests} deliveries with an error`);
      say(`at the timeout: ${gateway.inFlight} push(es) in flight, ${processors.busy} processor deliveries running`);
    }
    const deadLetters = await readDeadLetters(model, emulators.pubsubHost, projectId);
    const duplicates = [...logCounts.values()].reduce((sum, c) => sum + c.duplicates, 0);
    const report = buildRunReport(pipeline, views, options.start, duplicates, deadLetters.length);
    const components: ComponentSummary[] = model.serviceAccounts.map((account) => ({
      component: account.component,
      kind: account.kind,
      deliveries: processors.pulled.get(account.component) ??
        gateway.counts.get(account.component) ?? { requests: 0, acks: 0, retries: 0, filtered: 0, ticks: 0 },
      deadLettered: logCounts.get(account.component)?.deadLettered ?? 0,
      denied: deniedBy.get(account.component) ?? 0,
    }));
    return { runId, end, report, components, denials, deadLetters, wallMs: Date.now() - wallStart, simulatedMs: clock.now() - options.start, speed };
  } finally {
    await cleanup();
  }
}

/** Polls `done` until it holds; ends early on a denial or at the timeout. */
async function waitForEnd(done: () => Promise<boolean>, denied: Promise<void>, timeoutMs: number): Promise<RehearsalResult['end']> {
  let deniedNow = false;
  void denied.then(() => (deniedNow = true));
  const deadline = Date.now() + timeoutMs;
  let quietPolls = 0;
  for (;;) {
    if (deniedNow) return 'denied';
    // Two quiet polls in a row: a straggling duplicate delivery has had its chance to land.
    quietPolls = (await done()) ? quietPolls + 1 : 0;
    if (quietPolls >= 2) return 'finished';
    if (Date.now() > deadline) return 'timeout';
    await Promise.race([new Promise((resolve) => setTimeout(resolve, 250)), denied]);
  }
}

/** Every scheduler job of the model as a gateway route: its target, its OIDC invoker, its body and schedule. */
export function tickRoutes(model: DeployModel): TickRoute[] {
  const jobs: { component: string; tick: DeployModel['barriers'][number]['tick'] | undefined }[] = [
    ...model.barriers.map((b) => ({ component: b.name, tick: b.tick })),
    ...model.coordinators.map((c) => ({ component: c.name, tick: c.tick })),
  ];
  // A model edited to lack a job (a test of what the job is for) simply has no timer for it.
  return jobs.flatMap(({ component, tick }) =>
    tick === undefined
      ? []
      : [{ job: tick.job, component, target: tick.target, invoker: tick.invoker, body: tick.body, schedule: tick.schedule, path: tick.path }],
  );
}

function describeCall(call: Parameters<IamPolicy['check']>[1]): string {
  switch (call.kind) {
    case 'publish':
      return `publish to ${call.topic}`;
    case 'consume':
      return `${call.rpc} on ${call.subscription}`;
    case 'firestore':
      return `Firestore ${call.rpc}`;
    case 'invoke':
      return `invoke ${call.target.kind} ${call.target.name}`;
    case 'other':
      return `${call.rpc}${call.resource === undefined ? '' : ` ${call.resource}`}`;
  }
}

function functionsFramework(): string {
  return join(packageRoot(), 'node_modules', '@google-cloud', 'functions-framework', 'build', 'src', 'main.js');
}

function formatSimulated(ms: number): string {
  const minutes = Math.floor(ms / 60_000);
  return minutes >= 60
    ? `${Math.floor(minutes / 60)}h ${String(minutes % 60).padStart(2, '0')}m`
    : `${minutes}m ${String(Math.floor((ms % 60_000) / 1000)).padStart(2, '0')}s`;
}

/** One line on what holds a key open: each barrier without a trigger and what it waits for, each unfinished batch. */
function describeOpen(view: KeyView): string {
  const parts: string[] = [];
  for (const barrier of view.barriers) {
    if (barrier.status === undefined) parts.push(`${barrier.barrier} has seen nothing`);
    else if (barrier.status.trigger === undefined) parts.push(`${barrier.barrier} waits for ${barrier.status.missing.join(', ') || 'its threshold'}`);
    else if (barrier.status.trigger.publishedAt === undefined) parts.push(`${barrier.barrier} decided but not published`);
  }
  for (const batch of view.batches) {
    if (batch.progress === undefined) parts.push(`${batch.coordinator} has no batch`);
    else if (batch.progress.state.completion === undefined) parts.push(`${batch.coordinator} at ${batch.progress.counted.length}/${batch.progress.total}`);
  }
  return `${view.key}: ${parts.join('; ') || 'every gate fired'}`;
}
