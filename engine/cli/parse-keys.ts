import { readFileSync } from 'node:fs';
import { expandKeyRange, keyRuleProblem } from '../config/key-rule.ts';
import type { LoadResult } from '../config/load-pipeline.ts';
import type { KeyRule } from '../config/resolved-pipeline.ts';

/** Keys given on the command line, with notices (repeats dropped), or why they are not valid. */
export type ParsedKeys = { readonly ok: true; readonly keys: string[]; readonly notices: string[] } | { readonly ok: false; readonly error: string };

/** The key options of a command: `--key` (repeatable), `--keys` (a range A..B or a list a,b,c) and `--keys-from FILE`. */
export interface KeyOptions {
  readonly key?: readonly string[];
  readonly keys?: string | undefined;
  readonly keysFrom?: string | undefined;
}

/** Where the parser looks outside the command line: the pipeline's key rule, its place in the file, and files. */
export interface KeyRuleContext {
  readonly rule: KeyRule;
  /** `pipeline.yaml:7:14` for `key.type` or `key.pattern`, to point at the rule a key broke. */
  readonly ruleAt: (field: 'type' | 'pattern') => string | undefined;
  /** Reads a `--keys-from` file; `-` is stdin. */
  readonly readText: (file: string) => string;
}

/** One key and where it was given, e.g. `--key` or `--keys-from keys.txt:3`. */
interface GivenKey {
  readonly key: string;
  readonly from: string;
}

/**
 * Reads every key a command was given and checks each against the pipeline's key rule before anything
 * runs. `--keys A..B` steps by day (date keys) or hour (hour keys), both ends included; a string key
 * has no order, so its range is refused. `--keys-from` takes one key per line, `#` comments and blank
 * lines ignored, `-` for stdin. Order is kept; a repeated key runs once, with a notice.
 */
export function parseKeys(options: KeyOptions, context: KeyRuleContext): ParsedKeys {
  const given: GivenKey[] = (options.key ?? []).map((key) => ({ key, from: '--key' }));
  if (options.keys !== undefined) {
    const range = /^(.+?)\.\.(.+)$/.exec(options.keys);
    if (range) {
      const expanded = expandKeyRange(context.rule, range[1] ?? '', range[2] ?? '');
      if (!expanded.ok) return { ok: false, error: `--keys ${options.keys}: ${expanded.error}` };
      given.push(...expanded.keys.map((key) => ({ key, from: `--keys ${options.keys}` })));
    } else {
      const list = options.keys.split(',').map((k) => k.trim());
      if (list.every((k) => k === '')) return { ok: false, error: `--keys "${options.keys}" holds no key; give a range A..B or a list a,b,c` };
      given.push(...list.filter((k) => k !== '').map((key) => ({ key, from: '--keys' })));
    }
  }
  if (options.keysFrom !== undefined) {
    const file = options.keysFrom;
    const name = file === '-' ? 'stdin' : file;
    let text: string;
    try {
      text = context.readText(file);
    } catch (error) {
      return { ok: false, error: `--keys-from ${name}: cannot read it (${error instanceof Error ? error.message : String(error)})` };
    }
    const before = given.length;
    text.split(/\r?\n/).forEach((line, index) => {
      const key = line.replace(/#.*$/, '').trim();
      if (key !== '') given.push({ key, from: `--keys-from ${name}:${index + 1}` });
    });
    if (given.length === before) return { ok: false, error: `--keys-from ${name} holds no key (one key per line; # starts a comment)` };
  }
  for (const { key, from } of given) {
    const problem = keyRuleProblem(context.rule, key);
    if (problem === undefined) continue;
    const at = problem.field === undefined ? undefined : context.ruleAt(problem.field);
    return { ok: false, error: `${from} "${key}" ${problem.message}${at === undefined ? '' : ` (${at})`}` };
  }
  const seen = new Map<string, string>();
  const repeats: string[] = [];
  for (const { key, from } of given) {
    const first = seen.get(key);
    if (first === undefined) seen.set(key, from);
    else repeats.push(`${key} (${from}, first at ${first})`);
  }
  const notices =
    repeats.length === 0
      ? []
      : [
          `note: ${repeats.length} repeated key${repeats.length === 1 ? '' : 's'} dropped, each runs once: ${repeats.slice(0, 5).join('; ')}${repeats.length > 5 ? `; and ${repeats.length - 5} more` : ''}`,
        ];
  return { ok: true, keys: [...seen.keys()], notices };
}

/** The key rule of a loaded pipeline, pointing into its file, reading `--keys-from` from disk or stdin. */
export function keyRuleContext(loaded: LoadResult & { readonly pipeline: { readonly key: KeyRule } }): KeyRuleContext {
  return {
    rule: loaded.pipeline.key,
    ruleAt: (field) => {
      const position = loaded.locator?.locate(['key', field]);
      return position === undefined ? undefined : `${loaded.file}:${position.line}:${position.column}`;
    },
    readText: (file) => readFileSync(file === '-' ? 0 : file, 'utf8'),
  };
}

/** Checks one key given as `flag` (e.g. `status --key`) against the key rule: the error to print, or undefined. */
export function keyOptionError(flag: string, key: string, context: KeyRuleContext): string | undefined {
  const parsed = parseKeys({ key: [key] }, context);
  return parsed.ok ? undefined : parsed.error.replace(/^--key/, flag);
}
