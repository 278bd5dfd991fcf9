import { PLAIN, type Palette } from '../config/format-diagnostics.ts';
import type { Plan } from './build-plan.ts';
import { formatCount, formatUsd, type CostLine } from './cost.ts';
import type { PipelineChange } from './semantic-diff.ts';

const SIGN = { added: '+', removed: '-', renamed: '→', changed: '~' } as const;

/** `processor x`, `subscription a--t`, or `39 subscriptions` for a group; `name` formats a name. */
function subjectWords(change: PipelineChange, name: (s: string) => string = (s) => s): string {
  if (change.subject !== 'subscriptions') return `${change.subject} ${name(change.name)}`;
  return /^\d+ subscriptions$/.test(change.name) ? change.name : `subscription ${name(change.name)}`;
}

/** One change's headline: `+ processor nbac_box_score_v3`, `→ processor b (renamed from a, by shape)`. */
function headline(change: PipelineChange): string {
  const rename =
    change.renamedFrom === undefined
      ? ''
      : ` (renamed from ${change.renamedFrom.name}${change.renamedFrom.by === 'shape' ? ', recognised by shape: same phase, position and settings' : ''})`;
  return `${SIGN[change.action]} ${subjectWords(change)}${rename}`;
}

const colourOf = (palette: Palette, change: PipelineChange): ((s: string) => string) =>
  change.action === 'added' ? palette.green : change.action === 'removed' ? palette.red : palette.yellow;

/** The "then" line: what to run after reading the plan. */
function nextStep(plan: Plan): string | undefined {
  if (!plan.changed && plan.resources.hashOnly.length === 0 && plan.resources.files.hashOnly.length === 0) return undefined;
  const generate = plan.file === 'pipeline.yaml' ? 'npx baton generate' : `npx baton generate ${plan.file}`;
  return `then: ${generate}, review, commit ${plan.file} and generated/ together`;
}

/** One row per SKU of the edited pipeline's estimate, with its change from the base's. */
function costRows(plan: Plan): { sku: string; quantity: string; list: string; billed: string; delta: string; from: string }[] {
  const { base, head } = plan.cost;
  return head.lines.map((line, i) => {
    const old: CostLine | undefined = base.lines[i];
    return {
      sku: `${line.product} ${line.sku}`,
      quantity: `${formatCount(line.quantity)} ${line.unit}`,
      list: formatUsd(line.listUsd),
      billed: formatUsd(line.billedUsd),
      delta: signedUsd(line.listUsd - (old?.listUsd ?? 0)),
      from: line.from,
    };
  });
}

/** Whether the edit changes any estimated quantity. */
function costChanged(plan: Plan): boolean {
  return plan.cost.head.lines.some((line, i) => Math.abs(line.quantity - (plan.cost.base.lines[i]?.quantity ?? 0)) > 1e-9);
}

function signedUsd(usd: number): string {
  if (Math.abs(usd) < 0.005) return '±$0.00';
  return usd > 0 ? `+${formatUsd(usd)}` : formatUsd(usd);
}

function costSummary(plan: Plan): string {
  const { base, head, deltaListUsd, deltaBilledUsd } = plan.cost;
  if (!costChanged(plan)) return `${formatUsd(head.listUsd)} a month at list price; ${formatUsd(head.billedUsd)} after free tiers`;
  return `${formatUsd(base.listUsd)} → ${formatUsd(head.listUsd)} a month at list price (${signedUsd(deltaListUsd)}); after free tiers ${formatUsd(base.billedUsd)} → ${formatUsd(head.billedUsd)} (${signedUsd(deltaBilledUsd)})`;
}

function resourceSummary(plan: Plan): string {
  const r = plan.resources;
  return `${r.added.length} to add, ${r.changed.length} to change, ${r.removed.length} to remove; ${r.hashOnly.length} change only the pipeline hash label`;
}

