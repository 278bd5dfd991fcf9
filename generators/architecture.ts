import type { DeployModel } from './deploy-model.ts';
import { renderTemplate } from './render-template.ts';
import type { ResolvedPipeline } from '../engine/config/resolved-pipeline.ts';

/** `ARCHITECTURE.md`: the Mermaid diagram embedded (so GitHub renders it), with phase and barrier tables. */
export function generateArchitecture(model: DeployModel, pipeline: ResolvedPipeline, mermaid: string): string {
  return renderTemplate('architecture-md', {
    ...model,
    mermaid: mermaid.trimEnd(),
    topicCount: model.topics.length,
    processorCount: pipeline.processors.length,
    phaseCount: pipeline.phases.length,
    barrierCount: model.barriers.length,
    coordinatorCount: model.coordinators.length,
    subscriptionCount: model.subscriptions.length,
    phases: pipeline.phases.map((p, i) => ({
      index: i + 1,
      name: p.name,
      count: p.processors.length,
      start: p.entry !== undefined ? `entry: ${p.entry}` : (p.triggeredBy?.name ?? ''),
      publishes: p.publishes.name,
    })),
    barriers: model.barriers.map((b) => ({ ...b, target: b.target ?? '' })),
  });
}
