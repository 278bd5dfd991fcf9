import { createHash } from 'node:crypto';

/**
 * A valid service-account id (6–30 characters, `[a-z][a-z0-9-]*[a-z0-9]`) for a component name:
 * the kebab-cased name when it fits, otherwise a prefix plus a short hash so ids stay unique and stable.
 */
export function serviceAccountId(name: string): string {
  const kebab = name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^[^a-z]+/, '')
    .replace(/-+$/, '');
  if (kebab.length >= 6 && kebab.length <= 30) return kebab;
  const hash = createHash('sha256').update(name).digest('hex').slice(0, 6);
  const prefix = (kebab || 'baton').slice(0, 23).replace(/-+$/, '');
  return `${prefix}-${hash}`;
}
