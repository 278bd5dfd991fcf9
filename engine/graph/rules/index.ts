import type { GraphRule } from '../graph-rule.ts';
import { barrierInputNoPublisher } from './barrier-input-no-publisher.ts';
import { componentTopicNoSubscriber } from './component-topic-no-subscriber.ts';
import { coordinatorWithoutCompletionTopic } from './coordinator-without-completion-topic.ts';
import { cycle } from './cycle.ts';
import { deadlineTiersOrder } from './deadline-tiers-order.ts';
import { dependencyNotGuaranteed } from './dependency-not-guaranteed.ts';
import { dependencyNotUpstream } from './dependency-not-upstream.ts';
import { dlqDisabledWithoutReason } from './dlq-disabled-without-reason.ts';
import { duplicateName } from './duplicate-name.ts';
import { modeCaseDuplicated } from './mode-case-duplicated.ts';
import { modeCasesUncovered } from './mode-cases-uncovered.ts';
import { modesNeedDateKey } from './modes-need-date-key.ts';
import { phaseTrigger } from './phase-trigger.ts';
import { pushWithoutInvoker } from './push-without-invoker.ts';
import { renamedFrom } from './renamed-from.ts';
import { subscriptionSettings } from './subscription-settings.ts';
import { thresholdUnreachable } from './threshold-unreachable.ts';
import { topicNoPublisher } from './topic-no-publisher.ts';
import { topicNoSubscriber } from './topic-no-subscriber.ts';
import { unknownEntityType } from './unknown-entity-type.ts';
import { unknownPhase } from './unknown-phase.ts';
import { unknownProcessor } from './unknown-processor.ts';
import { unknownTopic } from './unknown-topic.ts';
import { unreachablePhase } from './unreachable-phase.ts';

/** Every graph rule, in the order their findings are most useful. */
export const GRAPH_RULES: readonly GraphRule[] = [
  duplicateName,
  unknownTopic,
  unknownProcessor,
  unknownPhase,
  unknownEntityType,
  phaseTrigger,
  cycle,
  topicNoPublisher,
  componentTopicNoSubscriber,
  topicNoSubscriber,
  barrierInputNoPublisher,
  thresholdUnreachable,
  modesNeedDateKey,
  modeCasesUncovered,
  modeCaseDuplicated,
  dependencyNotUpstream,
  dependencyNotGuaranteed,
  deadlineTiersOrder,
  unreachablePhase,
  pushWithoutInvoker,
  dlqDisabledWithoutReason,
  coordinatorWithoutCompletionTopic,
  subscriptionSettings,
  renamedFrom,
];
