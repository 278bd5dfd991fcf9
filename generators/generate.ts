import { open as openFile, readdir, type FileHandle } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import type { LoadResult } from '../engine/config/load-pipeline.ts';
import { generateArchitecture } from './architecture.ts';
import type { ResolvedPipeline } from '../engine/config/resolved-pipeline.ts';
import { deployModelOf, deploySourceOf, type DeployModel, type DeploySource } from './deploy-model.ts';
import { generateDeployScript } from './deploy-script.ts';
import { buildDiagramModel, type DiagramModel } from './diagram-model.ts';
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
  for await (const [path, chunks] of generateEach(generateSourceOf(result))) {
    let content = '';
    for (const chunk of chunks) content += chunk;
    files.set(path, content);
  }
  return files;
}

/**
 * What the generators read from a loaded pipeline, without its graph: the diagram and what the deploy
 * model asks of the graph are taken from it here, so a caller that keeps this and not the `LoadResult`
 * lets the graph (~70 MB at 30,000 processors) go before the deploy model (~40 MB) is built.
 */
export interface GenerateSource {
  readonly deploy: DeploySource;
  readonly diagram: DiagramModel;
}

/** The generators' source of a loaded pipeline; throws when the pipeline did not load. */
export function generateSourceOf(result: LoadResult): GenerateSource {
  return { deploy: deploySourceOf(result), diagram: buildDiagramModel(result) };
}

/**
 * The same files as `generateAll`, in the same order, each as pieces of text rendered only when asked
 * for: a caller that writes each piece and lets it go holds one piece at a time (at 30,000 processors
 * the files are ~180 MB, deploy.sh alone ~57 MB). The deploy model is built here, before the first
 * file; the files are rendered from the models and the resolved pipeline.
 */
export function generateEach(source: GenerateSource): AsyncGenerator<readonly [string, Iterable<string>]> {
  return renderEach(deployModelOf(source.deploy), source.diagram, source.deploy.pipeline);
}

async function* renderEach(model: DeployModel, diagram: DiagramModel, pipeline: ResolvedPipeline): AsyncGenerator<readonly [string, Iterable<string>]> {
  const mermaid = generateMermaid(diagram);
  const dot = generateDot(diagram);
  const renderers = new Map<string, () => Iterable<string> | Promise<Iterable<string>>>([
    ...terraformFiles(model),
    ['gcloud/deploy.sh', () => generateDeployScript(model)],
    ['diagram.mmd', () => [mermaid]],
    ['diagram.dot', () => [dot]],
    ['diagram.svg', async () => [await renderSvg(dot)]],
    ['ARCHITECTURE.md', () => [generateArchitecture(model, pipeline, mermaid)]],
    ...referenceDocs(model),
    ['docs/processors.md', () => generateProcessorDocs(model, pipeline)],
  ]);
  for (const path of [...renderers.keys()].sort()) {
    const render = renderers.get(path);
    // Dropped once used: a renderer may hold what it built for its file (an index, a view).
    renderers.delete(path);
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

/** Where `checkDrift` writes a file's pieces (UTF-8) as they are compared. */
export interface FileSink {
  write(chunk: Uint8Array): Promise<void>;
  /** `complete` is false when rendering the file failed part way: what was written is to be dropped. */
  close(complete: boolean): Promise<void>;
}

/**
 * Compares `outDir` with freshly generated `files` (a map, or `generateEach`'s pieces); every list is
 * sorted, and all are empty when in step. A missing `outDir` counts as every file missing. `open`, when
 * given, is asked for a sink per file; the file's pieces go to it as they are rendered, so a caller can
 * write a file without holding it. Each piece is compared byte for byte with the same range of the file
 * on disk as it comes, so the sink must not write over that file before it is closed (write beside it
 * and rename on close).
 */
export async function checkDrift(
  outDir: string,
  files: Iterable<readonly [string, string | Iterable<string>]> | AsyncIterable<readonly [string, string | Iterable<string>]>,
  open?: (path: string) => Promise<FileSink>,
): Promise<Drift> {
  const onDisk = await listFiles(outDir);
  const changed: string[] = [];
  const missing: string[] = [];
  const generated = new Set<string>();
  for await (const [path, content] of files) {
    generated.add(path);
    const before = onDisk.has(path) ? new FileReader(await openFile(join(outDir, path), 'r')) : undefined;
    let same = before !== undefined;
    let sink: FileSink | undefined;
    let complete = false;
    try {
      sink = await open?.(path);
      for (const chunk of typeof content === 'string' ? [content] : content) {
        const bytes = Buffer.from(chunk, 'utf8');
        if (same && before !== undefined) same = await before.matches(bytes);
        await sink?.write(bytes);
      }
      if (same && before !== undefined) same = await before.atEnd();
      complete = true;
    } finally {
      await before?.close();
      await sink?.close(complete);
    }
    if (before === undefined) missing.push(path);
    else if (!same) changed.push(path);
  }
  const extra = [...onDisk].filter((path) => !generated.has(path));
  return { changed: changed.sort(), missing: missing.sort(), extra: extra.sort() };
}

/** Reads a file from its start in step with what it is compared to. */
class FileReader {
  private position = 0;

  constructor(private readonly handle: FileHandle) {}

  /** Whether the next `bytes.length` bytes of the file are `bytes`. */
  async matches(bytes: Uint8Array): Promise<boolean> {
    const buffer = Buffer.allocUnsafe(bytes.length);
    let read = 0;
    while (read < bytes.length) {
      const { bytesRead } = await this.handle.read(buffer, read, bytes.length - read, this.position + read);
      if (bytesRead === 0) return false;
      read += bytesRead;
    }
    this.position += read;
    return buffer.equals(bytes);
  }

  /** Whether the file ends where the comparison did. */
  async atEnd(): Promise<boolean> {
    const { bytesRead } = await this.handle.read(Buffer.alloc(1), 0, 1, this.position);
    return bytesRead === 0;
  }

  close(): Promise<void> {
    return this.handle.close();
  }
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
