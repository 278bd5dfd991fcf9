import { readdir, readFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import type { LoadResult } from '../engine/config/load-pipeline.ts';
import { generateArchitecture } from './architecture.ts';
import { buildDeployModel } from './deploy-model.ts';
import { generateDeployScript } from './deploy-script.ts';
import { buildDiagramModel } from './diagram-model.ts';
import { generateDot } from './dot.ts';
import { generateMermaid } from './mermaid.ts';
import { generateProcessorDocs } from './processor-docs.ts';
import { referenceDocs } from './reference-docs.ts';
import { renderSvg } from './render-svg.ts';
import { terraformFiles } from './terraform.ts';

/**
 * Every generated file for a loaded pipeline: relative path under `generated/` → content.
 * Deterministic: the same pipeline gives byte-identical output (sorted paths, no timestamps).
 * Throws when the pipeline did not load; callers check `result.diagnostics` first.
 */
export async function generateAll(result: LoadResult): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  for await (const [path, content] of generateEach(result)) files.set(path, content);
  return files;
}

/**
 * The same files as `generateAll`, in the same order, each rendered only when asked for: a caller that
 * writes each file and lets it go holds one at a time (at 30,000 processors the files are ~180 MB).
 */
export async function* generateEach(result: LoadResult): AsyncGenerator<readonly [string, string]> {
  const { pipeline } = result;
  if (!pipeline) throw new Error(`${result.file} did not load; fix its diagnostics before generating`);
  const model = buildDeployModel(result);
  const diagram = buildDiagramModel(result);
  const mermaid = generateMermaid(diagram);
  const dot = generateDot(diagram);
  const renderers = new Map<string, () => string | Promise<string>>([
    ...terraformFiles(model),
    ['gcloud/deploy.sh', () => generateDeployScript(model)],
    ['diagram.mmd', () => mermaid],
    ['diagram.dot', () => dot],
    ['diagram.svg', () => renderSvg(dot)],
    ['ARCHITECTURE.md', () => generateArchitecture(model, pipeline, mermaid)],
    ...referenceDocs(model),
    ['docs/processors.md', () => generateProcessorDocs(model, pipeline)],
  ]);
  for (const path of [...renderers.keys()].sort()) {
    const render = renderers.get(path);
    if (render !== undefined) yield [path, await render()];
  }
}

/** How the files on disk differ from what `generateAll` produced. */
export interface Drift {
  /** Present on disk with different content. */
  readonly changed: readonly string[];
  /** Generated but not on disk. */
  readonly missing: readonly string[];
  /** On disk but no longer generated (a removed resource must not linger, #6). */
  readonly extra: readonly string[];
}

/**
 * Compares `outDir` with freshly generated `files` (a map, or `generateEach`); every list is sorted, and
 * all are empty when in step. A missing `outDir` counts as every file missing. `visit` sees each file
 * after it is compared, so a caller can write it before the next one is rendered.
 */
export async function checkDrift(
  outDir: string,
  files: Iterable<readonly [string, string]> | AsyncIterable<readonly [string, string]>,
  visit?: (path: string, content: string) => Promise<void>,
): Promise<Drift> {
  const onDisk = await listFiles(outDir);
  const changed: string[] = [];
  const missing: string[] = [];
  const generated = new Set<string>();
  for await (const [path, content] of files) {
    generated.add(path);
    if (!onDisk.has(path)) missing.push(path);
    else if ((await readFile(join(outDir, path), 'utf8')) !== content) changed.push(path);
    await visit?.(path, content);
  }
  const extra = [...onDisk].filter((path) => !generated.has(path));
  return { changed: changed.sort(), missing: missing.sort(), extra: extra.sort() };
}

async function listFiles(dir: string): Promise<Set<string>> {
  try {
    const entries = await readdir(dir, { recursive: true, withFileTypes: true });
    return new Set(entries.filter((e) => e.isFile()).map((e) => relative(dir, join(e.parentPath, e.name)).split(sep).join('/')));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return new Set();
    throw error;
  }
}
