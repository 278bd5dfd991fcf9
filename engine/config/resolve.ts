import type { DocPath } from './diagnostic.ts';
import type { PipelineSpec, ProcessorSpec, SimulatedProcessorSpec, SimulateSpec, SubscriptionSpec, ThresholdSpec } from './pipeline-spec.ts';
import type {
  DeadlineTier,
  ModeProfile,
  Ref,
  ResolvedBarrier,
  ResolvedCoordinator,
  ResolvedPhase,
  ResolvedPipeline,
  ResolvedProcessor,
  ResolvedSimulation,
  SimulatedBehaviour,
  ResolvedTopic,
  SubscriptionSettings,
  Threshold,
} from './resolved-pipeline.ts';

/** Defaults that production learned the hard way (see reference/nba-pipeline.md). */
export const DEFAULTS = {
  ackDeadlineSeconds: 600,
  minBackoffSeconds: 10,
  maxBackoffSeconds: 600,
  deadLetterAfterAttempts: 5,
  messageRetentionSeconds: 604_800,
  delivery: 'push',
  countsAsComplete: ['success', 'partial'],
  memoryMb: 512,
  timeoutSeconds: 60,
  maxInstances: 10,
  timezone: 'UTC',
  onActiveBatch: 'refuse',
  simulation: { seed: 1, latencyMs: [50, 500] as const, failureRate: 0, noDataRate: 0, duplicateRate: 0 },
} as const;

const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** Parses a schema-valid duration (`90s`, `10m`, `4h`, `1d`) into milliseconds. */
export function parseDuration(text: string): number {
  const unit = text.slice(-1) as keyof typeof UNIT_MS;
  return Number(text.slice(0, -1)) * UNIT_MS[unit];
}

/** Turns a name into a Cloud Run / function service name (`_` is not allowed there). */
export function serviceNameOf(name: string): string {
  return name.replace(/_/g, '-');
}

const ref = (name: string, path: DocPath): Ref => ({ name, path });

