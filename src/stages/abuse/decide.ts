/**
 * Pure decision code of the abuse detectors: exchange classification, sliding-window estimates,
 * the EWMA rate baseline and its deviation score, detector triggering, action planning and ban
 * escalation. No I/O, no clock: `now` is always passed in.
 */
import type { AbuseAction, AbuseConfig, DetectorConfig, DetectorName } from './schema.js';

/** What the abuse feed reads from one finished exchange. */
export interface Exchange {
  readonly status: number;
  readonly decision: 'allowed' | 'denied' | 'responded';
  readonly code: string | null;
  readonly routeId: string | null;
  readonly params: Readonly<Record<string, string>>;
  readonly path: string;
}

/** The signals one exchange contributes. */
export interface Signals {
  /** false for exchanges refused because of an earlier verdict (ban, deny list, throttle): never counted again */
  readonly counted: boolean;
  readonly authFailure: boolean;
  readonly clientError: boolean;
  readonly serverError: boolean;
  readonly notFound: boolean;
  readonly wafHit: boolean;
  readonly rateLimited: boolean;
  /** an HTTP/2 connection closed for a flood (PC_ERR_HTTP2_FLOOD) */
  readonly h2Flood: boolean;
  /** route id + object ids, for enumeration; null when the route has no parameters */
  readonly objectKey: string | null;
}

const VERDICT_CODES = new Set(['PC_ERR_CLIENT_BANNED', 'PC_ERR_IP_DENIED', 'PC_ERR_THROTTLED']);
const LIMIT_CODES = new Set(['PC_ERR_RATE_LIMITED', 'PC_ERR_QUOTA_EXCEEDED', 'PC_ERR_CONCURRENCY_LIMITED']);
/** PC_ERR_AUTH_UNAVAILABLE is the gateway's fault, not the client's */
const NOT_AUTH_FAILURES = new Set(['PC_ERR_AUTH_UNAVAILABLE']);

export function classify(x: Exchange): Signals {
  const code = x.code;
  if (code !== null && VERDICT_CODES.has(code)) {
    return {
      counted: false,
      authFailure: false,
      clientError: false,
      serverError: false,
      notFound: false,
      wafHit: false,
      rateLimited: false,
      h2Flood: false,
      objectKey: null,
    };
  }
  const authFailure = (code !== null && code.startsWith('PC_ERR_AUTH_') && !NOT_AUTH_FAILURES.has(code)) || (code === null && x.status === 401);
  let objectKey: string | null = null;
  if (x.routeId !== null) {
    const names = Object.keys(x.params);
    if (names.length === 1) objectKey = `${x.routeId}\u0000${x.params[names[0] as string] ?? ''}`;
    else if (names.length > 1) {
      names.sort();
      objectKey = `${x.routeId}\u0000${names.map((n) => x.params[n] ?? '').join('\u0000')}`;
    }
  }
  return {
    counted: true,
    authFailure,
    clientError: x.status >= 400 && x.status < 500,
    serverError: x.status >= 500,
    notFound: x.status === 404,
    wafHit: code === 'PC_ERR_WAF_BLOCKED',
    rateLimited: code !== null && LIMIT_CODES.has(code),
    h2Flood: code === 'PC_ERR_HTTP2_FLOOD',
    objectKey,
  };
}

export function bucketOf(now: number, windowMs: number): number {
  return Math.floor(now / windowMs);
}

/**
 * The last counter values seen for a client and detector: the current bucket's and the
 * previous bucket's final value. Two fixed buckets approximate a sliding window.
 */
export interface WindowMemo {
  readonly bucket: number;
  readonly cur: number;
  readonly prev: number;
}

/** Records the counter value `value` read for `bucket`. */
export function rollMemo(memo: WindowMemo | undefined, bucket: number, value: number): WindowMemo {
  if (!memo || bucket > memo.bucket + 1) return { bucket, cur: value, prev: 0 };
  if (bucket === memo.bucket) return { bucket, cur: Math.max(memo.cur, value), prev: memo.prev };
  if (bucket === memo.bucket + 1) return { bucket, cur: value, prev: memo.cur };
  return memo; // a late value for an older bucket
}

