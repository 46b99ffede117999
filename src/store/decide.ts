/**
 * The rate-limit arithmetic every store shares: pure, synchronous, `now` passed in.
 * The Redis Lua script (redis-scripts.ts) is a line-by-line transcription of these functions;
 * test/rate-limit/decide.test.ts holds the vectors both must satisfy.
 */
import type { CheckResult, LimitCheck } from '../core/state.js';

/** Float slack so that (b-1)*I/I does not floor to b-2. */
const EPS = 1e-9;

export interface BucketStep extends CheckResult {
  /** theoretical arrival time to store when committed (ms since epoch) */
  readonly nextTat: number;
}

/**
 * Token bucket in GCRA form (AWS API Gateway semantics): a new key starts full at `burst` tokens
 * and refills one token every `intervalMs`. State is one number, the theoretical arrival time
 * (TAT); the bucket is full whenever TAT <= now, so the key can expire at TAT.
 */
export function bucketStep(tat: number | undefined, now: number, intervalMs: number, burst: number): BucketStep {
  const base = tat === undefined || tat < now ? now : tat;
  const nextTat = base + intervalMs;
  const allowAt = nextTat - burst * intervalMs;
  if (now < allowAt) {
    return { ok: false, remaining: 0, resetMs: base - now, retryMs: allowAt - now, nextTat: base };
  }
  return { ok: true, remaining: Math.floor((now - allowAt) / intervalMs + EPS), resetMs: nextTat - now, retryMs: 0, nextTat };
}

/** Fixed-window counter: `count` requests used so far in a window ending at `resetAt`. */
export function quotaStep(count: number, now: number, limit: number, resetAt: number): CheckResult {
  const resetMs = Math.max(0, resetAt - now);
  if (count >= limit) return { ok: false, remaining: 0, resetMs, retryMs: resetMs };
  return { ok: true, remaining: limit - count - 1, resetMs, retryMs: 0 };
}

/** Hint for clients refused by a concurrency limit: slots free up when requests finish. */
export const CONCURRENCY_RETRY_MS = 1000;

/** Requests in flight against a limit of `max`. */
export function concurrencyStep(inFlight: number, max: number): CheckResult {
  if (inFlight >= max) return { ok: false, remaining: 0, resetMs: 0, retryMs: CONCURRENCY_RETRY_MS };
  return { ok: true, remaining: max - inFlight - 1, resetMs: 0, retryMs: 0 };
}

export interface Decided {
  readonly allowed: boolean;
  readonly checks: CheckResult[];
  /** per check: the state to write when committed (TAT, count + 1, in-flight + 1), or NaN when not to write */
  readonly next: number[];
}

/**
 * Decides all checks of one request from their current states (undefined = no state yet).
 * allowed = every enforced check passes. When allowed, each passing check is committed
 * (monitor checks that fail are not); when refused, nothing is committed.
 */
export function decideChecks(checks: readonly LimitCheck[], states: readonly (number | undefined)[], now: number): Decided {
  const results: CheckResult[] = new Array<CheckResult>(checks.length);
  const next: number[] = new Array<number>(checks.length);
  let allowed = true;
  for (let i = 0; i < checks.length; i++) {
    const c = checks[i]!;
    const s = states[i];
    let r: CheckResult;
    let n = Number.NaN;
    if (c.kind === 'bucket') {
      const b = bucketStep(s, now, c.intervalMs, c.burst);
      r = b;
      if (b.ok) n = b.nextTat;
    } else if (c.kind === 'quota') {
      const count = s ?? 0;
      r = quotaStep(count, now, c.limit, c.resetAt);
      if (r.ok) n = count + 1;
    } else {
      const inFlight = s ?? 0;
      r = concurrencyStep(inFlight, c.max);
      if (r.ok) n = inFlight + 1;
    }
    if (!r.ok && c.enforce) allowed = false;
    results[i] = r;
    next[i] = n;
  }
  if (!allowed) next.fill(Number.NaN);
  return { allowed, checks: results, next };
}