/** Stage 3: applies every default once and normalises the spec; references stay unchecked names with paths. */
export function resolve(spec: PipelineSpec): ResolvedPipeline {
  const defaults = spec.defaults ?? {};
  const countsAsComplete = defaults.counts_as_complete ?? [...DEFAULTS.countsAsComplete];
  const baseSubscription = mergeSubscription(undefined, defaults.subscription, ['defaults', 'subscription']);

  const topics: ResolvedTopic[] = Object.entries(spec.topics).map(([name, topic]) => ({
    name,
    description: topic.description ?? '',
    deadLetter: { enabled: topic.dead_letter?.enabled ?? true, topic: `${name}-dlq`, reason: topic.dead_letter?.reason },
    externalPublishers: topic.external_publishers,
    externalConsumers: topic.external_consumers,
    kmsKey: topic.kms_key,
    path: ['topics', name],
  }));

  const phases: ResolvedPhase[] = [];
  const processors: ResolvedProcessor[] = [];
  const dependencyBarriers: ResolvedBarrier[] = [];
  for (const [phaseName, phase] of Object.entries(spec.phases)) {
    const phasePath = ['phases', phaseName];
    const names = phase.processors.map((p) => (typeof p === 'string' ? p : p.name));
    const phaseSubscription = mergeSubscription(baseSubscription, phase.subscription, [...phasePath, 'subscription']);
    const triggeredBy = phase.triggered_by === undefined ? undefined : ref(phase.triggered_by, [...phasePath, 'triggered_by']);
    const publishes = ref(phase.publishes, [...phasePath, 'publishes']);
    phases.push({ name: phaseName, description: phase.description ?? '', entry: phase.entry, triggeredBy, publishes, processors: names, path: phasePath });

    phase.processors.forEach((written, index) => {
      const processor: ProcessorSpec = typeof written === 'string' ? { name: written } : written;
      const path = [...phasePath, 'processors', index];
      const objectPath = typeof written === 'string' ? path : [...path, 'name'];
      const dependsOn = (processor.depends_on ?? []).map((name, i) => ref(name, [...path, 'depends_on', i]));
      const sameDeps = dependsOn.filter((dep) => names.includes(dep.name));
      const dependencyBarrier = sameDeps.length > 0 ? `${processor.name}-dependencies` : undefined;
      if (dependencyBarrier !== undefined) {
        dependencyBarriers.push({
          name: dependencyBarrier,
          kind: 'dependency',
          description: `Starts ${processor.name} once ${sameDeps.map((d) => d.name).join(', ')} completed.`,
          function: serviceNameOf(dependencyBarrier),
          listens: publishes,
          membersPhase: undefined,
          members: sameDeps,
          threshold: { kind: 'all', required: [], count: undefined, quorum: undefined, path: [...path, 'depends_on'] },
          modes: undefined,
          deadlines: [],
          aggregateEntities: true,
          countsAsComplete,
          publishes: triggeredBy ?? publishes,
          target: processor.name,
          path: [...path, 'depends_on'],
        });
      }
      processors.push({
        name: processor.name,
        phase: phaseName,
        description: processor.description ?? '',
        service: processor.service ?? serviceNameOf(processor.name),
        triggeredBy,
        publishes,
        dependsOn,
        dependencyBarrier,
        subscription: mergeSubscription(phaseSubscription, processor.subscription, [...path, 'subscription']),
        ...(processor.renamed_from === undefined ? {} : { renamedFrom: ref(processor.renamed_from, [...path, 'renamed_from']) }),
        path: objectPath,
      });
    });
  }

  const barriers: ResolvedBarrier[] = Object.entries(spec.barriers ?? {}).map(([name, barrier]) => {
    const path = ['barriers', name];
    const membersPhase = Array.isArray(barrier.members) ? undefined : ref(barrier.members.phase, [...path, 'members', 'phase']);
    const members = Array.isArray(barrier.members)
      ? barrier.members.map((member, i) => ref(member, [...path, 'members', i]))
      : (phases.find((p) => p.name === membersPhase?.name)?.processors ?? []).map((member) => ref(member, [...path, 'members', 'phase']));
    const modes = barrier.modes;
    return {
      name,
      kind: 'phase',
      description: barrier.description ?? '',
      function: barrier.function ?? serviceNameOf(name),
      listens: ref(barrier.listens, [...path, 'listens']),
      membersPhase,
      members,
      threshold: resolveThreshold(barrier.threshold, [...path, 'threshold']),
      modes:
        modes === undefined
          ? undefined
          : {
              select: modes.select,
              timezone: modes.timezone ?? DEFAULTS.timezone,
              path: [...path, 'modes'],
              profiles: Object.entries(modes.profiles).map(([profileName, profile]): ModeProfile => {
                const profilePath = [...path, 'modes', 'profiles', profileName];
                return {
                  name: profileName,
                  when: profile.when,
                  expect: profile.expect?.map((member, i) => ref(member, [...profilePath, 'expect', i])),
                  threshold: resolveThreshold(profile.threshold, [...profilePath, 'threshold']),
                  path: profilePath,
                };
              }),
            },
      deadlines: (barrier.deadlines ?? []).map((tier, i): DeadlineTier => ({
        after: tier.after,
        afterMs: parseDuration(tier.after),
        minMembers: tier.min_members,
        ignoreRequired: tier.ignore_required ?? false,
        path: [...path, 'deadlines', i],
      })),
      aggregateEntities: barrier.aggregate?.includes('entities_changed') ?? false,
      countsAsComplete: barrier.counts_as_complete ?? countsAsComplete,
      publishes: ref(barrier.publishes, [...path, 'publishes']),
      target: undefined,
      ...(barrier.renamed_from === undefined ? {} : { renamedFrom: ref(barrier.renamed_from, [...path, 'renamed_from']) }),
      path,
    };
  });

  const coordinators: ResolvedCoordinator[] = Object.entries(spec.coordinators ?? {}).map(([name, c]) => {
    const path = ['coordinators', name];
    const stall = c.completion?.stall;
    return {
      name,
      description: c.description ?? '',
      service: c.service ?? serviceNameOf(name),
      phase: ref(c.phase, [...path, 'phase']),
      listens: ref(c.listens, [...path, 'listens']),
      entityType: c.entities.type,
      fullListUrl: c.entities.full_list_url,
      workTopic: ref(c.work_topic, [...path, 'work_topic']),
      readyTopic: ref(c.ready_topic, [...path, 'ready_topic']),
      publishes: c.publishes === undefined ? undefined : ref(c.publishes, [...path, 'publishes']),
      stall: stall && { minFraction: stall.min_fraction, noProgressFor: stall.no_progress_for, noProgressForMs: parseDuration(stall.no_progress_for) },
      countsAsComplete: c.counts_as_complete ?? countsAsComplete,
      onActiveBatch: c.on_active_batch ?? DEFAULTS.onActiveBatch,
      path,
    };
  });

  const orchestrator = defaults.orchestrator ?? {};
  return {
    name: spec.pipeline.name,
    description: spec.pipeline.description ?? '',
    project: spec.pipeline.project,
    region: spec.pipeline.region,
    key: { name: spec.key.name, type: spec.key.type ?? 'string', pattern: spec.key.pattern },
    entityTypes:
      spec.entities && Object.entries(spec.entities).map(([name, entity]) => ({ name, description: entity.description ?? '', path: ['entities', name] })),
    keyCadenceMs: parseDuration(spec.key.cadence ?? (spec.key.type === 'hour' ? '1h' : '1d')),
    orchestrator: {
      memoryMb: orchestrator.memory_mb ?? DEFAULTS.memoryMb,
      timeoutSeconds: orchestrator.timeout_seconds ?? DEFAULTS.timeoutSeconds,
      maxInstances: orchestrator.max_instances ?? DEFAULTS.maxInstances,
    },
    subscriptionDefaults: baseSubscription,
    topics,
    phases,
    processors,
    barriers: [...barriers, ...dependencyBarriers],
    coordinators,
    simulation: resolveSimulation(spec.simulate),
  };
}

