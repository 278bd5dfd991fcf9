// npm run chaos [-- --seed N --keys N --kills N --process-kills N --emulator-keys N]: the NBA graph and the retail
// fixture on SQLite under faults, kills and resumes; then, where the emulator jars exist, both on Pub/Sub + Firestore (fewer keys).
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { findEmulatorJars, startEmulators } from '../engine/adapters/gcp/emulators.ts';
import { runChaos, type ChaosFigures, type ChaosOptions } from '../test/chaos/run-chaos.ts';

const USAGE =
  'usage: npm run chaos -- [--seed <integer>] [--keys <1 or more>] [--kills <0 or more>] [--process-kills <0 or more>] [--emulator-keys <0 or more; 0 skips the emulators>]\n';
let parsed;
try {
  parsed = parseArgs({
    options: {
      seed: { type: 'string', default: '20261129' },
      keys: { type: 'string', default: '30' },
      kills: { type: 'string', default: '5' },
      // Few: on the emulators every step is a network round trip, and leases are wall-clock time (each kill costs a 10 s lease).
      'emulator-keys': { type: 'string', default: '2' },
      'process-kills': { type: 'string', default: '3' },
      help: { type: 'boolean', short: 'h' },
    },
  });
} catch (error) {
  process.stderr.write(`chaos: ${error instanceof Error ? error.message : String(error)}\n${USAGE}`);
  process.exit(2);
}
const { values } = parsed;
if (values.help === true) {
  process.stdout.write(
    `${USAGE}The NBA graph and the retail fixture on SQLite under duplicates, faults, silent members, poison, in-process kills and\n` +
      'SIGKILLed sessions, each checked against the reference model; then, where the emulator jars exist, both on Pub/Sub + Firestore.\n' +
      'Exit 1 when an invariant broke.\n',
  );
  process.exit(0);
}
const seed = Number(values.seed);
const keyCount = Number(values.keys);
const kills = Number(values.kills);
const processKills = Number(values['process-kills']);
const emulatorKeys = Number(values['emulator-keys']);
if (![seed, keyCount, kills, processKills, emulatorKeys].every(Number.isInteger) || keyCount < 1 || kills < 0 || processKills < 0 || emulatorKeys < 0) {
  process.stderr.write(USAGE);
  process.exit(2);
}
const keys = Array.from({ length: keyCount }, (_, i) => new Date(Date.UTC(2025, 10, 1) + i * 86_400_000).toISOString().slice(0, 10));
const dir = mkdtempSync(join(tmpdir(), 'baton-chaos-'));
const root = join(import.meta.dirname, '..');
let failed = false;
process.stdout.write(
  `chaos: seed ${seed}, ${keyCount} keys per pipeline, ${kills} in-process kills then up to ${processKills} SIGKILLed processes on SQLite, on ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${new Date().toISOString()}\n\n`,
);
const files = ['pipeline.yaml', 'test/fixtures/valid/retail-close.yaml'];
try {
  for (const file of files)
    report(`${file} on SQLite`, await runChaos({ pipelineFile: join(root, file), keys, seed, dbFile: join(dir, 'chaos.db'), kills, processKills }));
  const jars = findEmulatorJars();
  if (emulatorKeys === 0) process.stdout.write('emulators: skipped (--emulator-keys 0)\n');
  else if (!jars.found) process.stdout.write(`emulators: skipped, ${jars.reason}\n`);
  else {
    const emulators = await startEmulators({ projectId: 'baton-chaos' });
    try {
      // Every step there is a network round trip and a lease is 10 s of wall time, so few keys and small
      // batches: the retail fixture for --emulator-keys keys, the whole NBA graph for one key.
      const runs: { file: string; project: string; keys: string[]; entities: Record<string, number> }[] = [
        { file: 'test/fixtures/valid/retail-close.yaml', project: 'baton-chaos-retail', keys: keys.slice(0, emulatorKeys), entities: { stores: 5 } },
        { file: 'pipeline.yaml', project: 'baton-chaos-nba', keys: keys.slice(0, 1), entities: { players: 10 } },
      ];
      for (const run of runs) {
        const gcp: ChaosOptions['gcp'] = { projectId: run.project, pubsubHost: emulators.pubsubHost, firestoreHost: emulators.firestoreHost };
        report(
          `${run.file} on the Pub/Sub + Firestore emulators (${Math.min(kills, 2)} in-process kills)`,
          await runChaos({ pipelineFile: join(root, run.file), keys: run.keys, seed, dbFile: '', gcp, kills: Math.min(kills, 2), entities: run.entities }),
        );
      }
    } finally {
      await emulators.stop();
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);

function report(title: string, result: Awaited<ReturnType<typeof runChaos>>): void {
  process.stdout.write(`${title}\n${formatFigures(result.figures)}\n`);
  const crashes = new Map<string, number>();
  for (const reason of result.crashReasons) crashes.set(reason, (crashes.get(reason) ?? 0) + 1);
  for (const [reason, n] of crashes) process.stdout.write(`  crashed ${n}× on "${reason}" (a simulated processor's second publish is unguarded), resumed\n`);
  for (const violation of result.violations) process.stdout.write(`  VIOLATION ${violation}\n`);
  process.stdout.write(result.violations.length === 0 ? '  every check held\n\n' : `  ${result.violations.length} violations\n\n`);
  failed ||= result.violations.length > 0;
}

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
