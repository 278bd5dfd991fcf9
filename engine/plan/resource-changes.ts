import { deleteCommandFor, resourcesOf, type ResourceAddress } from '../../generators/plan-resources.ts';

/** What deploying the edited render does to the resources and files of the base render. */
export interface ResourceChanges {
  readonly added: readonly ResourceAddress[];
  readonly removed: readonly ResourceAddress[];
  /** Resources whose block differs in more than the pipeline hash. */
  readonly changed: readonly ResourceAddress[];
  /** Resources whose only difference is the pipeline hash label (every render stamps it). */
  readonly hashOnly: readonly ResourceAddress[];
  readonly files: {
    readonly added: readonly string[];
    readonly removed: readonly string[];
    readonly changed: readonly string[];
    readonly hashOnly: readonly string[];
  };
  /** gcloud commands that delete removed Pub/Sub resources a deploy.sh deploy leaves behind (#6). */
  readonly deletes: readonly string[];
}

/**
 * Compares two renders (`generateAll` of the base and of the edit), keeping changes that are only the
 * pipeline hash label apart from real ones: every generated file carries the hash (some inside base64
 * example bodies), so any edit — a comment included — changes them all. `relabeled` is the base
 * rendered with the edit's hash: what differs from it is a real change.
 */
export function compareRenders(
  before: ReadonlyMap<string, string>,
  relabeled: ReadonlyMap<string, string>,
  after: ReadonlyMap<string, string>,
  project: string,
): ResourceChanges {
  const old = resourcesOf(before);
  const next = resourcesOf(after);
  const sorted = (keys: string[], from: Map<string, { address: ResourceAddress }>): ResourceAddress[] =>
    keys.sort().map((key) => from.get(key)?.address ?? { type: '', name: key });
  const differing = [...next.keys()].filter((k) => old.has(k) && old.get(k)?.text !== next.get(k)?.text);
  const same = resourcesOf(relabeled);
  const hashOnly = new Set(differing.filter((k) => same.get(k)?.text === next.get(k)?.text));
  const removed = sorted(
    [...old.keys()].filter((k) => !next.has(k)),
    old,
  );
  const paths = (from: ReadonlyMap<string, string>, other: ReadonlyMap<string, string>): string[] => [...from.keys()].filter((p) => !other.has(p)).sort();
  const differingFiles = [...after.keys()].filter((p) => before.has(p) && before.get(p) !== after.get(p)).sort();
  const hashOnlyFiles = new Set(differingFiles.filter((p) => relabeled.get(p) === after.get(p)));
  return {
    added: sorted(
      [...next.keys()].filter((k) => !old.has(k)),
      next,
    ),
    removed,
    changed: sorted(
      differing.filter((k) => !hashOnly.has(k)),
      next,
    ),
    hashOnly: sorted([...hashOnly], next),
    files: {
      added: paths(after, before),
      removed: paths(before, after),
      changed: differingFiles.filter((p) => !hashOnlyFiles.has(p)),
      hashOnly: [...hashOnlyFiles],
    },
    deletes: removed.map((r) => deleteCommandFor(r, project)).filter((c): c is string => c !== undefined),
  };
}
