import { countOf, describeCounts, unreportedOf } from '../runtime/describe-trigger.ts';
import type { ResolvedPipeline } from '../config/resolved-pipeline.ts';
import type { Palette } from '../config/format-diagnostics.ts';
import type { TriggerData } from '../runtime/envelope.ts';
import { isKeyFinished, type KeyView } from '../runtime/inspect-key.ts';
import { formatDuration, percent } from './format-time.ts';

/** One phase of one key: when it started and finished (simulated epoch ms), and what ended it. */
export interface PhaseRow {
  readonly phase: string;
  /** False for a phase no barrier or coordinator waits for (its completions start the next phase directly). */
  readonly gated: boolean;
  readonly startedAt: number | undefined;
  readonly finishedAt: number | undefined;
  /** The barrier or coordinator whose trigger ended the phase, and why it fired. */
  readonly endedBy: string | undefined;
  readonly reason: string | undefined;
  readonly counted: string | undefined;
}

/** What a run did, from durable state: the same after `--resume` as in one go. */
export interface RunReport {
  readonly keys: readonly KeyView[];
  readonly phases: ReadonlyMap<string, readonly PhaseRow[]>;
  readonly triggers: readonly { key: string; emitter: string; reason: string; detail: string }[];
  readonly entities: readonly { scope: string; processed: number; total: number }[];
  readonly duplicatesAbsorbed: number;
  readonly deadLetters: number;
  readonly finishedKeys: number;
}

const dataOf = (message: { data: string }): TriggerData => JSON.parse(message.data) as TriggerData;

/** Builds the report from each key's view of the state. */
export function buildRunReport(
  pipeline: ResolvedPipeline,
  views: readonly KeyView[],
  startedAt: number,
  duplicatesAbsorbed: number,
  deadLetters: number,
): RunReport {
  const phases = new Map<string, PhaseRow[]>();
  const triggers: RunReport['triggers'][number][] = [];
  const entityTotals = new Map<string, { processed: number; total: number }>();
  const universe = pipeline.simulation.entities;
  const universeTotal = Object.values(universe).reduce((a, b) => a + b, 0);
  let finishedKeys = 0;
  for (const view of views) {
    const fired = new Map(view.barriers.filter((b) => b.status?.trigger).map((b) => [b.barrier, b.status?.trigger]));
    for (const b of view.barriers) {
      const trigger = b.status?.trigger;
      if (!trigger) continue;
      const data = dataOf(trigger.message);
      // A barrier has few members: name the failed ones rather than count them.
      const counted = countOf(data);
      const tier = data.deadline_tier ? ` tier ${data.deadline_tier.tier} (after ${data.deadline_tier.after})` : '';
      const mode = data.mode ? ` [${data.mode}]` : '';
      const unreported = unreportedOf(data);
      const missing = unreported.length > 0 ? `, missing ${unreported.join(', ')}` : '';
      const failed = (data.members_failed ?? []).length > 0 ? `, failed ${(data.members_failed ?? []).join(', ')}` : '';
      triggers.push({ key: view.key, emitter: b.barrier, reason: data.reason, detail: `${counted}${mode}${tier}${failed}${missing}` });
    }
    for (const batch of view.batches) {
      const completion = batch.progress?.state.completion;
      if (!completion) continue;
      triggers.push({
        key: view.key,
        emitter: batch.coordinator,
        reason: completion.reason,
        detail: describeCounts(dataOf(completion.message)),
      });
    }
    const rows: PhaseRow[] = [];
    for (const phase of pipeline.phases) {
      const starter = pipeline.barriers.find((b) => b.kind === 'phase' && b.publishes.name === phase.triggeredBy?.name);
      const ender = pipeline.barriers.find((b) => b.kind === 'phase' && b.membersPhase?.name === phase.name);
      const coordinator = pipeline.coordinators.find((c) => c.phase.name === phase.name);
      const batch = coordinator && view.batches.find((b) => b.coordinator === coordinator.name)?.progress?.state;
      // A phase fed straight by another phase's processors (no barrier between) starts with that phase.
      const upstream = pipeline.phases.find((p) => p.publishes.name === phase.triggeredBy?.name);
      const startedAtPhase =
        phase.entry !== undefined
          ? startedAt
          : coordinator
            ? batch?.batch.createdAt
            : starter
              ? fired.get(starter.name)?.decidedAt
              : rows.find((r) => r.phase === upstream?.name)?.startedAt;
      const end = coordinator ? batch?.completion : ender && fired.get(ender.name);
      // The component's name, not the trigger record's emitter: a barrier with modes stores each
      // generation under `<barrier>~<mode>`.
      const endedBy = coordinator?.name ?? ender?.name;
      rows.push({
        phase: phase.name,
        gated: coordinator !== undefined || ender !== undefined,
        startedAt: startedAtPhase,
        finishedAt: end?.decidedAt,
        endedBy,
        reason: end?.reason,
        counted: end ? triggers.find((t) => t.key === view.key && t.emitter === endedBy)?.detail : undefined,
      });
      // Selective processing: a phase started by an entity-aware trigger recomputes only what changed.
      const start = starter && fired.get(starter.name);
      if (start && starter.aggregateEntities && universeTotal > 0) {
        const data = dataOf(start.message);
        const changed = Object.values(data.entities_changed ?? {}).reduce((a, e) => a + e.count, 0);
        const perProcessor = data.is_incremental === true ? changed : universeTotal;
        add(
          entityTotals,
          `${phase.name} (${phase.processors.length} processors × ${universeTotal} entities)`,
          perProcessor * phase.processors.length,
          universeTotal * phase.processors.length,
        );
      }
      if (coordinator && batch)
        add(
          entityTotals,
          `${phase.name} (${coordinator.entityType})`,
          batch.batch.entities.length,
          universe[coordinator.entityType] ?? batch.batch.entities.length,
        );
    }
    phases.set(view.key, rows);
    if (isKeyFinished(pipeline, view)) finishedKeys++;
  }
  return {
    keys: views,
    phases,
    triggers,
    entities: [...entityTotals].map(([scope, t]) => ({ scope, ...t })),
    duplicatesAbsorbed,
    deadLetters,
    finishedKeys,
  };
}

