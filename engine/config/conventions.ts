/**
 * Names every part of Baton must agree on: the graph that plans subscriptions, the runtime that
 * publishes, the adapters that filter and the generated manifests.
 */

/** Message attribute that addresses a dependency trigger to one processor (Pub/Sub filters on it). */
export const TARGET_ATTRIBUTE = 'baton_target';
