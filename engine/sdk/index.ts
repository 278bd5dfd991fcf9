// Data flow: user code → `baton/processor` → createProcessor (push-triggered) | publishCompletion (started elsewhere) → one completion envelope per execution.
export { createProcessor, type CreateProcessorOptions } from './create-processor.ts';
export { Processor, type DeliveryFacts, type DeliveryOutcome, type ProcessorHandler } from './processor.ts';
export { publishCompletion, type PublishCompletionOptions, type PublishedCompletion } from './publish-completion.ts';
export type { ProcessorContext } from './processor-context.ts';
export type { ProcessorResult, JsonValue } from './processor-result.ts';
export type { EntryMessage, ProcessorEntities, ProcessorTrigger } from './read-trigger.ts';
export type { ProcessorBinding } from './bind-processor.ts';
export type { ExecutionRecord, ExecutionStore } from './execution-store.ts';
export { MemoryExecutionStore } from './memory-execution-store.ts';
export { ContextLogger } from './context-logger.ts';
export { PermanentError } from './permanent-error.ts';
export { InvalidResultError } from './invalid-result-error.ts';
export { ProcessorConfigError } from './processor-config-error.ts';
export { executionIdsOf, type ExecutionIds } from './execution-ids.ts';
