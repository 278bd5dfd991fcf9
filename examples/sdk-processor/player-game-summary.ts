// A processor written with the Baton SDK: player_game_summary of pipeline.yaml, served with node:http.
// Run it: npx tsx examples/sdk-processor/player-game-summary.ts (see README.md beside this file).
import { createServer } from 'node:http';
import { fileURLToPath } from 'node:url';
import { createProcessor, PermanentError, type CreateProcessorOptions, type Processor } from 'baton/processor';

const PIPELINE = fileURLToPath(new URL('../../pipeline.yaml', import.meta.url));

/** Stands in for your warehouse: every player with a game on the date. */
async function playersOn(gameDate: string): Promise<number[]> {
  return Promise.resolve(Array.from({ length: 12 }, (_, i) => Number(gameDate.slice(8)) * 100 + i));
}

/** Stands in for your write; resolve only once the rows are durable (the completion is published after). */
async function writeSummaries(gameDate: string, players: readonly (string | number)[]): Promise<number> {
  return Promise.resolve(players.length);
}

/** The processor; `options` lets a test inject a publisher, clock or logger. */
export function playerGameSummary(options: Partial<CreateProcessorOptions> = {}): Processor {
  return createProcessor({
    pipeline: PIPELINE,
    name: 'player_game_summary',
    topic: 'nba-phase3-analytics-complete', // optional: checked against pipeline.yaml at start-up
    async handle(ctx) {
      if (ctx.key < '2000-01-01') throw new PermanentError(`no box scores before 2000 (${ctx.key})`);
      const players = ctx.entities.incremental ? (ctx.entities.changed.players ?? []) : await playersOn(ctx.key);
      ctx.logger.info(`summarising ${players.length} players`, { incremental: ctx.entities.incremental });
      const written = await writeSummaries(ctx.key, players);
      return { status: written === 0 ? 'no_data' : 'success', recordCount: written, entitiesChanged: { players }, isIncremental: ctx.entities.incremental };
    },
    ...options,
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const processor = playerGameSummary();
  const port = Number(process.env.PORT ?? 8080);
  createServer((req, res) => void processor.listener(req, res)).listen(port, () => {
    process.stdout.write(`${JSON.stringify({ severity: 'INFO', message: `player_game_summary listening on :${port}` })}\n`);
  });
}
