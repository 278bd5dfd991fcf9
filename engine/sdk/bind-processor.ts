// Data flow: pipeline.yaml (path or ResolvedPipeline) + processor name → bindProcessor → ProcessorBinding (topics, accepted messages) → Processor / publishCompletion.
import { hasErrors } from '../config/diagnostic.ts';
import { formatDiagnostics } from '../config/format-diagnostics.ts';
import { loadPipeline } from '../config/load-pipeline.ts';
import type { ResolvedPipeline, ResolvedProcessor } from '../config/resolved-pipeline.ts';
import { suggestHint } from '../config/suggest.ts';
import { ENVELOPE_TYPES, type EnvelopeType } from '../runtime/envelope.ts';
import { ProcessorConfigError } from './processor-config-error.ts';

/** Everything the SDK derives from the graph for one processor, once, at start-up. */
export interface ProcessorBinding {
  readonly pipeline: ResolvedPipeline;
  /** Hash of the pipeline file (stamped on completions); undefined when a pipeline object was given without one. */
  readonly pipelineHash: string | undefined;
  readonly processor: ResolvedProcessor;
  /** True for processors of an entry phase: started by an entry message (`{ key, correlation_id? }`), not an envelope. */
  readonly entry: boolean;
  /** The topic whose subscription pushes to this processor; undefined for entry processors. */
  readonly triggerTopic: string | undefined;
  /** The topic its completion goes to: its phase's `publishes`. */
  readonly publishes: string;
  /** Envelope types the graph can deliver on the trigger topic (empty for entry processors). */
  readonly accepts: readonly EnvelopeType[];
  /** True when its triggers carry `entities_changed` (an aggregating barrier or a coordinator's work). */
  readonly entityAware: boolean;
  /** True when a dependency barrier starts it: its triggers are addressed to it with `baton_target`. */
  readonly addressed: boolean;
}

/** Where the pipeline comes from, and what the caller expects of the processor. */
export interface BindOptions {
  /** A path to pipeline.yaml, or an already loaded pipeline. */
  readonly pipeline: string | ResolvedPipeline;
  /** With a loaded pipeline: the hash of its file, stamped on completions. */
  readonly pipelineHash?: string | undefined;
  /** The processor's name in pipeline.yaml. */
  readonly name: string;
  /** When given, the topic the caller believes it publishes to; a mismatch is a start-up error. */
  readonly topic?: string | undefined;
}

/**
 * Loads the pipeline (when given a path) and finds the processor in it. Throws `ProcessorConfigError`
 * with a did-you-mean when the file does not load, the name is not a processor, or `topic` is not
 * the one pipeline.yaml says the processor publishes to.
 */
export function bindProcessor(options: BindOptions): ProcessorBinding {
  const { pipeline, pipelineHash } = openPipeline(options.pipeline, options.pipelineHash);
  const processor = pipeline.processors.find((p) => p.name === options.name);
  if (processor === undefined) {
    const hint = suggestHint(
      options.name,
      pipeline.processors.map((p) => p.name),
      'processors',
    );
    throw new ProcessorConfigError(`"${options.name}" is not a processor of pipeline ${pipeline.name}${hint === undefined ? '' : `; ${hint}`}`);
  }
  const publishes = processor.publishes.name;
  if (options.topic !== undefined && options.topic !== publishes) {
    const hint = suggestHint(options.topic, [publishes], 'pipeline.yaml says');
    throw new ProcessorConfigError(
      `processor ${processor.name} publishes to "${publishes}" (phases.${processor.phase}.publishes), not "${options.topic}"${hint === undefined ? '' : `; ${hint}`}`,
    );
  }
  const phase = pipeline.phases.find((p) => p.name === processor.phase);
  const triggerTopic = processor.triggeredBy?.name;
  const accepts = triggerTopic === undefined ? [] : acceptedTypes(pipeline, triggerTopic);
  const entityAware =
    triggerTopic !== undefined &&
    (pipeline.coordinators.some((c) => c.workTopic.name === triggerTopic) ||
      pipeline.barriers.some((b) => b.publishes.name === triggerTopic && b.aggregateEntities));
  return {
    pipeline,
    pipelineHash,
    processor,
    entry: phase?.entry !== undefined && triggerTopic === undefined,
    triggerTopic,
    publishes,
    accepts,
    entityAware,
    addressed: processor.dependencyBarrier !== undefined,
  };
}

function openPipeline(source: string | ResolvedPipeline, hash: string | undefined): { pipeline: ResolvedPipeline; pipelineHash: string | undefined } {
  if (typeof source !== 'string') return { pipeline: source, pipelineHash: hash };
  const loaded = loadPipeline(source);
  if (loaded.pipeline === undefined || hasErrors(loaded.diagnostics)) {
    const errors = loaded.diagnostics.filter((d) => d.severity === 'error');
    throw new ProcessorConfigError(`${source} does not load:\n${formatDiagnostics(source, errors)}`);
  }
  return { pipeline: loaded.pipeline, pipelineHash: hash ?? loaded.hash };
}

/** Which envelopes can arrive on a topic, from who publishes to it in the graph. */
function acceptedTypes(pipeline: ResolvedPipeline, topic: string): EnvelopeType[] {
  const types = new Set<EnvelopeType>();
  if (pipeline.phases.some((p) => p.publishes.name === topic)) types.add(ENVELOPE_TYPES.completion);
  if (pipeline.barriers.some((b) => b.publishes.name === topic) || pipeline.coordinators.some((c) => c.publishes?.name === topic)) {
    types.add(ENVELOPE_TYPES.trigger);
  }
  if (pipeline.coordinators.some((c) => c.workTopic.name === topic)) types.add(ENVELOPE_TYPES.work);
  // Published only from outside the pipeline: any valid envelope may come.
  return types.size === 0 ? Object.values(ENVELOPE_TYPES) : [...types];
}