/**
 * Sliding-window estimate at `now`: the current bucket plus the part of the previous bucket that
 * still lies inside the window (the previous bucket's events are assumed evenly spread).
 */
export function slidingEstimate(memo: WindowMemo, now: number, windowMs: number): number {
  const b = bucketOf(now, windowMs);
  if (b === memo.bucket) {
    const frac = (now - b * windowMs) / windowMs;
    return memo.cur + memo.prev * (1 - frac);
  }
  if (b === memo.bucket + 1) {
    const frac = (now - b * windowMs) / windowMs;
    return memo.cur * (1 - frac);
  }
  return 0;
}

/** EWMA weight of the newest bucket. */
export const EWMA_ALPHA = 0.2;

/**
 * A client's request-rate baseline: EWMA mean and variance of requests per bucket over the
 * buckets in which it was active (idle gaps are not folded in, so a client that comes back at its
 * usual rate does not look like a spike), plus the running count of the current bucket.
 */
export interface Baseline {
  readonly mean: number;
  readonly variance: number;
  /** closed buckets folded into the baseline (-1 during the first, partial, bucket) */
  readonly buckets: number;
  readonly bucket: number;
  readonly count: number;
}

export type MutableBaseline = { -readonly [K in keyof Baseline]: Baseline[K] };

/** A client's first baseline; its first bucket is usually partial and is not folded (buckets -1). */
export function newBaseline(now: number, bucketMs: number): MutableBaseline {
  return { mean: 0, variance: 0, buckets: -1, bucket: bucketOf(now, bucketMs), count: 1 };
}

/** Counts one request at `now`, in place (the engine's hot path: no allocation). */
export function countRate(b: MutableBaseline, now: number, bucketMs: number): void {
  const bucket = bucketOf(now, bucketMs);
  if (bucket === b.bucket) {
    b.count++;
    return;
  }
  if (bucket < b.bucket) return;
  if (b.buckets < 0) {
    b.buckets = 0;
  } else if (b.buckets === 0) {
    b.mean = b.count;
    b.variance = 0;
    b.buckets = 1;
  } else {
    // fold the closed bucket (EWMA of mean and variance)
    const diff = b.count - b.mean;
    const incr = EWMA_ALPHA * diff;
    b.mean += incr;
    b.variance = (1 - EWMA_ALPHA) * (b.variance + diff * incr);
    b.buckets++;
  }
  b.bucket = bucket;
  b.count = 1;
}

/** Counts one request at `now` (pure form of countRate). */
export function observeRate(b: Baseline | undefined, now: number, bucketMs: number): Baseline {
  if (!b) return newBaseline(now, bucketMs);
  const copy: MutableBaseline = { ...b };
  countRate(copy, now, bucketMs);
  return copy;
}

/**
 * Deviation score of the current bucket: how many deviations its count lies above the mean.
 * The deviation has a floor of a quarter of the mean (and 1) so that a perfectly steady client
 * (variance ~0) does not score high on a small wobble. 0 during warm-up or below `min_requests`.
 */
export function rateScore(b: Baseline, det: Pick<DetectorConfig, 'min_requests' | 'warmup_buckets'>): number {
  if (b.buckets < det.warmup_buckets || b.count < det.min_requests) return 0;
  const sd = Math.max(Math.sqrt(b.variance), b.mean / 4, 1);
  return Math.max(0, (b.count - b.mean) / sd);
}

/**
 * Whether a detector value reaches its threshold. `requests` is the window's request total, given
 * for ratio detectors (errors_4xx), which count only after `min_requests` requests.
 */
export function triggered(det: DetectorConfig, value: number, requests?: number): boolean {
  if (det.mode === 'off') return false;
  if (requests !== undefined && requests < det.min_requests) return false;
  return value >= det.threshold;
}

/** One detector that reached its threshold. */
export interface Trigger {
  readonly detector: DetectorName;
  readonly value: number;
  readonly config: DetectorConfig;
}

