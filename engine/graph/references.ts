import type { Ref, ResolvedPipeline } from '../config/resolved-pipeline.ts';

/** Every topic name written in the pipeline, with where it was written. */
export function topicReferences(pipeline: ResolvedPipeline): Ref[] {
  return [
    ...pipeline.phases.flatMap((p) => [p.triggeredBy, p.publishes]),
    ...pipeline.barriers.filter((b) => b.kind === 'phase').flatMap((b) => [b.listens, b.publishes]),
    ...pipeline.coordinators.flatMap((c) => [c.listens, c.workTopic, c.readyTopic, c.publishes]),
  ].filter((ref): ref is Ref => ref !== undefined);
}

/** Every processor name written in the pipeline outside the processor lists, with where it was written. */
export function processorReferences(pipeline: ResolvedPipeline): Ref[] {
  const barriers = pipeline.barriers.filter((b) => b.kind === 'phase');
  return [
    ...pipeline.processors.flatMap((p) => p.dependsOn),
    ...pipeline.simulation.references,
    ...barriers.flatMap((b) => (b.membersPhase ? [] : b.members)),
    ...barriers.flatMap((b) => [
      ...b.threshold.required,
      ...(b.modes?.profiles ?? []).flatMap((profile) => [...(profile.expect ?? []), ...profile.threshold.required]),
    ]),
  ];
}

/** Every entity type written in the pipeline outside `entities:`, with where it was written. */
export function entityTypeReferences(pipeline: ResolvedPipeline): Ref[] {
  return [...pipeline.coordinators.map((c) => ({ name: c.entityType, path: [...c.path, 'entities', 'type'] })), ...pipeline.simulation.entityReferences];
}

/** Every phase name written in the pipeline outside `phases:`, with where it was written. */
export function phaseReferences(pipeline: ResolvedPipeline): Ref[] {
  return [...pipeline.barriers.flatMap((b) => (b.membersPhase ? [b.membersPhase] : [])), ...pipeline.coordinators.map((c) => c.phase)];
}