function resolveSimulation(spec: SimulateSpec | undefined): ResolvedSimulation {
  const base = DEFAULTS.simulation;
  const merge = (from: SimulatedBehaviour, s: SimulatedProcessorSpec | undefined): SimulatedBehaviour => ({
    latencyMs: s?.latency_ms ?? from.latencyMs,
    failureRate: s?.failure_rate ?? from.failureRate,
    noDataRate: s?.no_data_rate ?? from.noDataRate,
    duplicateRate: s?.duplicate_rate ?? from.duplicateRate,
    changes: s?.changes ?? from.changes,
  });
  const defaults = merge(
    { latencyMs: base.latencyMs, failureRate: base.failureRate, noDataRate: base.noDataRate, duplicateRate: base.duplicateRate, changes: {} },
    spec?.defaults,
  );
  const written = Object.entries(spec?.processors ?? {});
  return {
    seed: spec?.seed ?? base.seed,
    entities: spec?.entities ?? {},
    defaults,
    processors: new Map(written.map(([name, s]) => [name, merge(defaults, s)])),
    references: written.map(([name]) => ref(name, ['simulate', 'processors', name])),
    entityReferences: [
      ...Object.keys(spec?.entities ?? {}).map((type) => ref(type, ['simulate', 'entities', type])),
      ...Object.keys(spec?.defaults?.changes ?? {}).map((type) => ref(type, ['simulate', 'defaults', 'changes', type])),
      ...written.flatMap(([name, s]) => Object.keys(s.changes ?? {}).map((type) => ref(type, ['simulate', 'processors', name, 'changes', type]))),
    ],
  };
}

function resolveThreshold(spec: ThresholdSpec | undefined, path: DocPath): Threshold {
  if (spec === undefined || spec === 'all') return { kind: 'all', required: [], count: undefined, quorum: undefined, path };
  const required = (spec.required ?? []).map((member, i) => ref(member, [...path, 'required', i]));
  const kind = spec.count !== undefined ? 'count' : spec.quorum !== undefined ? 'quorum' : 'required';
  return { kind, required, count: spec.count, quorum: spec.quorum, path };
}

function mergeSubscription(base: SubscriptionSettings | undefined, spec: SubscriptionSpec | undefined, path: DocPath): SubscriptionSettings {
  const from = base ?? {
    ackDeadlineSeconds: DEFAULTS.ackDeadlineSeconds,
    minBackoffSeconds: DEFAULTS.minBackoffSeconds,
    maxBackoffSeconds: DEFAULTS.maxBackoffSeconds,
    deadLetterAfterAttempts: DEFAULTS.deadLetterAfterAttempts,
    messageRetentionSeconds: DEFAULTS.messageRetentionSeconds,
    delivery: DEFAULTS.delivery,
    invoker: undefined,
    path,
  };
  if (spec === undefined) return from;
  return {
    ackDeadlineSeconds: spec.ack_deadline_seconds ?? from.ackDeadlineSeconds,
    minBackoffSeconds: spec.retry?.min_backoff_seconds ?? from.minBackoffSeconds,
    maxBackoffSeconds: spec.retry?.max_backoff_seconds ?? from.maxBackoffSeconds,
    deadLetterAfterAttempts: spec.dead_letter_after_attempts ?? from.deadLetterAfterAttempts,
    messageRetentionSeconds: spec.message_retention_seconds ?? from.messageRetentionSeconds,
    delivery: spec.delivery ?? from.delivery,
    invoker: spec.invoker ?? from.invoker,
    path,
  };
}