/** The plan for a terminal: sections in reading order, colour only when `palette` has it. */
export function renderPlanText(plan: Plan, palette: Palette = PLAIN): string {
  const out: string[] = [];
  const hashes = plan.base.hash === plan.head.hash ? `pipeline hash ${plan.head.hash}` : `pipeline hash ${plan.base.hash} → ${plan.head.hash}`;
  out.push(palette.bold(`plan for ${plan.file} against ${plan.base.label}`) + palette.dim(` (${hashes})`));
  out.push('');
  if (plan.changes.length === 0) out.push('What the edit means: nothing — no component, threshold or setting changes');
  else {
    out.push(palette.bold(`What the edit means (${plan.changes.length} ${plan.changes.length === 1 ? 'change' : 'changes'})`));
    for (const change of plan.changes) {
      const inline = change.action === 'added' || change.action === 'removed';
      out.push(colourOf(palette, change)(`  ${headline(change)}${inline ? `: ${change.details.join('; ')}` : ''}`));
      if (!inline) for (const detail of change.details) out.push(`      ${detail}`);
    }
  }
  for (const note of plan.notes) out.push(palette.dim(`  note: ${note}`));
  if (plan.keysInFlight.length > 0) {
    out.push('', palette.bold('Keys in flight when it deploys'));
    for (const effect of plan.keysInFlight) {
      out.push(`  ${effect.component} ${effect.name}`);
      for (const consequence of effect.consequences) out.push(`    - ${consequence}`);
    }
  }
  if (plan.warnings.length > 0) {
    out.push('', palette.bold(`Warnings (${plan.warnings.length})`));
    for (const w of plan.warnings) out.push(palette.yellow(`  ! failure mode #${w.failureMode}: ${w.message}`));
  }
  const r = plan.resources;
  out.push('', palette.bold(`Resources: ${resourceSummary(plan)}`));
  for (const a of r.added) out.push(palette.green(`  + ${a.type}.${a.name}`));
  for (const c of r.changed) out.push(palette.yellow(`  ~ ${c.type}.${c.name}`));
  for (const d of r.removed) out.push(palette.red(`  - ${d.type}.${d.name}`));
  if (r.deletes.length > 0) {
    out.push('  terraform apply removes these; after a deploy.sh deploy, delete the orphans by hand:');
    for (const command of r.deletes) out.push(`    ${command}`);
  }
  const f = r.files;
  out.push(
    '',
    palette.bold(
      `Generated files: ${f.added.length} added, ${f.changed.length} changed, ${f.removed.length} removed; ${f.hashOnly.length} change only in the pipeline hash`,
    ),
  );
  for (const p of f.added) out.push(palette.green(`  + ${p}`));
  for (const p of f.changed) out.push(palette.yellow(`  ~ ${p}`));
  for (const p of f.removed) out.push(palette.red(`  - ${p}`));
  out.push(
    '',
    palette.bold(`Monthly cost estimate (Google Cloud list prices as of ${plan.cost.head.asOf}, ${formatCount(plan.cost.head.keysPerMonth)} keys a month)`),
  );
  const rows = costRows(plan);
  const columns: [string, (row: (typeof rows)[number]) => string, 'start' | 'end'][] = [
    ['SKU', (row) => row.sku, 'end'],
    ['a month', (row) => row.quantity, 'start'],
    ['list', (row) => row.list, 'start'],
    ['after free tier', (row) => row.billed, 'start'],
    ...(costChanged(plan) ? [['list Δ', (row: (typeof rows)[number]) => row.delta, 'start'] as [string, (row: (typeof rows)[number]) => string, 'start']] : []),
  ];
  const widths = columns.map(([title, pick]) => Math.max(title.length, ...rows.map((row) => pick(row).length)));
  const pad = (text: string, i: number): string => {
    const [, , side] = columns[i] ?? ['', () => '', 'end'];
    return side === 'end' ? text.padEnd(widths[i] ?? 0) : text.padStart(widths[i] ?? 0);
  };
  out.push(`  ${columns.map(([title], i) => pad(title, i)).join('  ')}`.trimEnd());
  for (const row of rows) out.push(`  ${columns.map(([, pick], i) => pad(pick(row), i)).join('  ')}`.trimEnd());
  out.push(`  total: ${costSummary(plan)}`);
  out.push('  assumptions:');
  for (const a of plan.cost.assumptions) out.push(palette.dim(`    - ${a}`));
  const next = nextStep(plan);
  if (next !== undefined) out.push('', next);
  return `${out.join('\n')}\n`;
}

