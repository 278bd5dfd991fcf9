import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadPipelineBytes } from '../../../engine/config/load-pipeline.ts';

const source = readFileSync(new URL('../../../pipeline.yaml', import.meta.url), 'utf8');

/** Replaces the `occurrence`-th (1-based) match of `from` and returns the text and the 1-based line it is on. */
function misspell(from: string, to: string, occurrence = 1): { text: string; line: number } {
  let index = -1;
  for (let i = 0; i < occurrence; i++) index = source.indexOf(from, index + 1);
  if (index < 0) throw new Error(`"${from}" not found`);
  return { text: source.slice(0, index) + to + source.slice(index + from.length), line: source.slice(0, index).split('\n').length };
}

const cases = [
  {
    what: 'a topic a phase publishes',
    from: 'publishes: nba-phase3-analytics-complete',
    to: 'publishes: nba-phase3-analytcs-complete',
    code: 'graph/unknown-topic',
    hint: 'did you mean "nba-phase3-analytics-complete"?',
  },
  {
    what: 'a topic a barrier listens on',
    from: 'listens: nba-phase2-raw-complete',
    to: 'listens: nba-phase2-raw-compelte',
    code: 'graph/unknown-topic',
    hint: 'did you mean "nba-phase2-raw-complete"?',
  },
  {
    what: 'the coordinator work topic',
    from: 'work_topic: nba-phase5-prediction-requests',
    to: 'work_topic: nba-phase5-prediction-request',
    code: 'graph/unknown-topic',
    hint: 'did you mean "nba-phase5-prediction-requests"?',
  },
  {
    what: 'a required processor in a mode',
    from: 'required: [player_game_summary,',
    to: 'required: [player_game_sumary,',
    code: 'graph/unknown-processor',
    hint: 'did you mean "player_game_summary"?',
  },
  {
    what: 'a processor in depends_on',
    from: '          - player_daily_cache\n          - upcoming',
    to: '          - player_daily_cash\n          - upcoming',
    code: 'graph/unknown-processor',
    hint: 'did you mean "player_daily_cache"?',
  },
  {
    what: 'a key of a barrier',
    from: '    listens: nba-phase4-processor-complete',
    to: '    listen: nba-phase4-processor-complete',
    code: 'schema/unknown-key',
    hint: 'did you mean "listens"? (it is required)',
  },
  {
    what: 'a key of the subscription defaults',
    from: 'ack_deadline_seconds: 600',
    to: 'ack_deadline_second: 600',
    code: 'schema/unknown-key',
    hint: 'did you mean "ack_deadline_seconds"?',
  },
  {
    what: 'a phase a barrier takes its members from',
    from: 'members: { phase: analytics }',
    to: 'members: { phase: analytic }',
    code: 'graph/unknown-phase',
    hint: 'did you mean "analytics"?',
  },
];

describe('a misspelling anywhere in pipeline.yaml', () => {
  it.each(cases)('in $what is reported at its line with a did-you-mean', ({ from, to, code, hint }) => {
    const { text, line } = misspell(from, to);
    const result = loadPipelineBytes('pipeline.yaml', new TextEncoder().encode(text));
    const found = result.diagnostics.find((d) => d.code === code);
    expect(found, JSON.stringify(result.diagnostics)).toBeDefined();
    expect(found?.line).toBe(line);
    expect(found?.hint).toBe(hint);
  });
});
