/**
 * Deterministic randomness for the simulator: every draw is seeded by what it is about (seed,
 * processor, key, trigger), not by call order, so a resumed or re-ordered run makes the same choices.
 */
export function seededRandom(...parts: readonly (string | number)[]): () => number {
  let state = hashOf(parts.join('\u0000'));
  return () => {
    // mulberry32
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** FNV-1a, 32 bits. */
export function hashOf(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** A short stable hex id for `parts`, e.g. an execution or correlation id. */
export function stableId(...parts: readonly (string | number)[]): string {
  const next = seededRandom(...parts);
  let out = '';
  for (let i = 0; i < 4; i++)
    out += Math.floor(next() * 0x10000)
      .toString(16)
      .padStart(4, '0');
  return out;
}

/** `count` distinct integers from 1..n, chosen by `next`. */
export function sample(n: number, count: number, next: () => number): number[] {
  const chosen = new Set<number>();
  const wanted = Math.min(n, Math.max(0, count));
  while (chosen.size < wanted) chosen.add(1 + Math.floor(next() * n));
  return [...chosen].sort((a, b) => a - b);
}
