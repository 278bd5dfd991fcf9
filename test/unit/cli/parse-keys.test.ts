import { describe, expect, it } from 'vitest';
import { MAX_KEY_LENGTH } from '../../../engine/config/conventions.ts';
import { parseKeys } from '../../../engine/cli/parse-keys.ts';

describe('parseKeys key length (#16.4: a key too long for the ids derived from it wedged every tick)', () => {
  it.each([
    { name: 'a key at the bound', key: 'k'.repeat(MAX_KEY_LENGTH), ok: true },
    { name: 'a key one character over the bound', key: 'k'.repeat(MAX_KEY_LENGTH + 1), ok: false },
    { name: 'a key of 200 characters (the old bound)', key: 'k'.repeat(200), ok: false },
    { name: 'a key of multi-byte characters at the bound', key: 'é'.repeat(MAX_KEY_LENGTH), ok: true },
  ])('$name: accepted = $ok', ({ key, ok }) => {
    const parsed = parseKeys([key], undefined, 'string');
    expect(parsed.ok).toBe(ok);
    if (!parsed.ok) expect(parsed.error).toContain(`longer than ${MAX_KEY_LENGTH} characters`);
  });
});
