import { isCalendarHour } from '../config/key-rule.ts';
import type { ModeProfile, Modes } from '../config/resolved-pipeline.ts';
import { NoModeProfileError } from './errors.ts';

/** One formatter per time zone: building one costs far more than formatting with it (a barrier with modes formats every completion). */
const formatters = new Map<string, Intl.DateTimeFormat>();

/** Today's date (YYYY-MM-DD) in an IANA time zone, via Intl so no time-zone data package is needed. */
export function todayIn(timezone: string, now: number): string {
  let format = formatters.get(timezone);
  if (format === undefined) {
    // en-CA formats dates as YYYY-MM-DD.
    format = new Intl.DateTimeFormat('en-CA', { timeZone: timezone, year: 'numeric', month: '2-digit', day: '2-digit' });
    formatters.set(timezone, format);
  }
  return format.format(new Date(now));
}

/**
 * Picks the mode profile for a date key (an hour key by the date its UTC hour falls on in the modes' time
 * zone): compares it with the date of `now` in that zone (`before_today`, `today`, `after_today`). The barrier passes the completion's own time, so a
 * completion counts in the mode of when it happened, not when it was handled (issue 16 #1). Throws a
 * permanent error when no profile matches.
 */
export function selectProfile(modes: Modes, key: string, now: number): ModeProfile {
  const today = todayIn(modes.timezone, now);
  // An hour key is a UTC hour; its day is the one that hour falls on where the modes' "today" is counted.
  const date = isCalendarHour(key) ? todayIn(modes.timezone, Date.parse(`${key}:00:00Z`)) : key;
  const when = date < today ? 'before_today' : date === today ? 'today' : 'after_today';
  const profile = modes.profiles.find((p) => p.when === when);
  if (profile === undefined) {
    throw new NoModeProfileError(`key ${key} is ${when.replace('_', ' ')} (${today} in ${modes.timezone}), and no mode profile has when: ${when}`);
  }
  return profile;
}
