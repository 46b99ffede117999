/**
 * The state store: everything stateful (rate-limit buckets, quotas, concurrency counters,
 * replay nonces, abuse counters, bans) sits behind this interface. Two implementations:
 * memory (default, bounded) and redis (shared by many gateway instances).
 * Every method is one atomic decision; the redis implementation makes it one round trip.
 */
export interface StateStore {
  readonly kind: 'memory' | 'redis';
  /**
   * Replay protection: returns true the first time `key` is seen within `ttlMs`, false after.
   * Marks the key atomically.
   */
  once(key: string, ttlMs: number): Promise<boolean>;
  /** Adds `by` to a counter that expires `ttlMs` after its first increment; returns the new value. */
  incr(key: string, ttlMs: number, by?: number): Promise<number>;
  /** A value with an expiry (bans). */
  set(key: string, value: string, ttlMs: number): Promise<void>;
  get(key: string): Promise<string | null>;
  del(key: string): Promise<void>;
  /** Keys with a prefix (admin listing of bans); bounded by `max`. */
  scan(prefix: string, max: number): Promise<{ key: string; value: string; ttlMs: number }[]>;
  /** Whether the backend is reachable now (memory: always). */
  healthy(): boolean;
  close(): Promise<void>;
}
