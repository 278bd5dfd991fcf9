/**
 * Escaping per target language. Every value a template writes goes through one of these, even
 * names the schema already restricts: descriptions are free text, and a manifest must never run,
 * interpolate or break on what a user wrote.
 */

// eslint-disable-next-line no-control-regex -- control characters are exactly what these escapers must neutralise
const CONTROL = /[\u0000-\u001f\u007f]/g;
// Every character one of hclString's passes rewrites: `\\`, `"`, `$` and `%` (of `${`, `%{`), and control characters.
// eslint-disable-next-line no-control-regex -- control characters are exactly what hclString must neutralise
const HCL_SPECIAL = /[\\"$%\u0000-\u001f\u007f]/;

/** A single-quoted POSIX shell word: nothing inside is expanded (`$()`, backticks, `${}` stay text). */
export function shellQuote(value: string): string {
  if (!value.includes("'")) return `'${value}'`;
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/**
 * A double-quoted HCL string literal: backslash escapes, and `${` / `%{` doubled so Terraform
 * never interpolates or runs a template directive that came from user text.
 */
export function hclString(value: string): string {
  // Most values (names, ids) need no escaping: skip the eight passes and the strings they would make.
  if (!HCL_SPECIAL.test(value)) return `"${value}"`;
  const body = value
    .replace(/\\/g, '\\\\')
    .replace(/"/g, '\\"')
    .replace(/\n/g, '\\n')
    .replace(/\r/g, '\\r')
    .replace(/\t/g, '\\t')
    // A function replacer: in a replacement string `$$` would collapse back to `$`.
    .replace(/\$\{/g, () => '$${')
    .replace(/%\{/g, () => '%%{')
    .replace(CONTROL, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return `"${body}"`;
}

/** A double-quoted YAML scalar (JSON's escaping is valid YAML 1.2). */
export function yamlString(value: string): string {
  return JSON.stringify(value);
}

/**
 * A quoted Mermaid label. Mermaid decodes `#name;` / `#code;` entities, so quotes, backticks (which
 * would start a markdown string), angle brackets and `#` itself are written as entities; a newline
 * becomes a line break.
 */
export function mermaidLabel(value: string): string {
  const body = value
    .replace(/#/g, '#35;')
    .replace(/"/g, '#quot;')
    .replace(/`/g, '#96;')
    .replace(/</g, '#lt;')
    .replace(/>/g, '#gt;')
    .replace(/\r?\n/g, '<br/>')
    .replace(CONTROL, ' ');
  return `"${body}"`;
}

/** A Mermaid node id: letters, digits and `_` only (names with `-` or `.` are mapped, with a suffix when that loses information). */
export function mermaidId(prefix: string, name: string): string {
  return `${prefix}_${name.replace(/[^A-Za-z0-9_]/g, '_')}`;
}

/** A double-quoted DOT string (for ids, labels and tooltips); a newline becomes a centred line break. */
export function dotString(value: string): string {
  const body = value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\r?\n/g, '\\n').replace(CONTROL, ' ');
  return `"${body}"`;
}

/** Text inside a DOT HTML-like label (`<…>`): XML entities, so markup in user text stays text. */
export function dotHtml(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/\r?\n/g, '<br/>').replace(CONTROL, ' ');
}

/** Text in a Markdown table cell or inline span: no pipes, no line breaks, no raw HTML. */
export function markdownInline(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/`/g, '\\`').replace(/\r?\n/g, ' ').trim();
}

/** A Markdown code span that holds any text (fences longer than any backtick run inside). */
export function markdownCode(value: string): string {
  const longest = Math.max(0, ...[...value.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = '`'.repeat(longest + 1);
  const pad = value.startsWith('`') || value.endsWith('`') ? ' ' : '';
  return `${fence}${pad}${value.replace(/\r?\n/g, ' ')}${pad}${fence}`;
}

/** A Terraform resource name (block label) for a name: `[A-Za-z_][A-Za-z0-9_-]*`. */
export function tfId(name: string): string {
  const safe = name.replace(/[^A-Za-z0-9_-]/g, '_');
  return /^[A-Za-z_]/.test(safe) ? safe : `_${safe}`;
}

/** A Google Cloud label value: lowercase letters, digits, `_` and `-`, at most 63 characters. */
export function labelValue(value: string): string {
  return value
    .toLowerCase()
    .replace(/[^a-z0-9_-]/g, '-')
    .slice(0, 63);
}

/** One line of comment text: line breaks become spaces so user text cannot leave the comment. */
export function commentLine(value: string): string {
  return value.replace(/[\r\n\u2028\u2029]+/g, ' ');
}