function add(totals: Map<string, { processed: number; total: number }>, scope: string, processed: number, total: number): void {
  const entry = totals.get(scope) ?? { processed: 0, total: 0 };
  entry.processed += processed;
  entry.total += total;
  totals.set(scope, entry);
}

/** The summary `baton run` prints at the end; `statusJson` is the command that lists every key, with the user's own options, `dlqList` the one that lists dead letters. */
export function formatRunReport(report: RunReport, palette: Palette, statusJson = 'baton status --json', dlqList?: string): string {
  const lines: string[] = [];
  const many = report.keys.length > 3;
  const phaseNames = [...(report.phases.values().next().value ?? [])].map((r) => r.phase);
  const width = Math.max(5, ...phaseNames.map((p) => p.length));
  if (!many) {
    for (const view of report.keys) {
      lines.push(`${palette.bold(`key ${view.key}`)}  correlation id ${view.correlationId ?? '-'}`);
      for (const row of report.phases.get(view.key) ?? []) {
        if (!row.gated) {
          lines.push(`  ${row.phase.padEnd(width)}  ${'-'.padStart(12)}  no barrier: its completions start the next phase directly`);
          continue;
        }
        const took =
          row.startedAt !== undefined && row.finishedAt !== undefined
            ? formatDuration(row.finishedAt - row.startedAt)
            : row.startedAt === undefined
              ? 'not started'
              : palette.yellow('not finished');
        const how = row.reason ? `${row.endedBy ?? ''}: ${row.reason} ${row.counted ?? ''}` : `waiting on ${row.endedBy ?? '?'}`;
        lines.push(`  ${row.phase.padEnd(width)}  ${took.padStart(12)}  ${how}`);
      }
      const dependencies = report.triggers.filter((t) => t.key === view.key && t.emitter.endsWith('-dependencies'));
      if (dependencies.length > 0)
        lines.push(`  ${'(deps)'.padEnd(width)}  ${''.padStart(12)}  ${dependencies.map((t) => `${t.emitter}: ${t.reason} ${t.detail}`).join('; ')}`);
    }
  } else {
    lines.push(`per-phase time across ${report.keys.length} keys (median / max):`);
    for (const phase of phaseNames) {
      if (report.keys.some((k) => report.phases.get(k.key)?.find((r) => r.phase === phase)?.gated === false)) {
        lines.push(`  ${phase.padEnd(width)}  -  (no barrier: its completions start the next phase directly)`);
        continue;
      }
      const times = report.keys
        .map((k) => report.phases.get(k.key)?.find((r) => r.phase === phase))
        .filter((r): r is PhaseRow => r?.gated === true && r.startedAt !== undefined && r.finishedAt !== undefined)
        .map((r) => (r.finishedAt ?? 0) - (r.startedAt ?? 0))
        .sort((a, b) => a - b);
      const median = times[Math.floor(times.length / 2)];
      lines.push(
        `  ${phase.padEnd(width)}  ${median === undefined ? '-' : formatDuration(median)} / ${times.length === 0 ? '-' : formatDuration(times.at(-1) ?? 0)}  (${times.length}/${report.keys.length} keys finished)`,
      );
    }
    const byEmitter = new Map<string, Map<string, number>>();
    for (const t of report.triggers) {
      const reasons = byEmitter.get(t.emitter) ?? new Map<string, number>();
      reasons.set(t.reason, (reasons.get(t.reason) ?? 0) + 1);
      byEmitter.set(t.emitter, reasons);
    }
    lines.push('triggers (exactly one per barrier and key):');
    for (const [emitter, reasons] of byEmitter) lines.push(`  ${emitter}: ${[...reasons].map(([r, n]) => `${n} ${r}`).join(', ')}`);
    const shown = report.keys.slice(0, 3).map((k) => `${k.key} ${k.correlationId ?? '-'}`);
    lines.push(`correlation ids: ${shown.join(', ')}${report.keys.length > 3 ? `, … (${statusJson} lists all ${report.keys.length})` : ''}`);
  }
  lines.push('');
  for (const e of report.entities)
    lines.push(`entities ${e.scope}: processed ${e.processed} of ${e.total}, skipped ${percent(e.total - e.processed, e.total)}`);
  lines.push(`duplicates absorbed: ${report.duplicatesAbsorbed}`);
  // A dead letter nobody is told how to find is as good as dropped: name the command that lists them.
  const listThem = report.deadLetters === 0 || dlqList === undefined ? '' : ` (${dlqList})`;
  lines.push(`dead letters: ${report.deadLetters === 0 ? '0' : palette.red(String(report.deadLetters))}${listThem}`);
  const done = report.finishedKeys === report.keys.length;
  lines.push(
    (done ? palette.green : palette.yellow)(`${report.finishedKeys} of ${report.keys.length} key${report.keys.length === 1 ? '' : 's'} finished every phase`),
  );
  return lines.join('\n');
}
