import { fileURLToPath } from 'node:url';
import { loadPipeline, type LoadResult } from '../../../engine/config/load-pipeline.ts';
import { generateAll } from '../../../generators/generate.ts';

/** Absolute path of a file under test/fixtures/generate/. */
export function fixturePath(relative: string): string {
  return fileURLToPath(new URL(`../../fixtures/generate/${relative}`, import.meta.url));
}

/** The repository's own pipeline.yaml (the full NBA graph). */
export const NBA_PIPELINE = fileURLToPath(new URL('../../../pipeline.yaml', import.meta.url));

const cache = new Map<string, Promise<{ result: LoadResult; files: Map<string, string> }>>();

/** Loads a pipeline and generates every output once per test run (generation loads Graphviz, ~1 s). */
export function generated(file: string): Promise<{ result: LoadResult; files: Map<string, string> }> {
  let entry = cache.get(file);
  if (entry === undefined) {
    entry = (async () => {
      const result = loadPipeline(file);
      const errors = result.diagnostics.filter((d) => d.severity === 'error');
      if (errors.length > 0) throw new Error(`${file} is invalid: ${errors.map((d) => d.message).join('; ')}`);
      return { result, files: await generateAll(result) };
    })();
    cache.set(file, entry);
  }
  return entry;
}

/** The content of one generated file; fails loudly when it was not generated. */
export function fileOf(files: ReadonlyMap<string, string>, path: string): string {
  const content = files.get(path);
  if (content === undefined) throw new Error(`${path} was not generated; got ${[...files.keys()].join(', ')}`);
  return content;
}
