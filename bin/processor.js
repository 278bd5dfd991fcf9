// The `baton/processor` export for plain Node: bundles engine/sdk/index.ts with esbuild on first import
// (and whenever a source changes) under node_modules/.cache/baton/, then re-exports it, so a processor
// needs no TypeScript toolchain. TypeScript users get the types from engine/sdk/index.ts (package.json
// `exports`); a test checks that this list names every runtime export of the SDK.
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { bundle } from './bundle.js';

const folder = await bundle('processor', join('engine', 'sdk', 'index.ts'), { split: true });
const sdk = await import(pathToFileURL(join(folder, 'index.js')).href);

export const {
  createProcessor,
  publishCompletion,
  Processor,
  MemoryExecutionStore,
  ContextLogger,
  PermanentError,
  InvalidResultError,
  ProcessorConfigError,
  executionIdsOf,
} = sdk;
