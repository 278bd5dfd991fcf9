import { ABSENCE_WINDOW_PLACEHOLDER, DEFAULT_COMPLETION_ABSENCE_WINDOW } from './alerts.ts';
import type { DeployModel, PushTarget } from './deploy-model.ts';
import { labelValue, tfId } from './escape.ts';
import { renderTemplate } from './render-template.ts';

/** Terraform files (google provider) under `terraform/`, one template each, from the deploy model. */
export function generateTerraform(model: DeployModel): Map<string, string> {
  const view = terraformView(model);
  const files = new Map<string, string>();
  for (const name of ['main', 'variables', 'pubsub', 'iam', 'compute', 'firestore', 'monitoring', 'outputs']) {
    files.set(`terraform/${name}.tf`, renderTemplate(`tf-${name}`, view));
  }
  return files;
}

const accountTf = (accountId: string): string => tfId(accountId);

/** HCL expression of a push target's URL. */
function uriOf(target: PushTarget): string {
  switch (target.kind) {
    case 'service':
      return `data.google_cloud_run_v2_service.${target.tfId}.uri`;
    case 'function':
      return `google_cloudfunctions2_function.${target.tfId}.service_config[0].uri`;
    case 'coordinator':
      return `google_cloud_run_v2_service.${target.tfId}.uri`;
  }
}

/** HCL expression of the Cloud Run service a push target runs on (a gen2 function's service shares its name). */
function serviceOf(target: PushTarget): string {
  switch (target.kind) {
    case 'service':
      return `data.google_cloud_run_v2_service.${target.tfId}.name`;
    case 'function':
      return `google_cloudfunctions2_function.${target.tfId}.name`;
    case 'coordinator':
      return `google_cloud_run_v2_service.${target.tfId}.name`;
  }
}

function terraformView(model: DeployModel): object {
  const topicTf = new Map(model.topics.map((t) => [t.name, t.tfId]));
  const subscriptionTf = new Map(model.subscriptions.map((s) => [s.name, s.tfId]));
  return {
    ...model,
    projectDescription: `Google Cloud project to deploy pipeline ${model.name} into.`,
    topics: model.topics.map((t) => ({ ...t, deadLetter: t.deadLetter && { ...t.deadLetter, agentTfId: tfId(`agent-${t.deadLetter.name}`) } })),
    subscriptions: model.subscriptions.map((s) => ({
      ...s,
      filter: s.filter ?? '',
      consumerLabel: labelValue(s.consumer),
      pushUri: s.push ? uriOf(s.push.target) : '',
      invokerTfId: s.push ? accountTf(s.push.invoker) : '',
      agentTfId: tfId(`agent-${s.name}`),
    })),
    serviceAccounts: model.serviceAccounts.map((a) => ({
      ...a,
      displayName: `Baton ${a.kind} ${a.component}`.slice(0, 100),
      accountDescription: (a.description || `Runs ${a.kind} ${a.component} of pipeline ${model.name}.`).slice(0, 256),
      publishes: a.publishes.map((topic) => ({ tfId: tfId(`pub-${a.accountId}-${topic}`), topicTfId: topicTf.get(topic) ?? tfId(topic) })),
      pulls: a.pulls.map((sub) => ({ tfId: tfId(`pull-${a.accountId}-${sub}`), subscriptionTfId: subscriptionTf.get(sub) ?? tfId(sub) })),
      stateTfId: tfId(`state-${a.accountId}`),
    })),
    invokers: model.invokers.map((i) => ({
      ...i,
      displayName: `Baton push identity ${i.accountId}`,
      tokenCreatorTfId: tfId(`agent-token-${i.accountId}`),
      targets: i.targets.map((t) => ({ ...t, bindingTfId: tfId(`invoke-${i.accountId}-${t.kind}-${t.name}`), serviceRef: serviceOf(t) })),
    })),
    barriers: model.barriers.map((b) => ({
      ...b,
      componentLabel: labelValue(b.name),
      serviceAccountTfId: accountTf(b.serviceAccount),
      tickDescription: `Evaluates the deadlines of barrier ${b.name} (${b.rule}) without waiting for traffic.`,
      tick: b.tick && { ...b.tick, invokerTfId: accountTf(b.tick.invoker) },
    })),
    coordinators: model.coordinators.map((c) => ({ ...c, componentLabel: labelValue(c.name), serviceAccountTfId: accountTf(c.serviceAccount) })),
    state: { ...model.state, collections: model.state.collections.map((c) => ({ ...c, tfId: tfId(`ttl-${c.group}`) })) },
    completionAbsenceWindow: DEFAULT_COMPLETION_ABSENCE_WINDOW,
    alerts: model.alerts.map((a) => {
      // The window is spliced in as `var.completion_absence_window`; the rest stays an escaped literal.
      const [queryBefore = '', queryAfter = ''] = a.query.split(ABSENCE_WINDOW_PLACEHOLDER);
      return { ...a, logMatch: a.kind === 'deadline-missed', absence: a.kind === 'no-final-output', queryBefore, queryAfter };
    }),
  };
}
