/**
 * The in-process state store (default). Bounded: each kind of state lives in its own LRU with
 * per-key expiry and at most `maxEntries` keys, so that a client rotating IPs or keys cannot grow
 * it without limit; the least recently used key goes first.
 *
 * Kinds are kept apart so that a flood of one cannot evict another: rate-limit state (which any
 * client can create by rotating its IP) never pushes out replay nonces (`once`, created only after
 * authentication) or counters and bans (`incr`/`set`). Evicting a rate-limit key resets that key's
 * bucket (it starts full again), which is why the cap should stay well above the number of active
 * clients.
 *
 * Concurrency counters live in a map that holds a key only while requests are in flight (bounded
 * by the same cap); when it is full, new keys are refused rather than unlimited.
 */
import { steadyNow } from '../core/clock.js';
import { randomBytes } from 'node:crypto';
import type { CheckResult, LimitCheck, LimitResult, Lease, StateStore } from '../core/state.js';
import { decideChecks } from './decide.js';
import { ExpiringLru, NumberLru } from './lru.js';

/**
 * 53-bit hash of a string with a seed (the cyrb53 construction). Rate-limit keys are held by their
 * hash: a long key costs no memory, and no key string outlives its request (a flood of distinct
 * IPs leaves little garbage). With a random seed per store, two live keys share a counter with a
 * probability of about n^2 / 2^54 (1e-6 for 100,000 keys), which an outsider cannot steer.
 */
export function hash53(str: string, seed: number): number {
  let h1 = 0xdeadbeef ^ seed;
  let h2 = 0x41c6ce57 ^ seed;
  for (let i = 0; i < str.length; i++) {
    const ch = str.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507);
  h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507);
  h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}

export interface MemoryStoreOptions {
  /** most keys kept per kind (LRU beyond): rate-limit state, nonces, counters and values; also the most concurrency keys in flight */
  readonly maxEntries: number;
  /** wall clock for once/incr/set/get (limit decisions take `now` as an argument) */
  readonly clock?: () => number;
}

export class MemoryStore implements StateStore {
  readonly kind = 'memory' as const;
  readonly maxEntries: number;
  /** token buckets and quota counters, by hash53 of their key */
  private readonly limits: NumberLru;
  private readonly seed = randomBytes(4).readInt32LE(0);
  /** once() markers */
  private readonly nonces: ExpiringLru;
  /** incr() counters and set() values */
  private readonly values: ExpiringLru;
  private readonly inFlight = new Map<string, number>();
  private readonly clock: () => number;
  private closed = false;

  constructor(opts: MemoryStoreOptions) {
    if (!Number.isInteger(opts.maxEntries) || opts.maxEntries < 1) throw new RangeError('maxEntries must be a positive integer');
    this.maxEntries = opts.maxEntries;
    this.clock = opts.clock ?? steadyNow; // key lifetimes are durations: not moved by a step of the system clock
    this.limits = new NumberLru(opts.maxEntries);
    this.nonces = new ExpiringLru(opts.maxEntries);
    this.values = new ExpiringLru(opts.maxEntries);
  }

  /** Keys held, all kinds (expired keys count until touched or swept). */
  get size(): number {
    return this.limits.size + this.nonces.size + this.values.size;
  }

  /** Rate-limit keys held (buckets and quotas). */
  get limitKeys(): number {
    return this.limits.size;
  }

  /** Keys with requests in flight. */
  get inFlightKeys(): number {
    return this.inFlight.size;
  }

