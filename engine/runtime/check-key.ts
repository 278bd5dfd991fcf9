import { keyRuleProblem } from '../config/key-rule.ts';
import type { ResolvedPipeline } from '../config/resolved-pipeline.ts';
import { InvalidKeyError } from './errors.ts';

/** Throws a permanent `InvalidKeyError` unless `key` obeys the pipeline's key rule (see `keyRuleProblem`). */
export function checkKey(rule: ResolvedPipeline['key'], key: string): void {
  const problem = keyRuleProblem(rule, key);
  if (problem !== undefined) throw new InvalidKeyError(`${rule.name} "${[...key].length > 40 ? `${key.slice(0, 40)}…` : key}" ${problem.message}`);
}