const code = (s: string): string => `\`${s.replaceAll('`', "'")}\``;
const cell = (s: string): string => s.replaceAll('|', '\\|').replaceAll('\n', ' ');

/** The plan as a pull-request comment: a table of changes, keys in flight, warnings, collapsible details. */
export function renderPlanMarkdown(plan: Plan): string {
  const out: string[] = [];
  out.push(`### \`baton plan\`: ${code(plan.file)} against ${code(plan.base.label)}`);
  out.push('');
  out.push(
    `**${plan.changes.length} ${plan.changes.length === 1 ? 'change' : 'changes'}** · resources: ${resourceSummary(plan)} · cost ${signedUsd(plan.cost.deltaListUsd)} a month at list price`,
  );
  out.push('');
  if (plan.changes.length > 0) {
    out.push('| | what | details |', '|---|---|---|');
    for (const change of plan.changes) {
      const rename = change.renamedFrom === undefined ? '' : ` (from ${code(change.renamedFrom.name)}${change.renamedFrom.by === 'shape' ? ', by shape' : ''})`;
      out.push(`| ${SIGN[change.action]} | ${subjectWords(change, code)}${rename} | ${cell(change.details.join('; '))} |`);
    }
    out.push('');
  }
  for (const note of plan.notes) out.push(`> note: ${note}`, '');
  if (plan.keysInFlight.length > 0) {
    out.push('#### Keys in flight when it deploys', '');
    for (const effect of plan.keysInFlight) {
      out.push(`- ${effect.component} ${code(effect.name)}`);
      for (const consequence of effect.consequences) out.push(`  - ${consequence}`);
    }
    out.push('');
  }
  if (plan.warnings.length > 0) {
    out.push('#### Warnings', '');
    for (const w of plan.warnings) out.push(`- ⚠️ failure mode #${w.failureMode}: ${w.message}`);
    out.push('');
  }
  const r = plan.resources;
  const resourceLines = [
    ...r.added.map((a) => `+ ${a.type}.${a.name}`),
    ...r.changed.map((c) => `~ ${c.type}.${c.name}`),
    ...r.removed.map((d) => `- ${d.type}.${d.name}`),
  ];
  out.push(`<details><summary>Resources: ${resourceSummary(plan)}</summary>`, '');
  if (resourceLines.length > 0) out.push('```diff', ...resourceLines, '```', '');
  if (r.deletes.length > 0) out.push('After a deploy.sh deploy, delete the orphans by hand:', '', '```sh', ...r.deletes, '```', '');
  const f = r.files;
  out.push(
    `Generated files: ${f.added.length} added, ${f.changed.length} changed, ${f.removed.length} removed; ${f.hashOnly.length} change only in the pipeline hash.`,
    '',
  );
  const fileLines = [...f.added.map((p) => `+ ${p}`), ...f.changed.map((p) => `~ ${p}`), ...f.removed.map((p) => `- ${p}`)];
  if (fileLines.length > 0) out.push('```diff', ...fileLines, '```', '');
  out.push('</details>', '');
  out.push(`<details><summary>Monthly cost: ${costSummary(plan)}</summary>`, '');
  out.push(`List prices as of ${plan.cost.head.asOf}; ${formatCount(plan.cost.head.keysPerMonth)} keys a month.`, '');
  out.push('| SKU | a month | list | after free tier | list Δ | from |', '|---|---:|---:|---:|---:|---|');
  for (const row of costRows(plan)) out.push(`| ${row.sku} | ${row.quantity} | ${row.list} | ${row.billed} | ${row.delta} | ${cell(row.from)} |`);
  out.push('', 'Assumptions:', '');
  for (const a of plan.cost.assumptions) out.push(`- ${a}`);
  out.push('', '</details>');
  return `${out.join('\n')}\n`;
}

/** The plan as JSON: the `Plan` object, stable (`format` 1), two-space indented. */
export function renderPlanJson(plan: Plan): string {
  return `${JSON.stringify(plan, null, 2)}\n`;
}
