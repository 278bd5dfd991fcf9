/**
 * The shape of `pipeline.yaml` exactly as written, once it has passed `schemas/pipeline.schema.json`.
 * Optional fields stay optional here; `resolve` applies defaults once and yields `ResolvedPipeline`.
 */

/** A completion status a processor reports. */
export type CompletionStatus = 'success' | 'partial' | 'no_data' | 'failed';

/** Pub/Sub subscription settings as written (all optional). */
export interface SubscriptionSpec {
  ack_deadline_seconds?: number;
  retry?: { min_backoff_seconds?: number; max_backoff_seconds?: number };
  dead_letter_after_attempts?: number;
  message_retention_seconds?: number;
  delivery?: 'push' | 'pull';
  invoker?: string;
}

/** A topic as written. */
export interface TopicSpec {
  description?: string;
  dead_letter?: { enabled?: boolean; reason?: string };
  external_publishers?: string;
  external_consumers?: string;
  kms_key?: string;
}

/** A processor written as an object. */
export interface ProcessorSpec {
  name: string;
  description?: string;
  service?: string;
  depends_on?: string[];
  subscription?: SubscriptionSpec;
  renamed_from?: string;
}

/** A phase as written. */
export interface PhaseSpec {
  description?: string;
  entry?: string;
  triggered_by?: string;
  publishes: string;
  subscription?: SubscriptionSpec;
  processors: (string | ProcessorSpec)[];
}

/** A threshold as written. */
export type ThresholdSpec = 'all' | { count?: number; required?: string[]; quorum?: number };

/** A barrier as written. */
export interface BarrierSpec {
  renamed_from?: string;
  description?: string;
  function?: string;
  listens: string;
  members: { phase: string } | string[];
  threshold?: ThresholdSpec;
  modes?: {
    select: 'key_date_vs_today';
    timezone?: string;
    profiles: Record<string, { when: 'before_today' | 'today' | 'after_today'; expect?: string[]; threshold?: ThresholdSpec }>;
  };
  deadlines?: { after: string; min_members: number; ignore_required?: boolean }[];
  aggregate?: 'entities_changed'[];
  counts_as_complete?: CompletionStatus[];
  publishes: string;
}

/** A coordinator as written. */
export interface CoordinatorSpec {
  description?: string;
  service?: string;
  phase: string;
  listens: string;
  entities: { type: string; full_list_url?: string };
  work_topic: string;
  ready_topic: string;
  completion?: { stall?: { min_fraction: number; no_progress_for: string } };
  counts_as_complete?: CompletionStatus[];
  on_active_batch?: 'refuse' | 'supersede';
  publishes?: string;
}

/** A simulated processor's behaviour as written. */
export interface SimulatedProcessorSpec {
  latency_ms?: [number, number];
  failure_rate?: number;
  no_data_rate?: number;
  duplicate_rate?: number;
  changes?: Record<string, number>;
}

/** The `simulate:` block as written. */
export interface SimulateSpec {
  seed?: number;
  entities?: Record<string, number>;
  defaults?: SimulatedProcessorSpec;
  processors?: Record<string, SimulatedProcessorSpec>;
}

/** The whole file as written. */
export interface PipelineSpec {
  version: 1;
  pipeline: { name: string; description?: string; project?: string; region?: string };
  key: { name: string; type?: 'date' | 'hour' | 'string'; pattern?: string; cadence?: string; description?: string };
  /** Declared entity types, by name. */
  entities?: Record<string, { description?: string }>;
  defaults?: {
    subscription?: SubscriptionSpec;
    counts_as_complete?: CompletionStatus[];
    orchestrator?: { memory_mb?: number; timeout_seconds?: number; max_instances?: number };
  };
  topics: Record<string, TopicSpec>;
  phases: Record<string, PhaseSpec>;
  barriers?: Record<string, BarrierSpec>;
  coordinators?: Record<string, CoordinatorSpec>;
  simulate?: SimulateSpec;
}
