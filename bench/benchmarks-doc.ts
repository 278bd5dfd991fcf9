// Data flow: BenchResult → docs/benchmarks.md (the published figures; rewritten by every full `npm run bench`).
import { markdownTable, type BenchResult } from './bench-result.ts';

/** docs/benchmarks.md for one bench run: where it ran, the table, and how to read it. */
export function benchmarksMarkdown(result: BenchResult): string {
  const { machine } = result;
  return `# Benchmarks

<!-- Written by \`npm run bench\` (bench/bench.ts) from its last full run; edit bench/benchmarks-doc.ts, not this file. -->

The performance targets of issue 11, each measured beside its baseline **in the same run**, so a slow
or loaded machine slows both sides alike and the ratio still means something. The raw numbers are in
[bench/results/latest.json](../bench/results/latest.json), committed with this file.

- **Date:** ${result.date}${result.smoke ? ' (smoke run: tiny sizes, figures mean nothing)' : ''}
- **Machine:** ${machine.cpus} × ${machine.cpuModel}, ${machine.memoryGb} GB, ${machine.os} (shared with other work while it ran)
- **Node:** ${result.node}
- **Bench time:** ${result.durationSeconds} s

${markdownTable(result)}

## How to read it

Each row is one target. **Baton** is Baton's figure, **baseline** what it is compared with, **ratio**
the comparison the target is about, and the first column ✓ (target met) or ✗ (missed); a row without
a mark has no target and is there to explain another. Timed figures of repeated runs read
\`median (min–max)\`. Missed targets are the work left, not a failure of the bench: \`npm run bench\`
exits 1 only when a measure could not run or Baton fired other than exactly one trigger.

## The baselines

- **Seed design** — the NBA platform's hand-written phase-2 orchestrator (\`reference/nba-pipeline.md\`),
  in \`bench/seed-design.ts\`: one Firestore document per key, one transaction per completion (read,
  add the processor's field, recount, set \`_triggered\`, \`set()\` the document; the SDK's 5 attempts),
  publish after. It runs on the same Firestore emulator, interleaved with the other two designs.
- **Lock-free floor** — the least a correct fan-in can do on Firestore: each completion \`create()\`s
  its own member document, counts the key's members with one aggregation query, and at the threshold
  \`create()\`s the trigger document (must not exist); the one create that succeeds publishes. No
  transaction. Baton's side is its real \`CompletionBarrier\` over \`FirestoreStateStore\` and
  \`PubSubMessageBus\`, for a synthetic one-barrier pipeline (\`bench/synthetic-pipeline.ts\`).
  Every design gets one key's completions plus 20 % redeliveries, all in flight at once from four
  clients (four function instances), on a fresh emulator project per run, after one uncounted warm-up
  run of each design at 5 members: nine runs of Baton and the floor at 21 members (three of the seed
  design), three at 100 and two at 500, except the seed design, which never fires at 100 and 500 and
  takes long to give up, so runs once there and is stopped after 60 s. The ratio is the median of each
  repetition's Baton ÷ floor (the two run back to back).
- **Writes to the trigger document** are counted on the Firestore client, at the SDK's funnel for
  write requests (\`Firestore#request\`, \`commit\`): *requests* counts every commit naming the
  document (each attempt of a retried transaction, each refused create); *applied* counts those the
  server accepted. The seed's trigger document is its one document per key; Baton's and the floor's
  the document in their triggers collection.
- **Raw SQLite** — one \`INSERT\` per transaction on a file opened exactly as the embedded backend
  opens its database (WAL, \`synchronous = NORMAL\`), in the same process, interleaved with Baton's
  barrier on \`SqliteStateStore\` + \`SqliteMessageBus\` over as many completions (~21,000, five
  repetitions); the ratio is the median of each repetition's ratio, its two sides run back to back.
- **baton run** — the CLI on the NBA \`pipeline.yaml\` with every key open at once; *run loop* is the
  \`wallMs\` it reports (\`--json\`), per message divides it by the messages the run published (read
  back through the database's message history). The baseline is the same run with one key. Five runs of
  each, alternated; the rows give the median run.
- **generate / validate** — the CLI on a synthetic five-phase pipeline (barriers between phases) of
  3,000 and 30,000 processors, whole process; peak RSS as the child reports it on exit
  (\`process.resourceUsage().maxRSS\`, preloaded). Growth is the 30,000 time over the 3,000 time. A
  command still running after 300 s is stopped and its row reads \`> 300.00 s (stopped)\`. The previous release is never a baseline.

Run \`npm run bench\` (minutes: its own time is in the list above; the emulator part skips, loudly, without the Google Cloud CLI's
emulator jars and java), \`npm run bench -- --only fan-in\` for one measure, \`npm run bench -- --smoke\`
for the seconds-long check CI runs.
`;
}
