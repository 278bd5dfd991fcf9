import { isAlias, isMap, isPair, isScalar, isSeq, LineCounter, parseAllDocuments, type Document, type Node } from 'yaml';
import type { DocPath } from './diagnostic.ts';
import type { PositionedFinding } from './read-source.ts';

/** Deepest nesting Baton accepts. The schema needs about ten levels; this stops stack-exhaustion input early. */
export const MAX_NESTING = 64;
/** Most alias expansions allowed when converting to data: a defence against "billion laughs" files. */
export const MAX_ALIAS_COUNT = 100;

/** Where a path sits in the source file. */
export interface SourcePosition {
  readonly line: number;
  readonly column: number;
}

/** Maps document paths back to line and column. */
export interface SourceLocator {
  /** Position of the value at `path` (or of its key with `atKey`); falls back to the nearest existing ancestor. */
  locate(path: DocPath, atKey?: boolean): SourcePosition;
}

/** The parsed document: plain data plus a way back to source positions. */
export type ParsedPipeline =
  { readonly ok: true; readonly data: unknown; readonly locator: SourceLocator } | { readonly ok: false; readonly findings: readonly PositionedFinding[] };

const YAML_CODES: Record<string, string> = {
  DUPLICATE_KEY: 'yaml/duplicate-key',
  TAB_AS_INDENT: 'yaml/tab-indent',
  BAD_INDENT: 'yaml/bad-indent',
  RESOURCE_EXHAUSTION: 'yaml/too-deep',
};

function finding(code: string, message: string, position: SourcePosition, hint?: string): PositionedFinding {
  return { code, severity: 'error', message, path: [], line: position.line, column: position.column, hint };
}

/** Stage 1: YAML text → data with source positions. Every YAML problem becomes a located finding. */
export function parsePipeline(text: string): ParsedPipeline {
  const body = text.startsWith('\uFEFF') ? text.slice(1) : text;
  const tooDeep = findExcessiveNesting(body, MAX_NESTING);
  if (tooDeep) {
    return {
      ok: false,
      findings: [
        finding('yaml/too-deep', `nesting is deeper than ${MAX_NESTING} levels`, tooDeep, 'a pipeline file needs about ten levels; flatten the structure'),
      ],
    };
  }
  const lineCounter = new LineCounter();
  const at = (offset: number): SourcePosition => {
    const { line, col } = lineCounter.linePos(offset);
    return { line: Math.max(1, line), column: Math.max(1, col) };
  };
  const documents = parseAllDocuments(body, { lineCounter, uniqueKeys: true, prettyErrors: false, strict: true });
  if (!Array.isArray(documents) || documents.length === 0) {
    return { ok: false, findings: [finding('source/empty', 'file is empty: it holds no YAML document', { line: 1, column: 1 })] };
  }
  const findings: PositionedFinding[] = [];
  if (documents.length > 1) {
    const second = documents[1] as Document;
    findings.push(
      finding(
        'yaml/multiple-documents',
        `file holds ${documents.length} YAML documents; a pipeline is exactly one`,
        at(second.range?.[0] ?? 0),
        'remove the `---` separator and everything after it, or merge the documents',
      ),
    );
  }
  const document = documents[0] as Document;
  // A tab used as indentation throws every later line out of place: report the tabs, not the fallout.
  const problems = [...document.errors, ...document.warnings];
  const tabs = problems.filter((e) => e.code === 'TAB_AS_INDENT');
  const reported = new Set<number>();
  for (const error of tabs.length > 0 ? tabs : problems) {
    const position = at(error.pos[0]);
    if (reported.has(position.line)) continue;
    reported.add(position.line);
    const code = YAML_CODES[error.code] ?? `yaml/${error.code.toLowerCase().replace(/_/g, '-')}`;
    const message = (error.message.split('\n')[0] ?? error.message).replace(/\s+at line \d+, column \d+:?$/, '');
    const hint =
      error.code === 'TAB_AS_INDENT'
        ? 'indent with spaces; YAML does not allow tabs for indentation'
        : error.code === 'DUPLICATE_KEY'
          ? 'each key may appear once in a mapping; remove or rename one of them'
          : undefined;
    findings.push(finding(code, message, position, hint));
  }
  if (findings.length > 0) return { ok: false, findings };

  let data: unknown;
  try {
    data = document.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const position = firstAliasPosition(document, at) ?? { line: 1, column: 1 };
    if (/alias/i.test(message)) {
      return {
        ok: false,
        findings: [
          finding(
            'yaml/alias-limit',
            `aliases expand to more than ${MAX_ALIAS_COUNT} nodes (a "billion laughs" pattern)`,
            position,
            'write the values out, or use fewer aliases',
          ),
        ],
      };
    }
    return { ok: false, findings: [finding('yaml/invalid', message, position)] };
  }
  return { ok: true, data, locator: new DocumentLocator(document, at) };
}

