/**
 * Evaluates a Pub/Sub subscription filter on a message's attributes, for the rehearsal: the Pub/Sub
 * emulator accepts a subscription's `filter` but delivers every message, so the push gateway applies
 * the rendered filter itself, as Pub/Sub would. Supports the forms Baton renders — `attributes.K = "v"`,
 * `attributes.K != "v"`, `attributes:K`, `NOT attributes:K` — joined by `AND`; anything else is an
 * error naming the filter, never a silent pass.
 */
export function compileFilter(expression: string): (attributes: Readonly<Record<string, string>>) => boolean {
  const terms = expression.split(/\s+AND\s+/).map((term) => compileTerm(term.trim(), expression));
  return (attributes) => terms.every((term) => term(attributes));
}

function compileTerm(term: string, expression: string): (attributes: Readonly<Record<string, string>>) => boolean {
  const comparison = /^attributes\.([A-Za-z0-9_-]+)\s*(=|!=)\s*"((?:[^"\\]|\\.)*)"$/.exec(term);
  if (comparison) {
    const [, name = '', operator, quoted = ''] = comparison;
    const value = JSON.parse(`"${quoted}"`) as string;
    return operator === '=' ? (a) => a[name] === value : (a) => a[name] !== value;
  }
  const presence = /^(NOT\s+)?attributes:([A-Za-z0-9_-]+)$/.exec(term);
  if (presence) {
    const [, not, name = ''] = presence;
    return not ? (a) => a[name] === undefined : (a) => a[name] !== undefined;
  }
  throw new Error(`the rehearsal cannot evaluate the subscription filter ${JSON.stringify(expression)} (term ${JSON.stringify(term)})`);
}
