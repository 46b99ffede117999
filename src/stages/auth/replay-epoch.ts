/**
 * Replay protection that forgets on restart. The memory state store (and a worker's proxy to the
 * cluster primary's memory store) loses every seen jti and signature nonce when the process
 * stops, so a credential accepted just before a restart could be accepted again after it, for as
 * long as its time window (token lifetime, signature skew) lasts. Replay-checked credentials
 * created before the store began are therefore refused: the store's epoch is the time this
 * process first used it (at the first snapshot's compilation, before any listener accepts).
 * Redis survives gateway restarts: no epoch.
 */
import type { StateStore } from '../../core/state.js';

const epochs = new WeakMap<StateStore, number>();

/**
 * The earliest creation time (ms since epoch) a replay-checked credential may carry with this
 * store, or null when the store is persistent (redis). The first call for a store fixes it.
 */
export function replayEpoch(store: StateStore, now: number): number | null {
  if (store.kind === 'redis') return null;
  let t = epochs.get(store);
  if (t === undefined) {
    t = now;
    epochs.set(store, t);
  }
  return t;
}

/**
 * Whether a credential created at `createdS` (whole seconds, as `iat` and `created` are) predates
 * the epoch. No clock-skew allowance applies: a credential of the second before the epoch may have
 * been seen by the previous process; so may one stamped with the epoch's own second but made
 * before it, which is why the comparison is against the exact epoch (a client retries with a new
 * credential at worst one second after start).
 */
export function predatesEpoch(createdS: number, epochMs: number | null): boolean {
  return epochMs !== null && createdS * 1000 < epochMs;
}
