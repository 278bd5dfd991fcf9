import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let root: string | undefined;

/** The Baton package folder (where package.json, schemas/ and pipeline.yaml live), from source or bundle alike. */
export function packageRoot(): string {
  if (root !== undefined) return root;
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json')) || !existsSync(join(dir, 'schemas'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('cannot find the Baton package root (package.json beside schemas/)');
    dir = parent;
  }
  root = dir;
  return dir;
}
