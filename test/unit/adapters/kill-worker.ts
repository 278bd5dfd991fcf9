// Child process for sqlite-kill.test.ts: drains the barrier's subscription over a SQLite file until killed or done.
import { openSqliteDatabase } from '../../../engine/adapters/sqlite/open-sqlite-database.ts';
import { SqliteMessageBus } from '../../../engine/adapters/sqlite/sqlite-message-bus.ts';
import { SqliteStateStore } from '../../../engine/adapters/sqlite/sqlite-state-store.ts';
import { CompletionBarrier } from '../../../engine/runtime/completion-barrier.ts';
import { Subscriber } from '../../../engine/runtime/subscriber.ts';
import { SystemClock } from '../../../engine/runtime/system-clock.ts';
import { barrierOf, memberNames, pipelineOf } from '../../contract/fixtures.ts';

const file = process.argv[2] ?? '';
const clock = new SystemClock();
const db = openSqliteDatabase(file);
const bus = new SqliteMessageBus(db, clock);
const store = new SqliteStateStore(db);
const members = memberNames(3);
const barrier = new CompletionBarrier({ barrier: barrierOf(members), pipeline: pipelineOf(members), store, bus, clock });
const subscriber = new Subscriber(bus, 'gate--work-done', (message) => barrier.handle(message));
let handled = 0;
for (;;) {
  const result = await subscriber.pump(5);
  handled += result.acked;
  process.stdout.write(`${handled}\n`);
  if (result.acked + result.nacked + result.deadLettered === 0) break;
}
