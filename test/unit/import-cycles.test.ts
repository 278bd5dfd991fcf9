import { readdirSync, readFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const FOLDERS = ['engine', 'generators'];

/** Relative imports and re-exports of every source file, type-only ones included. */
function importGraph(): Map<string, string[]> {
  const files = FOLDERS.flatMap((folder) =>
    readdirSync(resolve(root, folder), { recursive: true })
      .map(String)
      .filter((f) => f.endsWith('.ts'))
      .map((f) => resolve(root, folder, f)),
  );
  const known = new Set(files);
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const text = readFileSync(file, 'utf8');
    const specifiers = [...text.matchAll(/\b(?:import|export)\b[^'"]*?\bfrom\s+'(\.[^']+)'|\bimport\(\s*'(\.[^']+)'\s*\)/g)].map((m) => m[1] ?? m[2] ?? '');
    graph.set(
      file,
      specifiers.map((s) => resolve(dirname(file), s)).filter((target) => known.has(target)),
    );
  }
  return graph;
}

/** Each cycle found by a depth-first walk, as relative paths from the first module back to it. */
function cyclesOf(graph: ReadonlyMap<string, readonly string[]>): string[] {
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const cycles: string[] = [];
  const visit = (file: string): void => {
    state.set(file, 'open');
    path.push(file);
    for (const next of graph.get(file) ?? []) {
      if (state.get(next) === 'open') cycles.push([...path.slice(path.indexOf(next)), next].map((f) => relative(root, f)).join(' → '));
      else if (!state.has(next)) visit(next);
    }
    path.pop();
    state.set(file, 'done');
  };
  for (const file of graph.keys()) if (!state.has(file)) visit(file);
  return cycles;
}

describe('module imports', () => {
  // import-x/no-cycle skips type-only imports, which let generators/alerts.ts and deploy-model-types.ts import each other.
  it('never lead a module of engine/ or generators/ back to itself, type-only imports included', () => {
    const graph = importGraph();
    expect(graph.get(resolve(root, 'generators/deploy-model.ts'))).toContain(resolve(root, 'generators/alerts.ts'));
    expect(cyclesOf(graph)).toEqual([]);
  });

  it('finds a cycle made only of type imports', () => {
    const a = resolve(root, 'a.ts');
    const b = resolve(root, 'b.ts');
    expect(
      cyclesOf(
        new Map([
          [a, [b]],
          [b, [a]],
        ]),
      ),
    ).toEqual(['a.ts → b.ts → a.ts']);
  });
});
