/**
 * Where barrier and coordinator state lives in Firestore, and the TTL field that expires it. The
 * generated TTL policies and docs/barriers.md are rendered from this one description; the Firestore
 * state store must write exactly this layout.
 */
export interface StateLayout {
  /** Field holding each document's expiry time; Firestore TTL deletes the document after it. */
  readonly ttlField: string;
  /** Days a key's state is kept after its last write. */
  readonly retentionDays: number;
  readonly collections: readonly { readonly group: string; readonly path: string; readonly holds: string }[];
}

/** The one state layout (per-member documents, no shared hot document; see DESIGN.md). */
export const STATE_LAYOUT: StateLayout = {
  ttlField: 'expire_at',
  retentionDays: 30,
  collections: [
    {
      group: 'baton_keys',
      path: 'baton_barriers/{barrier}/baton_keys/{key}',
      holds: 'the expected member set, fixed at the first completion, and the generation',
    },
    {
      group: 'baton_members',
      path: 'baton_barriers/{barrier}/baton_keys/{key}/baton_members/{member}',
      holds: 'one document per completed member, created with a must-not-exist precondition',
    },
    {
      group: 'baton_triggers',
      path: 'baton_barriers/{barrier}/baton_keys/{key}/baton_triggers/{generation}',
      holds: 'the fire decision (created once; must-not-exist) and whether it was published',
    },
    { group: 'baton_batches', path: 'baton_coordinators/{coordinator}/baton_batches/{key}', holds: 'a coordinator batch: expected entities and progress' },
  ],
};
