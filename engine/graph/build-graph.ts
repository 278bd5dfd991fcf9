import { MultiDirectedGraph } from 'graphology';
import type { ResolvedPipeline } from '../config/resolved-pipeline.ts';
import { nodeKey, subscriptionName, TARGET_ATTRIBUTE, type EdgeAttributes, type NodeAttributes, type NodeKind, type PipelineGraph } from './pipeline-graph.ts';

interface Consumer {
  readonly key: string;
  /** Which publishers can pass work to this consumer over this topic. */
  readonly accepts: (publisher: Publisher) => boolean;
  readonly kind: 'flows' | 'returns';
}

interface Publisher {
  readonly key: string;
  readonly name: string;
  readonly target: string | undefined;
}

/**
 * Stage 4: builds the typed graph. Unknown references add no edge (graph rules report them), so the
 * graph is always well formed even for an invalid pipeline.
 */
export function buildGraph(pipeline: ResolvedPipeline): PipelineGraph {
  const graph = new MultiDirectedGraph<NodeAttributes, EdgeAttributes>();
  const addNode = (kind: NodeKind, name: string, extra: Partial<NodeAttributes> = {}): string => {
    const key = nodeKey(kind, name);
    if (!graph.hasNode(key)) graph.addNode(key, { kind, name, ...extra });
    return key;
  };
  const topicKey = (name: string): string | undefined => (graph.hasNode(nodeKey('topic', name)) ? nodeKey('topic', name) : undefined);
  const topicSpecs = new Map(pipeline.topics.map((t) => [t.name, t]));
  // Appended in place: a phase of thousands of processors publishes to one topic.
  const publishers = new Map<string, Publisher[]>();
  const consumers = new Map<string, Consumer[]>();
  const append = <T>(index: Map<string, T[]>, topic: string, entry: T): void => {
    const list = index.get(topic);
    if (list === undefined) index.set(topic, [entry]);
    else list.push(entry);
  };
  const publish = (from: string, name: string, topic: string, target?: string): void => {
    const to = topicKey(topic);
    if (to === undefined) return;
    graph.addDirectedEdge(from, to, target === undefined ? { kind: 'publishes' } : { kind: 'publishes', target });
    append(publishers, topic, { key: from, name, target });
  };
  const subscribe = (consumerKey: string, consumerName: string, topic: string, consumer: Omit<Consumer, 'key'>, filter?: string): void => {
    const from = topicKey(topic);
    if (from === undefined) return;
    const topicSpec = topicSpecs.get(topic);
    const subscription = addNode('subscription', subscriptionName(consumerName, topic), { topic, consumer: consumerName, ...(filter ? { filter } : {}) });
    graph.addDirectedEdge(from, subscription, { kind: 'delivers' });
    graph.addDirectedEdge(subscription, consumerKey, { kind: 'triggers' });
    if (topicSpec?.deadLetter.enabled) graph.addDirectedEdge(subscription, addNode('dead-letter-topic', topicSpec.deadLetter.topic), { kind: 'dead-letters' });
    append(consumers, topic, { key: consumerKey, ...consumer });
  };

  for (const topic of pipeline.topics) {
    addNode('topic', topic.name);
    if (topic.deadLetter.enabled) addNode('dead-letter-topic', topic.deadLetter.topic);
  }
  for (const phase of pipeline.phases) addNode('phase', phase.name);

  const members = new Map<string, Set<string>>();
  for (const barrier of pipeline.barriers) members.set(barrier.name, new Set(barrier.members.map((m) => m.name)));

  for (const processor of pipeline.processors) {
    // A second processor of the same name is reported by graph/duplicate-name; it adds nothing here.
    if (graph.hasNode(nodeKey('processor', processor.name))) continue;
    const key = addNode('processor', processor.name);
    publish(key, processor.name, processor.publishes.name);
    if (processor.triggeredBy) {
      const target = processor.dependencyBarrier === undefined ? undefined : processor.name;
      // A processor with same-phase dependencies is started only by its own dependency trigger.
      const filter = target === undefined ? `NOT attributes:${TARGET_ATTRIBUTE}` : `attributes.${TARGET_ATTRIBUTE} = "${target}"`;
      subscribe(key, processor.name, processor.triggeredBy.name, { kind: 'flows', accepts: (p) => p.target === target }, filter);
    }
  }
  for (const processor of pipeline.processors) {
    for (const dep of processor.dependsOn) {
      const depKey = nodeKey('processor', dep.name);
      if (graph.hasNode(depKey)) graph.addDirectedEdge(nodeKey('processor', processor.name), depKey, { kind: 'depends-on' });
    }
  }
  for (const barrier of pipeline.barriers) {
    const key = addNode('barrier', barrier.name);
    const own = members.get(barrier.name) ?? new Set<string>();
    subscribe(key, barrier.name, barrier.listens.name, { kind: 'flows', accepts: (p) => own.has(p.name) });
    publish(key, barrier.name, barrier.publishes.name, barrier.target);
  }
  for (const coordinator of pipeline.coordinators) {
    const key = addNode('coordinator', coordinator.name);
    subscribe(key, coordinator.name, coordinator.listens.name, { kind: 'flows', accepts: () => true });
    subscribe(key, coordinator.name, coordinator.readyTopic.name, { kind: 'returns', accepts: () => true });
    publish(key, coordinator.name, coordinator.workTopic.name);
    if (coordinator.publishes) publish(key, coordinator.name, coordinator.publishes.name);
  }

  for (const [topic, list] of consumers) {
    for (const consumer of list) {
      for (const publisher of publishers.get(topic) ?? []) {
        if (!consumer.accepts(publisher) || publisher.key === consumer.key) continue;
        graph.addDirectedEdge(publisher.key, consumer.key, { kind: consumer.kind, topic, ...(publisher.target ? { target: publisher.target } : {}) });
      }
    }
  }
  return { pipeline, graph };
}
