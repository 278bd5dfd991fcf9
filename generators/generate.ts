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
import { generateReferenceDocs } from './reference-docs.ts';
import { renderSvg } from './render-svg.ts';
import { generateTerraform } from './terraform.ts';

/**
 * Every generated file for a loaded pipeline: relative path under `generated/` → content.
 * Deterministic: the same pipeline gives byte-identical output (sorted paths, no timestamps).
 * Throws when the pipeline did not load; callers check `result.diagnostics` first.
 */
export async function generateAll(result: LoadResult): Promise<Map<string, string>> {
  const { pipeline } = result;
  if (!pipeline) throw new Error(`${result.file} did not load; fix its diagnostics before generating`);
  const model = buildDeployModel(result);
  const diagram = buildDiagramModel(result);
  const mermaid = generateMermaid(diagram);
  const dot = generateDot(diagram);
  const files = new Map<string, string>([
    ...generateTerraform(model),
    ['gcloud/deploy.sh', generateDeployScript(model)],
    ['diagram.mmd', mermaid],
    ['diagram.dot', dot],
    ['diagram.svg', await renderSvg(dot)],
    ['ARCHITECTURE.md', generateArchitecture(model, pipeline, mermaid)],
    ...generateReferenceDocs(model),
    ['docs/processors.md', await generateProcessorDocs(model, pipeline)],
  ]);
  return new Map([...files].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
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
 * Compares `outDir` with freshly generated `files`; every list is sorted, and all are empty when in step.
 * A missing `outDir` counts as every file missing.
 */
export async function checkDrift(outDir: string, files: ReadonlyMap<string, string>): Promise<Drift> {
  const onDisk = await listFiles(outDir);
  const changed: string[] = [];
  const missing: string[] = [];
  for (const [path, content] of files) {
    if (!onDisk.has(path)) missing.push(path);
    else if ((await readFile(join(outDir, path), 'utf8')) !== content) changed.push(path);
  }
  const extra = [...onDisk].filter((path) => !files.has(path));
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
