// Data flow: Clock.now() → barrier deadlines, coordinator stall checks, bus ack deadlines and backoff.

/**
 * The only source of time for the runtime and the adapters, so tests can drive deadlines with a fake.
 *
 * Invariants:
 * - `now()` returns epoch milliseconds and never goes backwards for one clock.
 * - Nothing in the runtime reads `Date.now()` directly; a deadline that must fire without traffic is
 *   evaluated by a tick that calls `now()`, never by a timer inside the barrier.
 */
export interface Clock {
  /** Current time in epoch milliseconds. */
  now(): number;
}
