// npm run chaos [-- --seed N --keys N --kills N]: the NBA graph and the retail fixture on SQLite under faults, kills and resumes.
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { runChaos, type ChaosFigures } from '../test/chaos/run-chaos.ts';

const { values } = parseArgs({
  options: {
    seed: { type: 'string', default: '20261129' },
    keys: { type: 'string', default: '30' },
    kills: { type: 'string', default: '5' },
    'process-kills': { type: 'string', default: '3' },
  },
});
const seed = Number(values.seed);
const keyCount = Number(values.keys);
const kills = Number(values.kills);
const processKills = Number(values['process-kills']);
if (![seed, keyCount, kills, processKills].every(Number.isInteger) || keyCount < 1 || kills < 0 || processKills < 0) {
  process.stderr.write('usage: npm run chaos -- [--seed <integer>] [--keys <1 or more>] [--kills <0 or more>] [--process-kills <0 or more>]\n');
  process.exit(2);
}
const keys = Array.from({ length: keyCount }, (_, i) => new Date(Date.UTC(2025, 10, 1) + i * 86_400_000).toISOString().slice(0, 10));
const dir = mkdtempSync(join(tmpdir(), 'baton-chaos-'));
const root = join(import.meta.dirname, '..');
let failed = false;
process.stdout.write(
  `chaos: seed ${seed}, ${keyCount} keys per pipeline, ${kills} in-process kills then up to ${processKills} SIGKILLed processes, SQLite, on ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${new Date().toISOString()}\n\n`,
);
try {
  for (const file of ['pipeline.yaml', 'test/fixtures/valid/retail-close.yaml']) {
    const result = await runChaos({ pipelineFile: join(root, file), keys, seed, dbFile: join(dir, 'chaos.db'), kills, processKills });
    process.stdout.write(`${file}\n${formatFigures(result.figures)}\n`);
    const crashes = new Map<string, number>();
    for (const reason of result.crashReasons) crashes.set(reason, (crashes.get(reason) ?? 0) + 1);
    for (const [reason, n] of crashes) process.stdout.write(`  crashed ${n}× on "${reason}" (a simulated processor's second publish is unguarded), resumed\n`);
    for (const violation of result.violations) process.stdout.write(`  VIOLATION ${violation}\n`);
    process.stdout.write(result.violations.length === 0 ? '  every check held\n\n' : `  ${result.violations.length} violations\n\n`);
    failed ||= result.violations.length > 0;
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);

function formatFigures(f: ChaosFigures): string {
  const rows: [string, number | string][] = [
    ['keys', f.keys],
    ['messages published', f.messages],
    ['duplicate deliveries injected', f.duplicateDeliveries],
    ['duplicates absorbed by barriers/coordinators', f.duplicatesAbsorbed],
    ['publish faults injected', f.publishFaults],
    ['store faults injected', f.storeFaults],
    ['processes SIGKILLed (then resumed)', f.processKills],
    ['in-process kills at a port call (then resumed)', f.kills],
    ['crashes from escaped faults (then resumed)', f.crashes],
    ['members that never report', f.silentMembers],
    ['poison messages', f.poison],
    ['barrier triggers', f.triggers],
    ['coordinator batches completed', f.batches],
    ['dead letters', f.deadLettered],
    ['lost', f.lost],
    ['doubled', f.doubled],
    ['wall time', `${(f.wallMs / 1000).toFixed(1)} s`],
  ];
  return rows.map(([label, value]) => `  ${label.padEnd(46)} ${value}`).join('\n');
}
