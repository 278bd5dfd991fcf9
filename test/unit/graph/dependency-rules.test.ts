import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadPipelineBytes } from '../../../engine/config/load-pipeline.ts';

const nba = readFileSync(new URL('../../../pipeline.yaml', import.meta.url), 'utf8');
const minimal = readFileSync(new URL('../../fixtures/valid/minimal.yaml', import.meta.url), 'utf8');

function edit(text: string, from: string, to: string): string {
  expect(text.split(from)).toHaveLength(2);
  return text.replace(from, to);
}

function diagnosticsOf(text: string): { code: string; severity: string; message: string; hint?: string }[] {
  return loadPipelineBytes('pipeline.yaml', Buffer.from(text)).diagnostics.map(({ code, severity, message, hint }) => ({
    code,
    severity,
    message,
    ...(hint === undefined ? {} : { hint }),
  }));
}

/** A precompute processor depending on a raw processor, two phases up. */
const twoHops = (text: string): string =>
  edit(
    text,
    '    processors:\n      - team_defense_zone_analysis\n',
    '    processors:\n      - name: team_defense_zone_analysis\n        depends_on: [bdl_injuries]\n',
  );

/** A third phase fed by ingest that nothing downstream of it leads to stage. */
const sideBranch = (text: string): string =>
  edit(
    edit(text, '  done:\n', '  side-complete:\n    description: A side processor finished.\n    external_consumers: auditing\n  done:\n'),
    'barriers:\n',
    '  side:\n    triggered_by: ingest-complete\n    publishes: side-complete\n    processors: [audit]\nbarriers:\n',
  );

describe('depends_on across phases', () => {
  it('accepts a dependency two phases up when every barrier on the way requires it', () => {
    expect(diagnosticsOf(twoHops(nba))).toEqual([]);
  });

  it('warns about a dependency two phases up that the first barrier may fire without, and names that barrier in the hint', () => {
    const text = twoHops(edit(nba, '    members: { phase: raw }\n    threshold: all\n', '    members: { phase: raw }\n    threshold: { count: 20 }\n'));
    const [finding, ...rest] = diagnosticsOf(text);
    expect(rest).toEqual([]);
    expect(finding).toMatchObject({ code: 'graph/dependency-not-guaranteed', severity: 'warning' });
    expect(finding?.hint).toBe('require it: add "bdl_injuries" to barriers.phase2-to-phase3.threshold.required');
    expect(diagnosticsOf(edit(text, 'threshold: { count: 20 }', 'threshold: { count: 20, required: [bdl_injuries] }'))).toEqual([]);
  });

  it('rejects a dependency on a phase that neither precedes nor follows, and removing it as hinted leaves a valid file', () => {
    const text = sideBranch(edit(minimal, '        depends_on: [build_x]\n', '        depends_on: [build_x, audit]\n'));
    expect(diagnosticsOf(text)).toEqual([
      {
        code: 'graph/dependency-not-upstream',
        severity: 'error',
        message: '"build_y" depends on "audit", but phase "side" does not run before phase "stage", so nothing makes "build_y" wait for it',
        hint: 'remove "audit" from the depends_on of "build_y" (a processor can wait only for its own phase or an upstream one)',
      },
    ]);
    expect(diagnosticsOf(sideBranch(minimal))).toEqual([]);
  });

  it('names each mode field to add a dependency to, and adding it there leaves a valid file', () => {
    const text = edit(
      nba,
      '          - upcoming_player_game_context\n      - name: ml_feature_store',
      '          - player_game_summary\n      - name: ml_feature_store',
    );
    const [finding, ...rest] = diagnosticsOf(text);
    expect(rest).toEqual([]);
    expect(finding?.message).toBe(
      '"player_composite_factors" depends on "player_game_summary" (phase "analytics"), but barrier "phase3-to-phase4" can fire without it',
    );
    expect(finding?.hint).toBe(
      'require it: add "player_game_summary" to barriers.phase3-to-phase4.modes.profiles.same_day.expect, barriers.phase3-to-phase4.modes.profiles.tomorrow.expect',
    );
    const followed = text.replaceAll('expect: [upcoming_player_game_context]', 'expect: [upcoming_player_game_context, player_game_summary]');
    expect(diagnosticsOf(followed)).toEqual([]);
  });
  it('warns when the barrier on the way may fire without the dependency: a deadline tier under "all", or a tier that ignores required members', () => {
    const withTier = (threshold: string, tier: string): string =>
      twoHops(
        edit(
          nba,
          '    members: { phase: raw }\n    threshold: all\n',
          `    members: { phase: raw }\n    threshold: ${threshold}\n    deadlines:\n      - ${tier}\n`,
        ),
      );
    const codes = (text: string): string[] => diagnosticsOf(text).map((d) => d.code);
    expect(codes(withTier('all', '{ after: 2h, min_members: 20 }'))).toEqual(['graph/dependency-not-guaranteed']);
    expect(codes(withTier('{ count: 20, required: [bdl_injuries] }', '{ after: 2h, min_members: 20 }'))).toEqual([]);
    expect(codes(withTier('{ count: 20, required: [bdl_injuries] }', '{ after: 2h, min_members: 20, ignore_required: true }'))).toEqual([
      'graph/dependency-not-guaranteed',
    ]);
  });
});
