import type { DeployModel, PushTarget } from './deploy-model.ts';
import { hclString, labelValue, tfId } from './escape.ts';
import { renderTemplateChunks, type BlockRenderers } from './render-template.ts';
import { alertPolicyResource, audienceOf, deadLetterSubscriberResource, serviceAccountResources, subscriptionResource, uriOf } from './terraform-blocks.ts';

/**
 * Terraform files (google provider) under `terraform/`, one template each, from the deploy model: each
 * path with its renderer, so a caller can write one file before rendering the next. Each file gets its
 * own view, whose large sections are built when its template first reads them: a file holds only what
 * it renders (at 30,000 processors the whole view is ~115 MB).
 */
export function terraformFiles(model: DeployModel): (readonly [string, () => Iterable<string>])[] {
  // Built once for the nine files, when the first one renders: its indexes of subscriptions and topics are
  // large hash tables at 30,000 processors (~2 MB each time), garbage only a full collection reclaims.
  let blocks: BlockRenderers | undefined;
  return ['main', 'variables', 'prerequisites', 'pubsub', 'iam', 'compute', 'firestore', 'monitoring', 'outputs'].map(
    (name) => [`terraform/${name}.tf`, () => renderTemplateChunks(`tf-${name}`, terraformView(model), (blocks ??= terraformBlocks(model)))] as const,
  );
}

function terraformBlocks(model: DeployModel): BlockRenderers {
  const topicTfIds = new Map(model.topics.map((t) => [t.name, t.tfId]));
  const subscriptionTfIds = new Map(model.subscriptions.map((s) => [s.name, s.tfId]));
  return {
    subscription: subscriptionResource,
    serviceAccount: serviceAccountResources(model, topicTfIds, subscriptionTfIds),
    deadLetterSubscriber: deadLetterSubscriberResource,
    alert: alertPolicyResource,
  };
}

/** `view` with each of `sections` a property built on first read and kept for the rest of the render. */
function withLazySections(view: object, sections: Record<string, () => unknown>): object {
  for (const [name, build] of Object.entries(sections)) {
    let value: unknown;
    let built = false;
    Object.defineProperty(view, name, {
      enumerable: true,
      get: () => {
        if (!built) [value, built] = [build(), true];
        return value;
      },
    });
  }
  return view;
}

const accountTf = (accountId: string): string => tfId(accountId);

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

/** Map entries with their keys padded the way `terraform fmt` aligns them. */
function aligned<T>(entries: readonly T[], key: (entry: T) => string): (T & { readonly key: string; readonly pad: string })[] {
  const keys = entries.map((e) => hclString(key(e)));
  const width = keys.reduce((widest, k) => Math.max(widest, k.length), 0);
  return entries.map((e, i) => {
    const quoted = keys[i] ?? '';
    return { ...e, key: quoted, pad: ' '.repeat(width - quoted.length) };
  });
}

function terraformView(model: DeployModel): object {
  const kmsKeys = [...new Set(model.topics.flatMap((t) => (t.kmsKey === undefined ? [] : [t.kmsKey])))].sort();
  const kmsTf = (key: string): string => tfId(`kms-${key.split('/').slice(-3).join('-')}-${kmsKeys.indexOf(key)}`);
  const emailsOf = (invokers: readonly string[]): string => `join(",", [${invokers.map((i) => `google_service_account.${accountTf(i)}.email`).join(', ')}])`;
  const tickView = (tick: DeployModel['barriers'][number]['tick'], description: string): object => ({
    ...tick,
    invokerTfId: accountTf(tick.invoker),
    uri: uriOf(tick.target),
    audience: audienceOf(tick.target.name),
    // Cloud Scheduler takes at most 500 characters.
    description: description.slice(0, 500),
  });
  return withLazySections(
    {
      ...model,
      projectDescription: `Google Cloud project to deploy pipeline ${model.name} into.`,
      apis: model.prerequisites.apis.map((api) => ({ name: api, tfId: tfId(api.split('.')[0] ?? api) })),
      kmsGrants: kmsKeys.map((key) => ({ key, tfId: kmsTf(key) })),
    },
    {
      topics: () =>
        model.topics.map((t) => ({
          ...t,
          kmsKey: t.kmsKey ?? '',
          kmsGrantTfId: t.kmsKey === undefined ? '' : kmsTf(t.kmsKey),
          deadLetter: t.deadLetter && { ...t.deadLetter, agentTfId: tfId(`agent-${t.deadLetter.name}`) },
        })),
      invokers: () =>
        model.invokers.map((i) => ({
          ...i,
          displayName: `Baton push identity ${i.accountId}`,
          tokenCreatorTfId: tfId(`agent-token-${i.accountId}`),
          targets: i.targets.map((t) => ({ ...t, bindingTfId: tfId(`invoke-${i.accountId}-${t.kind}-${t.name}`), serviceRef: serviceOf(t) })),
        })),
      barriers: () =>
        model.barriers.map((b) => ({
          ...b,
          componentLabel: labelValue(b.name),
          serviceAccountTfId: accountTf(b.serviceAccount),
          tick: tickView(b.tick, `Ticks barrier ${b.name} (${b.rule}): ${b.tick.purpose}, without waiting for traffic.`),
          environment: alignedAssignments([
            ...Object.entries(b.environment).map(([name, value]): [string, string] => [name, hclString(value)]),
            ['BATON_OIDC_AUDIENCE', audienceOf(b.oidc.service)],
            ['BATON_OIDC_EMAIL', emailsOf(b.oidc.invokers)],
          ]),
        })),
      coordinators: () =>
        model.coordinators.map((c) => ({
          ...c,
          componentLabel: labelValue(c.name),
          serviceAccountTfId: accountTf(c.serviceAccount),
          tick: tickView(c.tick, `Ticks coordinator ${c.name} (${c.rule}): ${c.tick.purpose}, without waiting for traffic.`),
          environment: [
            ...Object.entries(c.environment).map(([name, value]) => ({ name: hclString(name), value: hclString(value) })),
            { name: hclString('BATON_OIDC_AUDIENCE'), value: audienceOf(c.oidc.service) },
            { name: hclString('BATON_OIDC_EMAIL'), value: emailsOf(c.oidc.invokers) },
          ],
        })),
      outputs: () => ({
        topics: aligned(model.topics, (t) => t.name),
        deadLetters: aligned(
          model.topics.filter((t) => t.deadLetter),
          (t) => t.name,
        ),
        serviceAccounts: aligned(model.serviceAccounts, (a) => a.component),
        barriers: aligned(model.barriers, (b) => b.name),
        coordinators: aligned(model.coordinators, (c) => c.name),
      }),
      state: () => ({ ...model.state, collections: model.state.collections.map((c) => ({ ...c, tfId: tfId(`ttl-${c.group}`) })) }),
    },
  );
}

/** `name = value` lines with the `=` aligned, as `terraform fmt` writes a map. */
function alignedAssignments(entries: readonly (readonly [string, string])[]): string[] {
  const width = Math.max(...entries.map(([name]) => name.length));
  return entries.map(([name, value]) => `${name.padEnd(width)} = ${value}`);
}
