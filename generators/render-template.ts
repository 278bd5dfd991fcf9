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
  let template = compiled.get(name);
  if (template === undefined) {
    const source = readFileSync(join(packageRoot(), 'generators', 'templates', `${name}.hbs`), 'utf8');
    template = handlebars.compile(source, { noEscape: true, strict: true });
    compiled.set(name, template);
  }
  return template(context);
}

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
handlebars.registerHelper('join', (list: unknown, separator: unknown) =>
  Array.isArray(list) ? list.map(text).join(typeof separator === 'string' ? separator : ', ') : '',
);
handlebars.registerHelper('eq', (a: unknown, b: unknown) => a === b);
