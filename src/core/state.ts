/**
 * The state store: everything stateful (rate-limit buckets, quotas, concurrency counters,
 * replay nonces, abuse counters, bans) sits behind this interface. Two implementations:
 * memory (default, bounded) and redis (shared by many gateway instances).
 * Every method is one atomic decision; the redis implementation makes it one round trip.
 */
export interface StateStore extends LimitStore {
  /** cluster: a worker's proxy to the primary's memory store (workers: N without Redis) */
  readonly kind: 'memory' | 'redis' | 'cluster';
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
  /**
   * Resolves true once the backend is reachable, or false after `timeoutMs` (startup: so that the
   * first requests do not take the outage path while a connection is still being made).
   * Absent: always ready.
   */
  whenReady?(timeoutMs: number): Promise<boolean>;
  close(): Promise<void>;
  /** Drops the connection at once (a stop past its deadline: close() is still waiting). */
  abort?(): void;
}

// --- rate-limit decisions (additive: used by src/stages/rate-limit) --------------------------

/**
 * One limit check of a request. `enforce: false` (monitor) checks never block the request and are
 * committed only when they pass. All checks of one call are decided together: when an enforced
 * check fails, nothing is consumed from any check (on Redis Cluster, checks of different `tag`s are
 * decided on their own masters and what one took is given back when another refuses).
 */
export type LimitCheck = LimitCheckKind & {
  /**
   * The identity the check counts (e.g. `ip=10.0.0.1`, `consumer=alice`): on Redis Cluster, checks
   * with one tag share a hash slot (one script decides them together); absent: the key's own slot.
   */
  readonly tag?: string | undefined;
};

export type LimitCheckKind =
  | {
      /** token bucket (GCRA form): refills one token every `intervalMs`, holds at most `burst` */
      readonly kind: 'bucket';
      readonly key: string;
      readonly intervalMs: number;
      readonly burst: number;
      readonly enforce: boolean;
    }
  | {
      /** fixed calendar window: `key` names the window, which ends at `resetAt` (ms since epoch) */
      readonly kind: 'quota';
      readonly key: string;
      readonly limit: number;
      readonly resetAt: number;
      readonly enforce: boolean;
    }
  | {
      /** requests in flight; a slot is held until release() or until `leaseMs` passed (crash safety) */
      readonly kind: 'concurrency';
      readonly key: string;
      readonly max: number;
      readonly leaseMs: number;
      readonly enforce: boolean;
    };

export interface CheckResult {
  readonly ok: boolean;
  /** units left after this request (0 when refused) */
  readonly remaining: number;
  /** ms until the limit is fully restored (bucket full, quota window over; 0 for concurrency) */
  readonly resetMs: number;
  /** when refused: ms until a retry could pass (concurrency: a hint) */
  readonly retryMs: number;
}

/** Concurrency slots taken by one decision; give it back with release(). */
export interface Lease {
  readonly id: string;
  readonly keys: readonly string[];
}

export interface LimitResult {
  /** every enforced check passed (and everything that passed was committed) */
  readonly allowed: boolean;
  /** one result per check, same order */
  readonly checks: readonly CheckResult[];
  /** slots taken when allowed and some concurrency check passed; null otherwise */
  readonly lease: Lease | null;
  /**
   * Redis Cluster with a master down: per check, true when its master could not be reached (its
   * result is a placeholder; the caller decides it by its `on_store_failure` policy). `allowed` then
   * covers the reachable checks only, and what they took is given back with giveBack() when the
   * caller refuses. Absent when every check was decided.
   */
  readonly unavailable?: readonly boolean[] | undefined;
}

/**
 * Rate-limit extension of the store. Every StateStore implements it.
 * `limitSync` exists only where the decision is local (memory), so the hot path avoids a promise.
 */
export interface LimitStore {
  /** Decides every check of one request atomically (one Redis round trip). Rejects when the backend is unreachable. */
  limit(checks: readonly LimitCheck[], now: number): Promise<LimitResult>;
  limitSync?(checks: readonly LimitCheck[], now: number): LimitResult;
  /** Gives concurrency slots back; never throws (a lost release expires after leaseMs). */
  release(lease: Lease): void;
  /**
   * Gives back what an allowed (partial) decision took: a token to each bucket, one to each quota,
   * the lease's slots. Used when a check the store could not reach refuses the request. Never throws.
   */
  giveBack?(checks: readonly LimitCheck[], result: LimitResult, now: number): Promise<void>;
}

/** Thrown (rejected) by store methods when the backend is unreachable or too slow. */
export class StoreUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StoreUnavailableError';
  }
}
