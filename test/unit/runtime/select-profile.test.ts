import { describe, expect, it } from 'vitest';
import type { Modes } from '../../../engine/config/resolved-pipeline.ts';
import { NoModeProfileError } from '../../../engine/runtime/errors.ts';
import { selectProfile, todayIn } from '../../../engine/runtime/select-profile.ts';
import { thresholdOf } from '../../contract/fixtures.ts';

const modes = (whens: ('before_today' | 'today' | 'after_today')[]): Modes => ({
  select: 'key_date_vs_today',
  timezone: 'America/New_York',
  path: [],
  profiles: whens.map((when) => ({ name: when, when, expect: undefined, threshold: thresholdOf('all'), path: [] })),
});

// 03:00 UTC on Nov 30 is still Nov 29 in New York.
const NOW = Date.parse('2025-11-30T03:00:00Z');

describe('selectProfile', () => {
  it("computes today in the modes' time zone, not UTC", () => {
    expect(todayIn('America/New_York', NOW)).toBe('2025-11-29');
    expect(todayIn('UTC', NOW)).toBe('2025-11-30');
  });

  it.each([
    ['2025-11-28', 'before_today'],
    ['2025-11-29', 'today'],
    ['2025-11-30', 'after_today'],
  ])('picks the profile for key %s: %s', (key, name) => {
    expect(selectProfile(modes(['before_today', 'today', 'after_today']), key, NOW).name).toBe(name);
  });

  it("places an hour key (a UTC hour) on the day it falls on in the modes' time zone (issue 10)", () => {
    const all = modes(['before_today', 'today', 'after_today']);
    // New York is UTC−5 in November: 04:00 UTC is 23:00 the day before there.
    expect(['2025-11-29T04', '2025-11-29T05', '2025-11-30T04', '2025-11-30T05'].map((key) => selectProfile(all, key, NOW).name)).toEqual([
      'before_today',
      'today',
      'today',
      'after_today',
    ]);
  });

  it('throws a permanent error naming the gap when no profile matches', () => {
    expect(() => selectProfile(modes(['before_today']), '2025-11-29', NOW)).toThrow(NoModeProfileError);
    expect(() => selectProfile(modes(['before_today']), '2025-11-29', NOW)).toThrow(/no mode profile has when: today/);
  });
});
