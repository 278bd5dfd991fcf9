import { distance } from 'fastest-levenshtein';

/** Folds case and `-`/`_` so that `nbac_team_boxscore` and `NBAC-Team-Boxscore` compare equal. */
export function normalizeName(name: string): string {
  return name.toLowerCase().replace(/[-_]/g, '');
}

/**
 * The closest candidate to `value` by edit distance, if it is close enough to be a likely typo:
 * equal after folding case and separators, or within a third of the length (at least 2 edits).
 */
export function closestMatch(value: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestScore = Infinity;
  const folded = normalizeName(value);
  for (const candidate of candidates) {
    if (candidate === value) continue;
    const score = normalizeName(candidate) === folded ? 0 : distance(value.toLowerCase(), candidate.toLowerCase());
    if (score < bestScore || (score === bestScore && best !== undefined && candidate < best)) {
      best = candidate;
      bestScore = score;
    }
  }
  const limit = Math.max(2, Math.floor(value.length / 3));
  return bestScore <= limit ? best : undefined;
}

/** `did you mean "x"?` for the closest candidate, or a list of what is allowed when nothing is close. */
export function suggestHint(value: string, candidates: readonly string[], noun = 'one of'): string | undefined {
  const match = closestMatch(value, candidates);
  if (match !== undefined) return `did you mean "${match}"?`;
  if (candidates.length === 0) return undefined;
  const sorted = [...candidates].sort();
  const shown = sorted
    .slice(0, 8)
    .map((c) => `"${c}"`)
    .join(', ');
  return `${noun}: ${shown}${sorted.length > 8 ? `, … (${sorted.length} in all)` : ''}`;
}
