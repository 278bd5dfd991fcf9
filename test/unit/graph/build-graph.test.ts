import { describe, expect, it } from 'vitest';
import { loadPipeline } from '../../../engine/config/load-pipeline.ts';
import { nodeKey } from '../../../engine/graph/pipeline-graph.ts';
import { publishersOf, subscribersOf } from '../../../engine/graph/queries.ts';

const result = loadPipeline(new URL('../../../pipeline.yaml', import.meta.url).pathname);
const pg = result.graph!;
const { graph } = pg;

describe('the NBA pipeline graph', () => {
  it('loads without diagnostics', () => {
    expect(result.diagnostics).toEqual([]);
  });

  it('has 33 processors in 5 phases and 10 topics, each with a dead-letter topic node', () => {
    const kinds = graph.nodes().map((n) => graph.getNodeAttribute(n, 'kind'));
    expect(kinds.filter((k) => k === 'processor')).toHaveLength(33);
    expect(kinds.filter((k) => k === 'phase')).toHaveLength(5);
    expect(kinds.filter((k) => k === 'topic')).toHaveLength(10);
    expect(kinds.filter((k) => k === 'dead-letter-topic')).toHaveLength(10);
  });

  it('subscribes all 21 raw processors to the scrapers topic and the phase-2 barrier to their completions', () => {
    expect(subscribersOf(pg, 'nba-phase1-scrapers-complete')).toHaveLength(21);
    expect(subscribersOf(pg, 'nba-phase2-raw-complete')).toEqual(['phase2-to-phase3']);
    expect(publishersOf(pg, 'nba-phase2-raw-complete')).toHaveLength(21);
  });

  it('addresses dependency triggers to one processor with a subscription filter', () => {
    const pcf = graph.getNodeAttributes(nodeKey('subscription', 'player_composite_factors--nba-phase4-trigger'));
    expect(pcf.filter).toBe('attributes.baton_target = "player_composite_factors"');
    const tdza = graph.getNodeAttributes(nodeKey('subscription', 'team_defense_zone_analysis--nba-phase4-trigger'));
    expect(tdza.filter).toBe('NOT attributes:baton_target');
  });

  it('lets work flow from a dependency barrier only to its target processor', () => {
    const barrier = nodeKey('barrier', 'player_composite_factors-dependencies');
    const targets = graph.filterOutEdges(barrier, (_e, a) => a.kind === 'flows').map((e) => graph.target(e));
    expect(targets).toEqual([nodeKey('processor', 'player_composite_factors')]);
    const sources = graph.filterInEdges(barrier, (_e, a) => a.kind === 'flows').map((e) => graph.getNodeAttribute(graph.source(e), 'name'));
    expect(sources.sort()).toEqual(['player_daily_cache', 'player_shot_zone_analysis', 'team_defense_zone_analysis']);
  });

  it('treats the coordinator fan-in as a return edge, not a flow', () => {
    const worker = nodeKey('processor', 'prediction_worker');
    const kinds = graph
      .filterOutEdges(worker, (_e, _a, _s, target) => target === nodeKey('coordinator', 'prediction-coordinator'))
      .map((e) => graph.getEdgeAttribute(e, 'kind'));
    expect(kinds).toEqual(['returns']);
  });
});