  limitSync(checks: readonly LimitCheck[], now: number): LimitResult {
    if (this.closed) throw new Error('store closed');
    const states = new Array<number | undefined>(checks.length);
    const hashes = new Array<number>(checks.length);
    for (let i = 0; i < checks.length; i++) {
      const c = checks[i]!;
      if (c.kind === 'concurrency') {
        const n = this.inFlight.get(c.key);
        // a full in-flight table refuses new keys instead of forgetting old ones (fail closed)
        states[i] = n === undefined && this.inFlight.size >= this.maxEntries ? c.max : n;
      } else {
        const h = (hashes[i] = hash53(c.key, this.seed));
        states[i] = this.limits.get(h, now);
      }
    }
    const d = decideChecks(checks, states, now);
    if (!d.allowed) return { allowed: false, checks: d.checks, lease: null };
    let leaseKeys: string[] | null = null;
    for (let i = 0; i < checks.length; i++) {
      const n = d.next[i]!;
      if (Number.isNaN(n)) continue;
      const c = checks[i]!;
      if (c.kind === 'bucket') this.limits.put(hashes[i]!, n, n, now);
      else if (c.kind === 'quota') this.limits.put(hashes[i]!, n, c.resetAt, now);
      else {
        this.inFlight.set(c.key, n);
        (leaseKeys ??= []).push(c.key);
      }
    }
    return { allowed: true, checks: d.checks as readonly CheckResult[], lease: leaseKeys ? { id: '', keys: leaseKeys } : null };
  }

  limit(checks: readonly LimitCheck[], now: number): Promise<LimitResult> {
    try {
      return Promise.resolve(this.limitSync(checks, now));
    } catch (e) {
      return Promise.reject(e as Error);
    }
  }

  release(lease: Lease): void {
    for (const k of lease.keys) {
      const n = this.inFlight.get(k);
      if (n === undefined) continue;
      if (n <= 1) this.inFlight.delete(k);
      else this.inFlight.set(k, n - 1);
    }
  }

  onceSync(key: string, ttlMs: number): boolean {
    const now = this.clock();
    if (this.nonces.live(key, now) !== undefined) return false;
    this.nonces.put(key, 1, now + ttlMs, now);
    return true;
  }

  incrSync(key: string, ttlMs: number, by = 1): number {
    const now = this.clock();
    const e = this.values.live(key, now);
    const v = e === undefined ? by : Number(e.v) + by;
    this.values.put(key, v, e === undefined ? now + ttlMs : e.exp, now);
    return v;
  }

  setSync(key: string, value: string, ttlMs: number): void {
    const now = this.clock();
    this.values.put(key, value, now + ttlMs, now);
  }

  getSync(key: string): string | null {
    const now = this.clock();
    const e = this.values.live(key, now) ?? this.nonces.live(key, now);
    return e === undefined ? null : String(e.v);
  }

  delSync(key: string): void {
    this.values.delete(key);
    this.nonces.delete(key);
  }

  scanSync(prefix: string, max: number): { key: string; value: string; ttlMs: number }[] {
    const now = this.clock();
    const out: { key: string; value: string; ttlMs: number }[] = [];
    this.values.scan(prefix, max, now, out);
    this.nonces.scan(prefix, max, now, out);
    return out;
  }

  once(key: string, ttlMs: number): Promise<boolean> {
    return Promise.resolve(this.onceSync(key, ttlMs));
  }

  incr(key: string, ttlMs: number, by = 1): Promise<number> {
    return Promise.resolve(this.incrSync(key, ttlMs, by));
  }

  set(key: string, value: string, ttlMs: number): Promise<void> {
    this.setSync(key, value, ttlMs);
    return Promise.resolve();
  }

  get(key: string): Promise<string | null> {
    return Promise.resolve(this.getSync(key));
  }

  del(key: string): Promise<void> {
    this.delSync(key);
    return Promise.resolve();
  }

  scan(prefix: string, max: number): Promise<{ key: string; value: string; ttlMs: number }[]> {
    return Promise.resolve(this.scanSync(prefix, max));
  }

  healthy(): boolean {
    return !this.closed;
  }

  close(): Promise<void> {
    this.closed = true;
    this.limits.clear();
    this.nonces.clear();
    this.values.clear();
    this.inFlight.clear();
    return Promise.resolve();
  }
}
