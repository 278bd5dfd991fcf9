// Data flow: DeployModel (what Terraform and deploy.sh grant) → IamPolicy → check(identity, call) → allowed | denied naming the missing binding.
import type { DeployModel, PushTarget } from '../../generators/deploy-model.ts';

/** A call a deployed component (or an invoker account) makes, in the terms IAM decides on. */
export type GuardedCall =
  | { readonly kind: 'publish'; readonly topic: string }
  | { readonly kind: 'consume'; readonly subscription: string; readonly rpc: string }
  | { readonly kind: 'firestore'; readonly rpc: string }
  | { readonly kind: 'invoke'; readonly target: PushTarget }
  /** Any other Pub/Sub RPC (create/get/delete a topic or subscription, …): no component role grants it. */
  | { readonly kind: 'other'; readonly rpc: string; readonly resource: string | undefined };

/** IAM's answer; a denial names the binding that would have allowed the call. */
export type IamDecision = { readonly allowed: true } | { readonly allowed: false; readonly missing: string };

/**
 * The IAM bindings the manifests render, as a decision function. Roles are taken at their documented
 * permissions: `roles/pubsub.publisher` is `pubsub.topics.publish` only (no `topics.get`, no
 * `topics.create`); `roles/pubsub.subscriber` is `subscriptions.consume` (pull, streaming pull, ack,
 * modify ack deadline) on one subscription; `roles/datastore.user` is every document read and write
 * in the database; `roles/run.invoker` is calling one service. Nothing else is granted to a
 * component, so any other call is denied — as it would be in a real project.
 */
export class IamPolicy {
  private readonly publishes = new Map<string, Set<string>>();
  private readonly pulls = new Map<string, Set<string>>();
  private readonly stateful = new Set<string>();
  private readonly invokes = new Map<string, Set<string>>();

  constructor(model: Pick<DeployModel, 'serviceAccounts' | 'invokers'>) {
    for (const account of model.serviceAccounts) {
      this.publishes.set(account.accountId, new Set([...account.publishes, ...account.deadLetterPublishes]));
      this.pulls.set(account.accountId, new Set(account.pulls));
      if (account.stateful) this.stateful.add(account.accountId);
    }
    for (const invoker of model.invokers) this.invokes.set(invoker.accountId, new Set(invoker.targets.map(targetKey)));
  }

  /** Whether the service account `identity` may make `call`. */
  check(identity: string, call: GuardedCall): IamDecision {
    const member = `serviceAccount:${identity}`;
    switch (call.kind) {
      case 'publish':
        return this.publishes.get(identity)?.has(call.topic)
          ? ALLOWED
          : { allowed: false, missing: `roles/pubsub.publisher on topic ${call.topic} for ${member}` };
      case 'consume':
        return this.pulls.get(identity)?.has(call.subscription)
          ? ALLOWED
          : { allowed: false, missing: `roles/pubsub.subscriber on subscription ${call.subscription} for ${member} (${call.rpc})` };
      case 'firestore':
        return this.stateful.has(identity) ? ALLOWED : { allowed: false, missing: `roles/datastore.user for ${member} (${call.rpc})` };
      case 'invoke':
        return this.invokes.get(identity)?.has(targetKey(call.target))
          ? ALLOWED
          : { allowed: false, missing: `roles/run.invoker on ${call.target.kind} ${call.target.name} for ${member}` };
      case 'other':
        return {
          allowed: false,
          missing: `a role granting ${call.rpc}${call.resource === undefined ? '' : ` on ${call.resource}`} to ${member} (components hold only publisher, subscriber, datastore.user and run.invoker)`,
        };
    }
  }
}

const ALLOWED: IamDecision = { allowed: true };

function targetKey(target: PushTarget): string {
  return `${target.kind}:${target.name}`;
}
