/** One Terraform resource address, e.g. `google_pubsub_subscription.a--b`. */
export interface ResourceAddress {
  readonly type: string;
  readonly name: string;
  /** The cloud resource's own name (its `name` argument), when the block sets one. */
  readonly resourceName?: string;
}

/** What applying a new render would do to the resources of the previous one. */
export interface ResourcePlan {
  readonly added: readonly ResourceAddress[];
  readonly removed: readonly ResourceAddress[];
  /** Resources in both renders whose block text differs. */
  readonly changed: readonly ResourceAddress[];
}

const BLOCK = /^resource "([^"]+)" "([^"]+)" \{$/;

/** Every `resource` block of a set of `.tf` files, by address, with its text. */
export function resourcesOf(files: ReadonlyMap<string, string>): Map<string, { address: ResourceAddress; text: string }> {
  const resources = new Map<string, { address: ResourceAddress; text: string }>();
  for (const [path, content] of files) {
    if (!path.endsWith('.tf')) continue;
    const lines = content.split('\n');
    for (let i = 0; i < lines.length; i++) {
      const match = BLOCK.exec(lines[i] ?? '');
      if (!match) continue;
      // Generated blocks close with a `}` in column one.
      let end = i + 1;
      while (end < lines.length && lines[end] !== '}') end++;
      const text = lines.slice(i, end + 1).join('\n');
      const named = /^ {2}name\s*=\s*"([^"]+)"$/m.exec(text)?.[1];
      const address = { type: match[1] ?? '', name: match[2] ?? '', ...(named === undefined ? {} : { resourceName: named }) };
      resources.set(`${address.type}.${address.name}`, { address, text });
    }
  }
  return resources;
}

/**
 * Compares two renders of the Terraform: which resources a new pipeline.yaml adds, removes and
 * changes. Removed ones are what a hand-run deploy would leave behind as orphans (#6).
 */
export function planResources(before: ReadonlyMap<string, string>, after: ReadonlyMap<string, string>): ResourcePlan {
  const old = resourcesOf(before);
  const next = resourcesOf(after);
  const sorted = (keys: string[], from: Map<string, { address: ResourceAddress }>): ResourceAddress[] =>
    keys.sort().map((key) => from.get(key)?.address ?? { type: '', name: key });
  return {
    added: sorted(
      [...next.keys()].filter((k) => !old.has(k)),
      next,
    ),
    removed: sorted(
      [...old.keys()].filter((k) => !next.has(k)),
      old,
    ),
    changed: sorted(
      [...next.keys()].filter((k) => old.has(k) && old.get(k)?.text !== next.get(k)?.text),
      next,
    ),
  };
}

/** The gcloud command that deletes a removed resource by hand, for the Pub/Sub resources deploy.sh creates. */
export function deleteCommandFor(resource: ResourceAddress, project: string): string | undefined {
  const name = resource.resourceName ?? resource.name;
  if (resource.type === 'google_pubsub_subscription') return `gcloud pubsub subscriptions delete ${name} --project ${project}`;
  if (resource.type === 'google_pubsub_topic') return `gcloud pubsub topics delete ${name} --project ${project}`;
  return undefined;
}
