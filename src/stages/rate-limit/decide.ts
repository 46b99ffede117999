/**
 * Pure rate-limit decisions, `now` passed in: rate parsing, UTC quota windows, key encoding,
 * the RateLimit / RateLimit-Policy header values (draft-ietf-httpapi-ratelimit-headers, structured
 * field form), and the choice of refusal. The per-check arithmetic (token bucket, quota,
 * concurrency, all-or-nothing commit) lives in src/store/decide.ts, shared by every store.
 */
import { createHash } from 'node:crypto';
import type { CheckResult } from '../../core/state.js';
import { memoised } from '../../core/memo.js';

export { bucketStep, quotaStep, concurrencyStep, decideChecks, CONCURRENCY_RETRY_MS } from '../../store/decide.js';

export type RatePeriod = 'second' | 'minute' | 'hour';
export type QuotaPeriod = 'day' | 'month';

export const PERIOD_MS: Readonly<Record<RatePeriod, number>> = { second: 1000, minute: 60000, hour: 3600000 };

const RATE_RE = /^\s*(\d+(?:\.\d+)?)\s*\/\s*(s|sec|second|m|min|minute|h|hr|hour)\s*$/;
const UNIT: Readonly<Record<string, RatePeriod>> = {
  s: 'second',
  sec: 'second',
  second: 'second',
  m: 'minute',
  min: 'minute',
  minute: 'minute',
  h: 'hour',
  hr: 'hour',
  hour: 'hour',
};

/** The same pattern as a JSON Schema string (schema.ts). */
export const RATE_PATTERN = '^\\s*\\d+(\\.\\d+)?\\s*/\\s*(s|sec|second|m|min|minute|h|hr|hour)\\s*$';

export interface Rate {
  readonly requests: number;
  readonly per: RatePeriod;
  readonly periodMs: number;
}

/** `"25/s"`, `"1500/min"`, `"10/hour"` or `{ requests, per }`; null when malformed or not positive. */
export function parseRate(v: unknown): Rate | null {
  let requests: number;
  let per: RatePeriod | undefined;
  if (typeof v === 'string') {
    const m = RATE_RE.exec(v);
    if (!m) return null;
    requests = Number(m[1]);
    per = UNIT[m[2]!];
  } else if (typeof v === 'object' && v !== null) {
    const o = v as { requests?: unknown; per?: unknown };
    requests = Number(o.requests);
    per = typeof o.per === 'string' && o.per in PERIOD_MS ? (o.per as RatePeriod) : undefined;
  } else return null;
  if (per === undefined || !Number.isFinite(requests) || requests <= 0) return null;
  return { requests, per, periodMs: PERIOD_MS[per] };
}

export interface Window {
  /** window id, part of the quota key: `d20261128` or `m202611` */
  readonly id: string;
  readonly start: number;
  /** end of the window: the next UTC midnight, or the first of next month 00:00 UTC */
  readonly resetAt: number;
}

const pad2 = (n: number): string => (n < 10 ? `0${n}` : String(n));

/** The UTC calendar window containing `now`. */
export function quotaWindow(now: number, per: QuotaPeriod): Window {
  const d = new Date(now);
  const y = d.getUTCFullYear();
  const m = d.getUTCMonth();
  if (per === 'day') {
    const day = d.getUTCDate();
    const start = Date.UTC(y, m, day);
    return { id: `d${y}${pad2(m + 1)}${pad2(day)}`, start, resetAt: Date.UTC(y, m, day + 1) };
  }
  return { id: `m${y}${pad2(m + 1)}`, start: Date.UTC(y, m, 1), resetAt: Date.UTC(y, m + 1, 1) };
}

const SAFE = /^[A-Za-z0-9._:-]*$/;
/** Longest key part kept as is; longer values are hashed (bounded key size). */
export const MAX_KEY_PART = 128;

/** Encodes one key part: safe characters kept, others %-escaped, long values hashed. */
export function encodeKeyPart(v: string): string {
  if (v.length > MAX_KEY_PART) return `#${createHash('sha256').update(v).digest('base64url').slice(0, 22)}`;
  if (SAFE.test(v)) return v;
  return encodeURIComponent(v).replace(/[!'()*~]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** A claim value as a key part: strings, numbers and booleans as text; anything else hashed as JSON. */
export function claimPart(v: unknown): string | null {
  if (v === undefined || v === null) return null;
  if (typeof v === 'string') return v === '' ? null : v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  const json = JSON.stringify(v);
  return `#${createHash('sha256').update(json).digest('base64url').slice(0, 22)}`;
}

/**
 * An sf-string (RFC 8941): printable ASCII with `"` and `\` escaped. Policy names are already
 * restricted. Made once per name (from the config) rather than on every response.
 */
export const sfString = memoised((s) => `"${s.replace(/[\\"]/g, '\\$&')}"`);

/** One RateLimit-Policy item: `"name";q=50;w=2` (q: quota units, w: window seconds, qu: unit when not requests). */
export function policyItem(name: string, q: number, w: number | null, unit: 'requests' | 'concurrent-requests' = 'requests'): string {
  let s = `${sfString(name)};q=${q}`;
  if (unit !== 'requests') s += `;qu=${sfString(unit)}`;
  if (w !== null) s += `;w=${w}`;
  return s;
}

/** One RateLimit item: `"name";r=49;t=1` (r: remaining units, t: seconds until the quota is restored). */
export function limitItem(name: string, r: CheckResult, withReset: boolean): string {
  return withReset ? `${sfString(name)};r=${r.remaining};t=${Math.ceil(r.resetMs / 1000)}` : `${sfString(name)};r=${r.remaining}`;
}

/** Window (seconds) of a token bucket's policy: the time a full burst takes to refill. */
export function bucketWindowSeconds(burst: number, intervalMs: number): number {
  return Math.max(1, Math.ceil((burst * intervalMs) / 1000 - 1e-9));
}

/** Retry-After (whole seconds, at least 1) for a refusal `retryMs` in the future. */
export function retryAfterSeconds(retryMs: number): number {
  return Math.max(1, Math.ceil(retryMs / 1000 - 1e-9));
}

export type CheckKind = 'bucket' | 'quota' | 'concurrency';

export const DENY_CODE = {
  bucket: 'PC_ERR_RATE_LIMITED',
  quota: 'PC_ERR_QUOTA_EXCEEDED',
  concurrency: 'PC_ERR_CONCURRENCY_LIMITED',
} as const satisfies Record<CheckKind, string>;

/**
 * Among the refused enforced checks, the one that decides the reply: the longest wait wins
 * (Retry-After must be honest for all of them). Returns its index, or -1 when none was refused.
 */
export function pickRefusal(enforce: readonly boolean[], results: readonly CheckResult[]): number {
  let best = -1;
  for (let i = 0; i < results.length; i++) {
    const r = results[i]!;
    if (r.ok || !enforce[i]) continue;
    if (best === -1 || r.retryMs > results[best]!.retryMs) best = i;
  }
  return best;
}