export type Plan =
  | { readonly kind: 'ban'; readonly detector: DetectorName; readonly value: number }
  | { readonly kind: 'throttle'; readonly detector: DetectorName; readonly value: number }
  | { readonly kind: 'alert'; readonly detector: DetectorName; readonly value: number }
  /** a monitor-mode detector: log what it would have done */
  | { readonly kind: 'would'; readonly action: AbuseAction; readonly detector: DetectorName; readonly value: number };

/**
 * What to do about the triggers of one evaluation. Allow-listed clients get nothing. The
 * strongest enforced action wins (ban > throttle > alert); a client already banned is not banned
 * again, a client already banned or throttled is not throttled again.
 */
export function planActions(
  triggers: readonly Trigger[],
  client: { readonly allowListed: boolean; readonly banned: boolean; readonly throttled: boolean },
): Plan[] {
  if (client.allowListed || triggers.length === 0) return [];
  const out: Plan[] = [];
  let ban: Trigger | null = null;
  let throttle: Trigger | null = null;
  for (const t of triggers) {
    if (t.config.mode === 'monitor') {
      out.push({ kind: 'would', action: t.config.action, detector: t.detector, value: t.value });
      continue;
    }
    if (t.config.mode !== 'enforce') continue;
    if (t.config.action === 'ban') ban ??= t;
    else if (t.config.action === 'throttle') throttle ??= t;
    else out.push({ kind: 'alert', detector: t.detector, value: t.value });
  }
  if (ban && !client.banned) out.push({ kind: 'ban', detector: ban.detector, value: ban.value });
  else if (!ban && throttle && !client.banned && !client.throttled) out.push({ kind: 'throttle', detector: throttle.detector, value: throttle.value });
  return out;
}

/** Duration of the `offence`-th ban (1-based) within the escalation memory. */
export function banDurationMs(offence: number, ban: AbuseConfig['ban']): number {
  const n = Math.max(1, Math.floor(offence));
  const d = ban.base_ms * ban.factor ** (n - 1);
  return Math.min(ban.max_ms, Math.round(d));
}

/** A ban or throttle as stored (JSON value of the state-store key). */
export interface Verdict {
  readonly kind: 'ban' | 'throttle';
  /** the client key (IP, IPv6 network, or `consumer:<id>`) */
  readonly client: string;
  readonly until: number;
  readonly since: number;
  readonly reason: string;
  /** detector name, or `manual` */
  readonly source: string;
  readonly offence: number;
  /** who placed it (admin API) */
  readonly by: string | null;
  /**
   * the tenant it belongs to, or null: a tenant-scoped admin token sees and lifts only its
   * tenant's verdicts. Set for a consumer's verdict (the consumer's tenant), never for an address
   * (traffic of every tenant may share it).
   */
  readonly tenant?: string | null;
}

export function parseVerdict(text: string | null): Verdict | null {
  if (text === null || text.length > 4096) return null;
  try {
    const v = JSON.parse(text) as Partial<Verdict>;
    if ((v.kind !== 'ban' && v.kind !== 'throttle') || typeof v.client !== 'string' || typeof v.until !== 'number') return null;
    return {
      kind: v.kind,
      client: v.client,
      until: v.until,
      since: typeof v.since === 'number' ? v.since : 0,
      reason: typeof v.reason === 'string' ? v.reason : '',
      source: typeof v.source === 'string' ? v.source : 'unknown',
      offence: typeof v.offence === 'number' ? v.offence : 1,
      by: typeof v.by === 'string' ? v.by : null,
      tenant: typeof v.tenant === 'string' ? v.tenant : null,
    };
  } catch {
    return null;
  }
}

/** Seconds for Retry-After (at least 1). */
export function retryAfterSeconds(until: number, now: number): number {
  return Math.max(1, Math.ceil((until - now) / 1000));
}

/** Throttle check on a fixed window counter value. */
export function throttleAllows(countInWindow: number, limit: number): boolean {
  return countInWindow <= limit;
}
