/**
 * The local over-limit cache (one per process, in front of a shared store: Redis or the `workers`
 * primary). A request refused by the store with a `retry_ms` is remembered under its limit keys
 * (the fingerprint of its checks); until that time the same request is refused here, with the
 * RateLimit headers of the refusal aged by the time passed, without asking the store. It only ever
 * refuses, so it never admits more than the shared limit; it may refuse a little longer than the
 * store would when another instance gives tokens back early (all-or-nothing on Redis Cluster).
 *
 * When the time is up, one request (the probe) asks the store while the others of the same
 * fingerprint wait for its answer: refused, they are answered from the new entry; admitted with the
 * last token, they go on one after the other until one is refused again; admitted with tokens
 * left, the entry ends and they go on together. So a client flooding at any rate costs the store
 * about two decisions per token (one admitted, one refused), rather than one per request (Envoy's
 * global rate limit keeps such a cache).
 *
 * Bounded: at most `maxEntries` fingerprints (least recently used go first), each held at most
 * `maxHoldMs` (a quota refused for hours is asked again every `maxHoldMs`).
 */
import type { CheckResult, LimitCheck, LimitResult } from '../../core/state.js';

/** Default bound of the cache. Why: one entry per refused client and route (about 300 bytes), 10,000 is about 3 MB. */
export const OVER_LIMIT_MAX_ENTRIES = 10000;
/** Longest a refusal is answered locally. Why: a quota or a bucket given back early by an admin reset or by another instance is seen within a minute. */
export const OVER_LIMIT_MAX_HOLD_MS = 60000;

export interface OverLimitEntry {
  /** refused locally until this time (ms, the stage's clock); 0: the fingerprint is being probed again */
  until: number;
  /** when `results` were decided */
  at: number;
  results: readonly CheckResult[];
  /** the request asking the store now, if any */
  probe: Promise<void> | null;
  /** requests waiting for the probe */
  waiters: number;
}

/** The fingerprint of a request's checks: their keys and modes (keys name the limit, its scope and the identity). */
export function fingerprint(checks: readonly LimitCheck[]): string {
  let s = '';
  for (let i = 0; i < checks.length; i++) {
    const c = checks[i]!;
    s += c.enforce ? '\n+' : '\n-';
    s += c.key;
  }
  return s;
}

/**
 * How long a refusal holds: the shortest `retryMs` of the enforced bucket and quota checks that
 * failed (the request is refused at least that long), capped; 0 when only concurrency refused (a
 * slot may free up at any time) or nothing did.
 */
export function holdMs(checks: readonly LimitCheck[], r: LimitResult, maxHoldMs: number): number {
  if (r.allowed) return 0;
  let hold = Number.POSITIVE_INFINITY;
  for (let i = 0; i < checks.length; i++) {
    const c = checks[i]!;
    const res = r.checks[i]!;
    if (!c.enforce || res.ok || c.kind === 'concurrency' || r.unavailable?.[i]) continue;
    if (res.retryMs < hold) hold = res.retryMs;
  }
  return hold === Number.POSITIVE_INFINITY ? 0 : Math.min(hold, maxHoldMs);
}

/** An admission that left an enforced bucket or quota with no unit: the next request will be refused. */
function exhausted(checks: readonly LimitCheck[], r: LimitResult): boolean {
  if (!r.allowed || r.unavailable !== undefined) return false;
  for (let i = 0; i < checks.length; i++) {
    const c = checks[i]!;
    const res = r.checks[i]!;
    if (c.enforce && c.kind !== 'concurrency' && res.ok && res.remaining === 0) return true;
  }
  return false;
}

/** The cached refusal as seen at `now`: the same results, their times shortened by the time passed. */
export function agedResult(e: OverLimitEntry, now: number): LimitResult {
  const dt = Math.max(0, now - e.at);
  const checks = e.results.map((r) => ({
    ok: r.ok,
    remaining: r.remaining,
    resetMs: Math.max(0, r.resetMs - dt),
    retryMs: r.ok ? 0 : Math.max(1, r.retryMs - dt),
  }));
  return { allowed: false, checks, lease: null };
}

export class OverLimitCache {
  private readonly map = new Map<string, OverLimitEntry>();

  constructor(
    readonly maxEntries = OVER_LIMIT_MAX_ENTRIES,
    readonly maxHoldMs = OVER_LIMIT_MAX_HOLD_MS,
  ) {}

  get size(): number {
    return this.map.size;
  }

  get(fp: string): OverLimitEntry | undefined {
    const e = this.map.get(fp);
    if (e === undefined) return undefined;
    // least recently used first out: a hit moves the entry to the end
    this.map.delete(fp);
    this.map.set(fp, e);
    return e;
  }

  /**
   * Records a store decision of fingerprint `fp` made at `now`: a refusal with a hold starts (or
   * renews) the entry; an admission that took the last token keeps (or starts) it with no hold, so
   * that the next requests ask the store one at a time (the next one is refused, and remembered,
   * without a crowd of requests reaching the store meanwhile); any other admission ends it.
   */
  learn(fp: string, checks: readonly LimitCheck[], r: LimitResult, now: number): void {
    const hold = holdMs(checks, r, this.maxHoldMs);
    const e = this.map.get(fp);
    if (hold === 0 && !exhausted(checks, r)) {
      if (e !== undefined) this.map.delete(fp);
      return;
    }
    const until = hold > 0 ? now + hold : 0;
    if (e !== undefined) {
      e.until = until;
      e.at = now;
      e.results = r.checks;
      return;
    }
    if (this.map.size >= this.maxEntries) {
      const oldest = this.map.keys().next();
      if (!oldest.done) this.map.delete(oldest.value);
    }
    this.map.set(fp, { until, at: now, results: r.checks, probe: null, waiters: 0 });
  }

  /** Forgets a fingerprint (its probe failed: the store is down, the fallback decides; waiters go on together). */
  forget(fp: string): void {
    this.map.delete(fp);
  }
}
