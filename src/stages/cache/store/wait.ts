/**
 * Waiting for another gateway's fill (request coalescing across instances, after `lock()`
 * returned null). Simple polling: Redis has no cheap "tell me when this key appears" for many
 * waiters (keyspace notifications are off by default and go to every subscriber).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { CacheStore, StoredResponse } from '../types.js';

export type FillWait =
  | { readonly kind: 'hit'; readonly entries: readonly StoredResponse[] }
  | { readonly kind: 'lock'; readonly release: () => Promise<void> }
  | { readonly kind: 'timeout' };

export interface FillWaitOptions {
  /** give up after this long (the stage then passes through); bound it by the lock's ttl */
  readonly timeoutMs: number;
  /** between polls (default 25 ms, ±20 % jitter so that waiters do not poll in step) */
  readonly pollMs?: number | undefined;
  /** ttl of the lock taken when the filler's lock is gone (default timeoutMs) */
  readonly lockTtlMs?: number | undefined;
  /** whether what `get` returned answers the request (default: any variant) */
  readonly ready?: ((entries: readonly StoredResponse[]) => boolean) | undefined;
}

/**
 * How an instance that lost `lock()` waits for another gateway's fill: every `pollMs` it reads
 * the entry (`hit` once `ready` accepts it), else tries the lock (`lock`: the filler finished
 * without storing, or died and its lock expired: this instance fills now), until `timeoutMs`
 * (`timeout`). Store errors reject (the stage treats them as a miss).
 */
export async function waitForFill(store: CacheStore, primary: string, opts: FillWaitOptions): Promise<FillWait> {
  const pollMs = opts.pollMs ?? 25;
  const ready = opts.ready ?? ((e: readonly StoredResponse[]) => e.length > 0);
  const deadline = Date.now() + opts.timeoutMs;
  for (;;) {
    const left = deadline - Date.now();
    if (left <= 0) return { kind: 'timeout' };
    await sleep(Math.min(left, pollMs * (0.8 + Math.random() * 0.4)));
    const entries = await store.get(primary);
    if (ready(entries)) return { kind: 'hit', entries };
    const release = await store.lock(primary, opts.lockTtlMs ?? opts.timeoutMs);
    if (release !== null) return { kind: 'lock', release };
  }
}
