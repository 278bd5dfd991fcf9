import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Handlebars from 'handlebars';
import { packageRoot } from '../engine/config/package-root.ts';
import { commentLine, dotHtml, dotString, hclString, markdownCode, markdownInline, mermaidLabel, shellQuote, yamlString } from './escape.ts';

/**
 * Renders `generators/templates/<name>.hbs`. Templates never HTML-escape (`noEscape`): every value
 * goes through the escaping helper of its target language (`hcl`, `sh`, `yaml`, `mmd`, `dot`,
 * `dothtml`, `md`, `code`), and `strict` mode makes a missing field an error, not an empty string.
 */
export function renderTemplate(name: string, context: object): string {
  let text = '';
  for (const chunk of renderTemplateChunks(name, context)) text += chunk;
  return text;
}

/**
 * The same text as `renderTemplate`, in pieces of about `CHUNK_CHARS` characters, rendered as they are
 * asked for: the template's outermost `{{#each}}` blocks render one item at a time, so a caller that
 * writes each piece holds one piece, not the whole file (at 30,000 processors deploy.sh is ~57 MB).
 */
export function* renderTemplateChunks(name: string, context: object, blocks: BlockRenderers = {}): Generator<string> {
  const template = compile(name);
  const deferredBlocks: (() => Iterable<string>)[] = [];
  deferred = deferredBlocks;
  renderers = blocks;
  let outline: string;
  try {
    outline = template(context);
  } finally {
    deferred = undefined;
    renderers = undefined;
  }
  let pending = '';
  const parts = outline.split(DEFERRED_MARK);
  for (const [i, part] of parts.entries()) {
    // Odd parts are the number of a deferred block; even ones are the text between blocks.
    const items = i % 2 === 1 ? deferredBlocks[Number(part)]?.() : undefined;
    for (const text of items ?? [part]) {
      pending += text;
      if (pending.length >= CHUNK_CHARS) {
        yield pending;
        pending = '';
      }
    }
  }
  if (pending !== '') yield pending;
}

const CHUNK_CHARS = 1 << 16;
// NUL never occurs in a rendered file: every value goes through an escaping helper or is fixed text.
const NUL = String.fromCharCode(0);
const DEFERRED_MARK = new RegExp(`${NUL}baton-each-(\\d+)${NUL}`);

function compile(name: string): HandlebarsTemplateDelegate {
  let template = compiled.get(name);
  if (template === undefined) {
    const source = readFileSync(join(packageRoot(), 'generators', 'templates', `${name}.hbs`), 'utf8');
    template = handlebars.compile(source, { noEscape: true, strict: true });
    compiled.set(name, template);
  }
  return template;
}

/**
 * Per-item blocks written in TypeScript, by name: `{{#eachBlock "name" list}}` … `{{/eachBlock}}`, open
 * and close on lines of their own as a `{{#each}}`'s are, writes `name`'s text for each item of `list`
 * (the text an `{{#each}}` body would render, from its first line break to its last). For the hottest loops (a block per subscription, service account or alert at
 * 30,000 processors) a template literal makes one string per item where Handlebars makes a frame, an
 * options object and a lookup per value. Each renderer escapes every value as the template would.
 */
export type BlockRenderers = Readonly<Record<string, (item: never) => string>>;

/** Set while a template's outline renders: its outermost non-empty `{{#each}}` blocks are kept here, not rendered. */
let deferred: (() => Iterable<string>)[] | undefined;
/** The block renderers of the template whose outline (or one of whose deferred items) is rendering. */
let renderers: BlockRenderers | undefined;

const handlebars = Handlebars.create();
const compiled = new Map<string, HandlebarsTemplateDelegate>();

const text = (value: unknown): string => {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (value === undefined || value === null) return '';
  throw new Error(`template helper got ${JSON.stringify(value)} where text was expected`);
};
const helpers: Record<string, (value: unknown) => string> = {
  hcl: (v) => hclString(text(v)),
  sh: (v) => shellQuote(text(v)),
  yaml: (v) => yamlString(text(v)),
  mmd: (v) => mermaidLabel(text(v)),
  dot: (v) => dotString(text(v)),
  dothtml: (v) => dotHtml(text(v)),
  md: (v) => markdownInline(text(v)),
  code: (v) => markdownCode(text(v)),
  json: (v) => JSON.stringify(v),
  line: (v) => commentLine(text(v)),
};
for (const [helper, fn] of Object.entries(helpers)) handlebars.registerHelper(helper, fn);
const builtInEach = handlebars.helpers['each'] as Handlebars.HelperDelegate;
handlebars.registerHelper('each', function (this: unknown, list: unknown, options: Handlebars.HelperOptions) {
  if (deferred === undefined || !Array.isArray(list) || list.length === 0) return builtInEach.call(this, list, options) as string;
  const items: readonly unknown[] = list;
  const blocks = renderers;
  const id = deferred.push(() => eachItem(items, options, blocks)) - 1;
  return `${NUL}baton-each-${id}${NUL}`;
});

handlebars.registerHelper('eachBlock', (name: unknown, list: unknown) => {
  const render = typeof name === 'string' ? (renderers?.[name] as ((item: unknown) => string) | undefined) : undefined;
  if (render === undefined) throw new Error(`{{#eachBlock ${String(name)}}}: no block of that name was given to this template`);
  if (!Array.isArray(list)) throw new Error(`{{#eachBlock ${String(name)}}} got ${typeof list} where a list was expected`);
  const items: readonly unknown[] = list;
  // Inside an item of an outer loop: that item is rendered whole.
  if (deferred === undefined) return items.map((item) => render(item)).join('');
  const id =
    deferred.push(function* () {
      for (const item of items) yield render(item);
    }) - 1;
  return `${NUL}baton-each-${id}${NUL}`;
});

/** What Handlebars' `{{#each}}` renders for a non-empty array, an item at a time (the same `@index`, `@first`, `@last`). */
function* eachItem(items: readonly unknown[], options: Handlebars.HelperOptions, blocks: BlockRenderers | undefined): Generator<string> {
  const data = options.data === undefined ? undefined : (Handlebars.createFrame(options.data) as Record<string, unknown>);
  for (const [index, item] of items.entries()) {
    if (data !== undefined) Object.assign(data, { key: index, index, first: index === 0, last: index === items.length - 1 });
    // The item may hold an {{#eachBlock}}: its template's blocks are in reach while it renders.
    renderers = blocks;
    let text: string;
    try {
      text = options.fn(item, { data, blockParams: [item, index] });
    } finally {
      renderers = undefined;
    }
    yield text;
  }
}
handlebars.registerHelper('join', (list: unknown, separator: unknown) =>
  Array.isArray(list) ? list.map(text).join(typeof separator === 'string' ? separator : ', ') : '',
);
handlebars.registerHelper('eq', (a: unknown, b: unknown) => a === b);
