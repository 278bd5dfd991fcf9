import type { LoadResult } from '../config/load-pipeline.ts';
import type { ResolvedPipeline } from '../config/resolved-pipeline.ts';
import { costAssumptions, estimateCost, type CostEstimate, type PriceTable, type TickSchedule } from './cost.ts';
import { keysInFlight, type InFlightEffect, type PlanRisk } from './keys-in-flight.ts';
import { compareRenders, type ResourceChanges } from './resource-changes.ts';
import { diffPipelines, type PipelineChange } from './semantic-diff.ts';

/** A pipeline that loaded without errors, with its render. */
export interface PlannedSide {
  readonly load: LoadResult & { readonly pipeline: ResolvedPipeline };
  /** `generateAll` of it; for the base, stamped with the edit's hash, so hash-only changes can be told apart. */
  readonly files: ReadonlyMap<string, string>;
  /** Its scheduled ticks, from the deploy model. */
  readonly ticks: readonly TickSchedule[];
}

/** What `baton plan` reports: the JSON format prints this object (`format` 1). */
export interface Plan {
  readonly format: 1;
  /** The edited pipeline file, as given. */
  readonly file: string;
  readonly base: { readonly label: string; readonly hash: string };
  readonly head: { readonly hash: string };
  /** True when the edit means something or changes a resource beyond the hash label (exit code 1). */
  readonly changed: boolean;
  readonly changes: readonly PipelineChange[];
  readonly notes: readonly string[];
  readonly keysInFlight: readonly InFlightEffect[];
  /** Every risk of keysInFlight, flattened, with the component it concerns. */
  readonly warnings: readonly (PlanRisk & { readonly component: string })[];
  readonly resources: ResourceChanges;
  readonly cost: {
    readonly base: CostEstimate;
    readonly head: CostEstimate;
    readonly deltaListUsd: number;
    readonly deltaBilledUsd: number;
    readonly assumptions: readonly string[];
  };
}

/** Builds the whole plan of an edit: meaning, keys in flight, resources, cost. */
export function buildPlan(file: string, baseLabel: string, base: PlannedSide, head: PlannedSide, prices: PriceTable): Plan {
  const diff = diffPipelines(base.load.pipeline, head.load.pipeline);
  const effects = keysInFlight(base.load.pipeline, head.load.pipeline, diff);
  const resources = compareRenders(
    base.files,
    head.files,
    { before: base.load.hash ?? '', after: head.load.hash ?? '' },
    head.load.pipeline.project ?? 'PROJECT',
  );
  const baseCost = estimateCost(base.load.pipeline, base.ticks, prices);
  const headCost = estimateCost(head.load.pipeline, head.ticks, prices);
  const real = resources.added.length + resources.removed.length + resources.changed.length + resources.files.changed.length;
  return {
    format: 1,
    file,
    base: { label: baseLabel, hash: base.load.hash ?? '' },
    head: { hash: head.load.hash ?? '' },
    changed: diff.changes.length > 0 || real > 0,
    changes: diff.changes,
    notes: diff.notes,
    keysInFlight: effects,
    warnings: effects.flatMap((e) => e.risks.map((r) => ({ ...r, component: e.name }))),
    resources,
    cost: {
      base: baseCost,
      head: headCost,
      deltaListUsd: headCost.listUsd - baseCost.listUsd,
      deltaBilledUsd: headCost.billedUsd - baseCost.billedUsd,
      assumptions: costAssumptions(prices),
    },
  };
}
