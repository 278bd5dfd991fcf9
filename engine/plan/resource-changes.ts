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
 * Compares two renders, keeping changes that are only the pipeline hash label apart from real ones:
 * every generated file carries the hash, so any edit — a comment included — changes them all.
 * `relabeled` is the base rendered with the edit's hash (`hashes.after`), so whatever differs from it
 * is a real change; what does not differ but carries the hash changed only in its label (the base
 * render had `hashes.before` there). One render of the base instead of two: at tens of thousands of
 * processors a render takes seconds.
 */
export function compareRenders(
  relabeled: ReadonlyMap<string, string>,
  after: ReadonlyMap<string, string>,
  hashes: { readonly before: string; readonly after: string },
  project: string,
): ResourceChanges {
  const labelled = (text: string | undefined): boolean => hashes.before !== hashes.after && text !== undefined && text.includes(hashes.after);
  const old = resourcesOf(relabeled);
  const next = resourcesOf(after);
  const sorted = (keys: string[], from: Map<string, { address: ResourceAddress }>): ResourceAddress[] =>
    keys.sort().map((key) => from.get(key)?.address ?? { type: '', name: key });
  const common = [...next.keys()].filter((k) => old.has(k));
  const removed = sorted(
    [...old.keys()].filter((k) => !next.has(k)),
    old,
  );
  const paths = (from: ReadonlyMap<string, string>, other: ReadonlyMap<string, string>): string[] => [...from.keys()].filter((p) => !other.has(p)).sort();
  const commonFiles = [...after.keys()].filter((p) => relabeled.has(p)).sort();
  return {
    added: sorted(
      [...next.keys()].filter((k) => !old.has(k)),
      next,
    ),
    removed,
    changed: sorted(
      common.filter((k) => old.get(k)?.text !== next.get(k)?.text),
      next,
    ),
    hashOnly: sorted(
      common.filter((k) => old.get(k)?.text === next.get(k)?.text && labelled(next.get(k)?.text)),
      next,
    ),
    files: {
      added: paths(after, relabeled),
      removed: paths(relabeled, after),
      changed: commonFiles.filter((p) => relabeled.get(p) !== after.get(p)),
      hashOnly: commonFiles.filter((p) => relabeled.get(p) === after.get(p) && labelled(after.get(p))),
    },
    deletes: removed.map((r) => deleteCommandFor(r, project)).filter((c): c is string => c !== undefined),
  };
}
