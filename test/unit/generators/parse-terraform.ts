import { parse } from '@cdktf/hcl2json';
import { expect } from 'vitest';
import type { LoadResult } from '../../../engine/config/load-pipeline.ts';
import { generated } from './generate-fixture.ts';

export type Block = Record<string, unknown>;
export type Resources = Record<string, Record<string, Block>>;

export interface Parsed {
  readonly result: LoadResult;
  readonly resources: Resources;
  readonly data: Resources;
  readonly variables: Record<string, Block>;
  readonly locals: Block;
}

/** Parses every generated .tf file of a pipeline with a real HCL parser and merges the blocks by type and name. */
export async function parseTerraform(file: string): Promise<Parsed> {
  const { result, files } = await generated(file);
  const resources: Resources = {};
  const data: Resources = {};
  const variables: Record<string, Block> = {};
  const locals: Block = {};
  for (const [path, content] of files) {
    if (!path.endsWith('.tf')) continue;
    const json = (await parse(path, content)) as {
      resource?: Record<string, Record<string, Block[]>>;
      data?: Record<string, Record<string, Block[]>>;
      variable?: Record<string, Block[]>;
      locals?: Block[];
    };
    for (const block of json.locals ?? []) Object.assign(locals, block);
    for (const [target, source] of [
      [resources, json.resource],
      [data, json.data],
    ] as const) {
      for (const [type, byName] of Object.entries(source ?? {})) {
        for (const [name, [block]] of Object.entries(byName)) {
          target[type] ??= {};
          expect(target[type][name], `${type}.${name} is declared twice`).toBeUndefined();
          target[type][name] = block ?? {};
        }
      }
    }
    for (const [name, [block]] of Object.entries(json.variable ?? {})) variables[name] = block ?? {};
  }
  return { result, resources, data, variables, locals };
}

export const of = (resources: Resources, type: string): [string, Block][] => Object.entries(resources[type] ?? {});
export const first = (value: unknown): Block => (Array.isArray(value) ? ((value[0] ?? {}) as Block) : {});
