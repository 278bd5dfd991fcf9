// Child process for sqlite-kill.test.ts: drains the barrier's subscription over a SQLite file. After its
// `pauseAt`-th recorded completion (its transaction committed — the record, and the key's trigger when it
// decided one — but the trigger not yet published and the delivery still leased) it says
// `paused <acked>` and blocks there, so the parent's SIGKILL always lands mid-message, however loaded the machine.
import { openSqliteDatabase } from '../../../engine/adapters/sqlite/open-sqlite-database.ts';
import { SqliteMessageBus } from '../../../engine/adapters/sqlite/sqlite-message-bus.ts';
import { SqliteStateStore } from '../../../engine/adapters/sqlite/sqlite-state-store.ts';
import type { CompletionResult, KeySnapshot, MemberRecord, TriggerRule } from '../../../engine/ports/state-store.ts';
import { CompletionBarrier } from '../../../engine/runtime/completion-barrier.ts';
import { Subscriber } from '../../../engine/runtime/subscriber.ts';
import { SystemClock } from '../../../engine/runtime/system-clock.ts';
import { barrierOf, memberNames, pipelineOf } from '../../contract/fixtures.ts';

const file = process.argv[2] ?? '';
const pauseAt = Number(process.argv[3]);
let handled = 0;
let recorded = 0;

/** Blocks the process for good after the `pauseAt`-th record: the parent kills it there. */
class PausingStore extends SqliteStateStore {
  override async recordCompletion(snapshot: KeySnapshot, record: MemberRecord, rule: TriggerRule): Promise<CompletionResult> {
    const created = await super.recordCompletion(snapshot, record, rule);
    if (++recorded === pauseAt) {
      // Writes to a pipe are synchronous on Linux and macOS, so the parent sees this before the block.
      process.stdout.write(`paused ${handled}\n`);
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
    }
    return created;
  }
}

const clock = new SystemClock();
const db = openSqliteDatabase(file);
const bus = new SqliteMessageBus(db, clock);
const store = new PausingStore(db, clock);
const members = memberNames(3);
const barrier = new CompletionBarrier({ barrier: barrierOf(members), pipeline: pipelineOf(members), store, bus, clock });
const subscriber = new Subscriber(bus, 'gate--work-done', (message) => barrier.handle(message));
for (;;) {
  const result = await subscriber.pump(5);
  handled += result.acked;
  if (result.acked + result.nacked + result.deadLettered === 0) break;
}
process.stdout.write(`finished ${handled}\n`);
