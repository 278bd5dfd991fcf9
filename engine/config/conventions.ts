/**
 * Names every part of Baton must agree on: the graph that plans subscriptions, the runtime that
 * publishes, the adapters that filter and the generated manifests.
 */

/** Message attribute that addresses a dependency trigger to one processor (Pub/Sub filters on it). */
export const TARGET_ATTRIBUTE = 'baton_target';

/** Message attribute carrying Baton's deterministic message id (Pub/Sub assigns its own `messageId`); equal to `ce-id`. */
export const BATON_ID_ATTRIBUTE = 'baton_id';