class DocumentLocator implements SourceLocator {
  constructor(
    private readonly document: Document,
    private readonly at: (offset: number) => SourcePosition,
  ) {}

  locate(path: DocPath, atKey = false): SourcePosition {
    let node: unknown = this.document.contents;
    let found: Node | undefined = isNode(node) ? node : undefined;
    let keyNode: Node | undefined;
    for (const segment of path) {
      if (isAlias(node)) node = node.resolve(this.document);
      keyNode = undefined;
      let next: unknown;
      if (isMap(node)) {
        const pair = node.items.find((item) => isPair(item) && isScalar(item.key) && String(item.key.value) === String(segment));
        if (pair) {
          keyNode = isNode(pair.key) ? pair.key : undefined;
          next = pair.value ?? pair.key;
        }
      } else if (isSeq(node) && typeof segment === 'number') {
        next = node.items[segment];
      }
      if (!isNode(next)) break;
      node = next;
      found = next;
    }
    const target = atKey && keyNode ? keyNode : found;
    return target?.range ? this.at(target.range[0]) : { line: 1, column: 1 };
  }
}

function isNode(value: unknown): value is Node {
  return typeof value === 'object' && value !== null && 'range' in value;
}

function firstAliasPosition(document: Document, at: (offset: number) => SourcePosition): SourcePosition | undefined {
  let found: SourcePosition | undefined;
  const visit = (node: unknown): void => {
    if (found) return;
    if (isAlias(node) && node.range) found = at(node.range[0]);
    else if (isMap(node) || isSeq(node)) for (const item of node.items) visit(isPair(item) ? item.value : item);
  };
  visit(document.contents);
  return found;
}

/**
 * Estimates the nesting depth of YAML text without parsing it: indentation levels, compact `- ` markers
 * and flow brackets (outside quotes and comments). Returns where it first exceeds `max`.
 */
export function findExcessiveNesting(text: string, max: number): SourcePosition | undefined {
  const indents: number[] = [];
  let flow = 0;
  const lines = text.split('\n');
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index] ?? '';
    const indent = line.length - line.trimStart().length;
    const content = line.slice(indent);
    if (content === '' || content.startsWith('#')) continue;
    if (flow === 0) {
      while (indents.length > 0 && (indents.at(-1) ?? 0) >= indent) indents.pop();
      indents.push(indent);
    }
    let compact = 0;
    let quote: string | undefined;
    for (let i = 0; i < content.length; i++) {
      const ch = content[i];
      if (quote) {
        if (ch === quote) quote = undefined;
        continue;
      }
      if (ch === '"' || ch === "'") quote = ch;
      else if (ch === '#' && (i === 0 || content[i - 1] === ' ')) break;
      else if (ch === '[' || ch === '{') flow++;
      else if (ch === ']' || ch === '}') flow = Math.max(0, flow - 1);
      else if (ch === '-' && content[i + 1] === ' ' && flow === 0 && /^(- )*$/.test(content.slice(0, i))) compact++;
      if (indents.length + compact + flow > max) return { line: index + 1, column: indent + i + 1 };
    }
  }
  return undefined;
}
