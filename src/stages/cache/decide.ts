/**
 * Shared HTTP cache decisions (RFC 9111; RFC 5861 stale-while-revalidate / stale-if-error;
 * RFC 9211 Cache-Status): whether a response may be stored and for how long, how old a stored
 * response is, which variant answers a request, whether it may be served, revalidated or must be
 * fetched again, how a 304 updates it, and what an unsafe request invalidates.
 *
 * Pure and synchronous: times (ms since the epoch) are passed in, nothing is read from a clock
 * or the network. Every header is read through `fields.ts` (own properties, case-insensitive,
 * bounded). Deliberate choices are listed in README.md.
 */

import { DELTA_MAX, deltaSeconds, type Directives, hasDirective, parseCacheControl, parseDelta, parseTargeted } from './cache-control.js';
import { fieldLines, fieldValue, listMembers, MAX_FIELD_CHARS, MAX_MEMBERS, normaliseValue } from './fields.js';
import { formatHttpDate, parseHttpDate } from './http-date.js';
import type { Headers, StoredResponse } from './types.js';

export interface CacheSettings {
  /** heuristic freshness (10% of Date − Last-Modified) for responses without explicit freshness */
  readonly heuristic: boolean;
  /** cap of a heuristic lifetime, ms */
  readonly heuristicMaxMs: number;
  /** lifetime of a response without freshness information (route-configured TTL); null: none */
  readonly defaultTtlMs: number | null;
  /** cap of every lifetime, ms; null: none */
  readonly maxTtlMs: number | null;
  /** how long a stale entry with a validator is kept for revalidation, ms */
  readonly keepStaleMs: number;
  /** how stale an entry may be served when the upstream fails, without any stale-if-error, ms (0: only when allowed by stale-if-error) */
  readonly staleIfErrorMs: number;
}

/** What the freshness calculation needs of a response (a StoredResponse is one). */
export interface ResponseFacts {
  readonly status: number;
  readonly headers: Headers;
  /** ms since the epoch when the response head arrived */
  readonly responseTime: number;
}

/* ---------------------------------------------------------------- statuses */

/** RFC 9110 §15.1: heuristically cacheable (206 left out: ranges are not supported). */
const HEURISTIC_STATUSES: ReadonlySet<number> = new Set([200, 203, 204, 300, 301, 308, 404, 405, 410, 414, 501]);
/** Statuses whose semantics this cache implements, for `must-understand` (RFC 9111 §5.2.2.3): those RFC 9110 defines, minus 206. */
const UNDERSTOOD_STATUSES: ReadonlySet<number> = new Set([
  200, 201, 202, 203, 204, 205, 300, 301, 302, 303, 307, 308, 400, 401, 402, 403, 404, 405, 406, 407, 408, 409, 410, 411, 412, 413, 414, 415, 416, 417, 421,
  422, 426, 500, 501, 502, 503, 504, 505,
]);
/** Safe methods plus OPTIONS and TRACE: everything else invalidates (RFC 9111 §4.4). Case-sensitive, as methods are. */
const NON_INVALIDATING: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE']);

export function heuristicallyCacheable(status: number): boolean {
  return HEURISTIC_STATUSES.has(status);
}

/* ---------------------------------------------------------------- request directives */

export interface RequestDirectives {
  readonly noCache: boolean;
  readonly noStore: boolean;
  /** seconds; absent or invalid: undefined */
  readonly maxAge?: number;
  /** seconds; Infinity when bare; absent or invalid: undefined */
  readonly maxStale?: number;
  /** seconds */
  readonly minFresh?: number;
  readonly onlyIfCached: boolean;
  /** RFC 5861 on a request: seconds */
  readonly staleIfError?: number;
}

/**
 * The request's cache directives. `Pragma: no-cache` counts as `Cache-Control: no-cache` only when
 * the request has no Cache-Control field (RFC 9111 §5.4). Invalid delta values are ignored (the
 * directive is as absent); an unparseable Cache-Control is ignored as a whole.
 */
export function readRequest(headers: Headers): RequestDirectives {
  const cc = parseCacheControl(fieldLines(headers, 'cache-control'));
  let noCache = hasDirective(cc, 'no-cache');
  if (!cc.present) {
    const pragma = fieldValue(headers, 'pragma');
    if (pragma !== undefined && pragma.length <= MAX_FIELD_CHARS) noCache = listMembers(pragma).some((m) => m.toLowerCase() === 'no-cache');
  }
  const out: { -readonly [K in keyof RequestDirectives]: RequestDirectives[K] } = {
    noCache,
    noStore: hasDirective(cc, 'no-store'),
    onlyIfCached: hasDirective(cc, 'only-if-cached'),
  };
  const maxAge = deltaSeconds(cc, 'max-age');
  if (typeof maxAge === 'number') out.maxAge = maxAge;
  const minFresh = deltaSeconds(cc, 'min-fresh');
  if (typeof minFresh === 'number') out.minFresh = minFresh;
  if (hasDirective(cc, 'max-stale')) {
    const raw = cc.values.get('max-stale');
    if (raw === null && !cc.malformed.has('max-stale')) out.maxStale = Number.POSITIVE_INFINITY;
    else {
      const v = deltaSeconds(cc, 'max-stale');
      if (typeof v === 'number') out.maxStale = v;
    }
  }
  const sie = deltaSeconds(cc, 'stale-if-error');
  if (typeof sie === 'number') out.staleIfError = sie;
  return out;
}

/* ---------------------------------------------------------------- freshness */

export type FreshnessSource = 's-maxage' | 'max-age' | 'expires' | 'heuristic' | 'default' | 'none';

export interface Freshness {
  readonly lifetimeMs: number;
  readonly source: FreshnessSource;
}

/** `public` counts only well-formed (bare): it widens what may be stored. */
function isPublic(cc: Directives): boolean {
  return hasDirective(cc, 'public') && !cc.malformed.has('public');
}

/**
 * The response's directives for this cache: those of a valid, non-empty CDN-Cache-Control when
 * there is one (RFC 9213 §2.2: a gateway is the CDN-like cache that field targets; Cache-Control
 * and Expires are then ignored), else Cache-Control's.
 */
export function responseDirectives(h: Headers): Directives {
  return parseTargeted(fieldLines(h, 'cdn-cache-control')) ?? parseCacheControl(fieldLines(h, 'cache-control'));
}

/** The Date header (first line) or, when absent or invalid, the response time (RFC 9111 §4.2.3). */
function dateValue(res: ResponseFacts): number {
  const lines = fieldLines(res.headers, 'date');
  const d = lines.length > 0 ? parseHttpDate(lines[0], res.responseTime) : null;
  return d ?? res.responseTime;
}

/**
 * Freshness lifetime (RFC 9111 §4.2.1), first that applies: s-maxage, max-age, Expires − Date,
 * heuristic (§4.2.2), `settings.defaultTtlMs`; capped by `settings.maxTtlMs`. An invalid
 * s-maxage / max-age / Expires (or Expires on several lines) is explicit freshness that is already
 * over: lifetime 0. Heuristic and default TTL apply only to heuristically cacheable statuses or
 * responses marked `public`.
 */
export function freshness(res: ResponseFacts, settings: CacheSettings, cc: Directives = responseDirectives(res.headers)): Freshness {
  const cap = (ms: number, source: FreshnessSource): Freshness => ({
    lifetimeMs: settings.maxTtlMs === null ? ms : Math.min(ms, settings.maxTtlMs),
    source,
  });
  for (const name of ['s-maxage', 'max-age'] as const) {
    const v = deltaSeconds(cc, name);
    if (v !== undefined) return cap(v === 'invalid' ? 0 : v * 1000, name);
  }
  const expires = cc.targeted === true ? [] : fieldLines(res.headers, 'expires');
  if (expires.length > 0) {
    const e = expires.length === 1 ? parseHttpDate(expires[0], res.responseTime) : null;
    return cap(e === null ? 0 : Math.max(0, e - dateValue(res)), 'expires');
  }
  if (heuristicallyCacheable(res.status) || isPublic(cc)) {
    if (settings.heuristic) {
      const lm = fieldLines(res.headers, 'last-modified');
      const lmv = lm.length === 1 ? parseHttpDate(lm[0], res.responseTime) : null;
      const date = dateValue(res);
      if (lmv !== null && lmv <= date) return cap(Math.min(Math.floor((date - lmv) / 10), settings.heuristicMaxMs), 'heuristic');
    }
    if (settings.defaultTtlMs !== null) return cap(settings.defaultTtlMs, 'default');
  }
  return { lifetimeMs: 0, source: 'none' };
}

export function freshnessLifetimeMs(res: ResponseFacts, settings: CacheSettings): number {
  return freshness(res, settings).lifetimeMs;
}

/* ---------------------------------------------------------------- age */

/**
 * The Age header's value in seconds: the first member (of the first line, then the next lines)
 * that is 1*DIGIT once parameters (`;...`) are cut; others are ignored; capped at 2^31. None: 0.
 */
export function ageValue(h: Headers): number {
  const v = fieldValue(h, 'age');
  if (v === undefined || v.length > MAX_FIELD_CHARS) return 0;
  let seen = 0;
  for (const m of v.split(',')) {
    if (++seen > MAX_MEMBERS) break;
    const d = parseDelta(m.split(';', 1)[0]!.trim());
    if (d !== 'invalid') return d;
  }
  return 0;
}

/** Current age in ms (RFC 9111 §4.2.3). */
export function currentAgeMs(entry: Pick<StoredResponse, 'headers' | 'requestTime' | 'responseTime' | 'status'>, now: number): number {
  const apparentAge = Math.max(0, entry.responseTime - dateValue(entry));
  const responseDelay = Math.max(0, entry.responseTime - entry.requestTime);
  const correctedAgeValue = ageValue(entry.headers) * 1000 + responseDelay;
  const correctedInitialAge = Math.max(apparentAge, correctedAgeValue);
  const residentTime = Math.max(0, now - entry.responseTime);
  return correctedInitialAge + residentTime;
}

const toSeconds = (ms: number): number => Math.min(Math.floor(ms / 1000), DELTA_MAX);

/**
 * What lookup reads of a stored response, parsed once per entry object: a stored response is
 * never changed (freshening makes a new one), and the memory store hands out the same object on
 * every hit, so a hit does not parse Cache-Control, Date and Age again. Memoised pure functions.
 */
interface EntryFacts {
  readonly cc: Directives;
  readonly validator: boolean;
  /** the age it had when it arrived (corrected_initial_age, §4.2.3) */
  readonly initialAgeMs: number;
  /** freshness lifetime per settings object (one per route) */
  readonly lifetimes: Map<CacheSettings, number>;
}
const FACTS = new WeakMap<StoredResponse, EntryFacts>();

function factsOf(entry: StoredResponse): EntryFacts {
  let f = FACTS.get(entry);
  if (f === undefined) {
    f = {
      cc: responseDirectives(entry.headers),
      validator: hasValidator(entry.headers),
      initialAgeMs: currentAgeMs(entry, entry.responseTime),
      lifetimes: new Map(),
    };
    FACTS.set(entry, f);
  }
  return f;
}

function lifetimeOf(entry: StoredResponse, f: EntryFacts, settings: CacheSettings): number {
  let l = f.lifetimes.get(settings);
  if (l === undefined) {
    l = freshness(entry, settings, f.cc).lifetimeMs;
    if (f.lifetimes.size < 8) f.lifetimes.set(settings, l);
  }
  return l;
}

/** Current age of a stored response (as currentAgeMs, from its memoised facts). */
function storedAgeMs(entry: StoredResponse, f: EntryFacts, now: number): number {
  return f.initialAgeMs + Math.max(0, now - entry.responseTime);
}

/** The Age header to send with a stored response: integer seconds, at most 2^31. */
export function ageHeader(entry: StoredResponse, now: number): string {
  return String(toSeconds(storedAgeMs(entry, factsOf(entry), now)));
}

/* ---------------------------------------------------------------- storing */

export interface StoreInput {
  readonly method: string;
  readonly status: number;
  readonly reqHeaders: Headers;
  readonly resHeaders: Headers;
  /** the request carried credentials (Authorization is detected here too; cookies or client certificates are the caller's to flag) */
  readonly credentialed: boolean;
  readonly requestTime: number;
  readonly responseTime: number;
}

export type NotStoredReason =
  | 'method'
  | 'status'
  | 'partial'
  | 'cache-control-unparseable'
  | 'no-store'
  | 'must-understand'
  | 'private'
  | 'request-no-store'
  | 'vary-star'
  | 'vary-unparseable'
  | 'authorization'
  | 'set-cookie'
  | 'no-freshness'
  | 'stale-without-validator';

export type StoreVerdict =
  | {
      readonly store: true;
      readonly lifetimeMs: number;
      readonly source: FreshnessSource;
      /** age already reached when the response arrived */
      readonly initialAgeMs: number;
      /** how long the store should keep it from now: remaining freshness plus the windows it may still be used in (stale-while-revalidate, stale-if-error, revalidation) */
      readonly keepMs: number;
    }
  | { readonly store: false; readonly reason: NotStoredReason };

function hasValidator(h: Headers): boolean {
  return fieldLines(h, 'etag').length > 0 || fieldLines(h, 'last-modified').length > 0;
}

/** stale use forbidden once stale: must-revalidate, proxy-revalidate, s-maxage (shared cache, §5.2.2.10), no-cache */
function staleForbidden(cc: Directives): boolean {
  return hasDirective(cc, 'must-revalidate') || hasDirective(cc, 'proxy-revalidate') || hasDirective(cc, 's-maxage') || hasDirective(cc, 'no-cache');
}

const windowMs = (cc: Directives, name: string): number => {
  const v = deltaSeconds(cc, name);
  return typeof v === 'number' ? v * 1000 : 0;
};

/**
 * no-store (ignored when must-understand is present and the status understood, §5.2.2.3),
 * must-understand on a status not understood, private (qualified or not): null when none applies.
 */
function storageForbidden(cc: Directives, status: number): 'no-store' | 'must-understand' | 'private' | null {
  if (hasDirective(cc, 'must-understand')) {
    if (!UNDERSTOOD_STATUSES.has(status)) return 'must-understand';
  } else if (hasDirective(cc, 'no-store')) return 'no-store';
  if (hasDirective(cc, 'private')) return 'private';
  return null;
}

/** Whether a response may be stored by a shared cache (RFC 9111 §3), and for how long. */
export function storable(input: StoreInput, settings: CacheSettings): StoreVerdict {
  // HEAD responses update stored GET responses (freshenFromHead) but never create entries
  if (input.method !== 'GET') return { store: false, reason: 'method' };
  const s = input.status;
  if (!Number.isInteger(s) || s < 200 || s > 599 || s === 304) return { store: false, reason: 'status' };
  if (s === 206) return { store: false, reason: 'partial' };
  const cc = responseDirectives(input.resHeaders);
  if (cc.unparseable) return { store: false, reason: 'cache-control-unparseable' };
  const forbidden = storageForbidden(cc, s);
  if (forbidden !== null) return { store: false, reason: forbidden };
  const reqCc = parseCacheControl(fieldLines(input.reqHeaders, 'cache-control'));
  if (hasDirective(reqCc, 'no-store')) return { store: false, reason: 'request-no-store' };
  const vary = varyNames(input.resHeaders);
  if (vary === '*') return { store: false, reason: 'vary-star' };
  if (vary === 'unparseable') return { store: false, reason: 'vary-unparseable' };
  const credentialed = input.credentialed || fieldLines(input.reqHeaders, 'authorization').length > 0;
  const pub = isPublic(cc);
  if (credentialed && !(pub || hasDirective(cc, 's-maxage') || hasDirective(cc, 'must-revalidate'))) return { store: false, reason: 'authorization' };
  if (fieldLines(input.resHeaders, 'set-cookie').length > 0 || fieldLines(input.resHeaders, 'set-cookie2').length > 0)
    return { store: false, reason: 'set-cookie' };
  const facts: ResponseFacts = { status: s, headers: input.resHeaders, responseTime: input.responseTime };
  const f = freshness(facts, settings, cc);
  // §3: explicit freshness, public, or a heuristically cacheable status
  if (f.source === 'none' && !pub && !heuristicallyCacheable(s)) return { store: false, reason: 'no-freshness' };
  const initialAgeMs = currentAgeMs({ ...facts, requestTime: input.requestTime }, input.responseTime);
  const remaining = Math.max(0, f.lifetimeMs - initialAgeMs);
  const validator = hasValidator(input.resHeaders);
  const staleWindow = staleForbidden(cc) ? 0 : Math.max(windowMs(cc, 'stale-while-revalidate'), windowMs(cc, 'stale-if-error'), settings.staleIfErrorMs);
  if ((remaining === 0 || hasDirective(cc, 'no-cache')) && !validator && staleWindow === 0)
    return { store: false, reason: f.source === 'none' ? 'no-freshness' : 'stale-without-validator' };
  // kept past its freshness: to be revalidated, served to a request's max-stale or freshened by a HEAD
  const keepMs = remaining + Math.max(staleWindow, validator || !staleForbidden(cc) ? settings.keepStaleMs : 0);
  return { store: true, lifetimeMs: f.lifetimeMs, source: f.source, initialAgeMs, keepMs };
}

/* ---------------------------------------------------------------- variants */

const FIELD_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** The lowercase names a Vary field lists, '*' when any member is '*', 'unparseable' when over the bounds or not field names; none: []. */
function varyNames(h: Headers): readonly string[] | '*' | 'unparseable' {
  const v = fieldValue(h, 'vary');
  if (v === undefined) return [];
  if (v.length > MAX_FIELD_CHARS) return 'unparseable';
  const names = listMembers(v);
  if (names.length > MAX_MEMBERS) return 'unparseable';
  if (names.includes('*')) return '*';
  // a member that is not a field name could never be matched reliably: as good as unparseable
  if (!names.every((n) => FIELD_NAME.test(n))) return 'unparseable';
  return [...new Set(names.map((n) => n.toLowerCase()))];
}

function requestValue(reqHeaders: Headers, name: string): string | null {
  const lines = fieldLines(reqHeaders, name);
  return lines.length === 0 ? null : normaliseValue(lines);
}

/**
 * The `vary` record of a response about to be stored: null without Vary (or an empty one), '*'
 * for `Vary: *`, a Vary over the bounds or one listing a non-name (never stored), else lowercase name → the request's
 * normalised value (null when the request lacks it).
 */
export function varyOf(resHeaders: Headers, reqHeaders: Headers): null | '*' | Record<string, string | null> {
  const names = varyNames(resHeaders);
  if (names === '*' || names === 'unparseable') return '*';
  if (names.length === 0) return null;
  return Object.fromEntries(names.map((n) => [n, requestValue(reqHeaders, n)]));
}

/** Whether a stored variant answers a request: every field its Vary names has the same normalised value (or is absent in both). */
export function variantMatches(entry: Pick<StoredResponse, 'vary'>, reqHeaders: Headers): boolean {
  if (entry.vary === null) return true;
  for (const name of Object.keys(entry.vary)) {
    if (requestValue(reqHeaders, name) !== entry.vary[name]) return false;
  }
  return true;
}

/** The most recent stored variant that answers the request (RFC 9111 §4.1), or null. */
export function matchVariant(variants: readonly StoredResponse[], reqHeaders: Headers): StoredResponse | null {
  let best: StoredResponse | null = null;
  for (const v of variants) if (variantMatches(v, reqHeaders) && (best === null || v.responseTime > best.responseTime)) best = v;
  return best;
}

/* ---------------------------------------------------------------- lookup */

export type LookupResult =
  /** serve it: fresh, and acceptable to the request */
  | { readonly kind: 'fresh'; readonly ageS: number; readonly ttlS: number }
  /** serve it stale: the request's max-stale allows it */
  | { readonly kind: 'stale'; readonly ageS: number; readonly ttlS: number }
  /** serve it stale now and refresh it in the background (RFC 5861) */
  | { readonly kind: 'stale-while-revalidate'; readonly ageS: number; readonly ttlS: number }
  /** send a conditional request (conditionalHeaders) */
  | { readonly kind: 'revalidate'; readonly fwd: 'request' | 'stale' }
  /** unusable: forward the request as is */
  | { readonly kind: 'miss'; readonly fwd: 'request' | 'stale' };

/**
 * What to do with a stored response (already chosen by matchVariant) for a request (RFC 9111
 * §4.2, §4.2.4, §5.2.1, §5.2.2; RFC 5861 §3). `fwd` says whether the request ('request') or the
 * entry's state ('stale') forces going upstream, for Cache-Status.
 */
export function lookup(entry: StoredResponse, req: RequestDirectives, now: number, settings: CacheSettings): LookupResult {
  const f = factsOf(entry);
  const cc = f.cc;
  const validator = f.validator;
  const upstream = (fwd: 'request' | 'stale'): LookupResult => (validator ? { kind: 'revalidate', fwd } : { kind: 'miss', fwd });
  // a 304 or HEAD may have brought no-store or private into the stored headers: the entry is no longer usable
  if (cc.unparseable || storageForbidden(cc, entry.status) !== null) return { kind: 'miss', fwd: 'stale' };
  if (hasDirective(cc, 'no-cache')) return upstream('stale');
  if (req.noCache) return upstream('request');
  const age = storedAgeMs(entry, f, now);
  const lifetime = lifetimeOf(entry, f, settings);
  const ageS = toSeconds(age);
  const ttlS = Math.max(-DELTA_MAX, Math.floor((lifetime - age) / 1000));
  if (req.maxAge !== undefined && (req.maxAge === 0 || age > req.maxAge * 1000)) return upstream('request');
  const fresh = lifetime > age;
  if (fresh) {
    if (req.minFresh !== undefined && lifetime - age < req.minFresh * 1000) return upstream('request');
    return { kind: 'fresh', ageS, ttlS };
  }
  if (req.minFresh !== undefined) return upstream('request');
  if (staleForbidden(cc)) return upstream('stale');
  const staleness = age - lifetime;
  if (req.maxStale !== undefined && staleness <= req.maxStale * 1000) return { kind: 'stale', ageS, ttlS };
  const swr = windowMs(cc, 'stale-while-revalidate');
  if (swr > 0 && staleness <= swr) return { kind: 'stale-while-revalidate', ageS, ttlS };
  return upstream('stale');
}

/**
 * `only-if-cached` (RFC 9111 §5.2.1.7): true when the caller must answer 504 instead of going
 * upstream (no usable entry, or one that would need the origin).
 */
export function onlyIfCachedFails(req: RequestDirectives, result: LookupResult | null): boolean {
  return req.onlyIfCached && (result === null || result.kind === 'revalidate' || result.kind === 'miss');
}

/* ---------------------------------------------------------------- validation */

const ETAG = /^(W\/)?"[\x21\x23-\x7e\x80-\xff]*"$/;
const opaqueTag = (v: string): string => v.trim().replace(/^W\//, '');

/** The validators of a conditional request for a stored response (RFC 9111 §4.3.1). */
export function conditionalHeaders(entry: Pick<StoredResponse, 'headers' | 'responseTime'>): { 'if-none-match'?: string; 'if-modified-since'?: string } {
  const out: { 'if-none-match'?: string; 'if-modified-since'?: string } = {};
  const etag = fieldLines(entry.headers, 'etag');
  if (etag.length === 1 && ETAG.test(etag[0]!.trim())) out['if-none-match'] = etag[0]!.trim();
  const lm = fieldLines(entry.headers, 'last-modified');
  if (lm.length === 1 && parseHttpDate(lm[0], entry.responseTime) !== null) out['if-modified-since'] = lm[0]!.trim();
  return out;
}

/** An entity-tag split into its weakness and opaque part, or null when it is not one (RFC 9110 §8.8.3). */
function entityTag(v: string | undefined): { readonly weak: boolean; readonly opaque: string } | null {
  if (v === undefined) return null;
  const t = v.trim();
  if (!ETAG.test(t)) return null;
  return t.startsWith('W/') ? { weak: true, opaque: t.slice(2) } : { weak: false, opaque: t };
}

/**
 * Whether a 304 response selects a stored response for update (RFC 9111 §4.3.4):
 * - a strong ETag selects a stored response with the same strong ETag (strong comparison);
 * - a weak ETag selects one whose ETag matches by weak comparison (RFC 9110 §8.8.3.2);
 * - without an ETag, a Last-Modified selects one with the same Last-Modified;
 * - without any validator, a stored response without one either; or, `ownConditional`, the stored
 *   response whose validators alone made the conditional request: the 304 then answers for
 *   exactly them (RFC 9110 §13.1.2), a frequent origin habit although §15.4.5 asks for the ETag.
 */
export function validatorsMatch(entry: Pick<StoredResponse, 'headers'>, resHeaders: Headers, ownConditional = false): boolean {
  const newEtagField = fieldValue(resHeaders, 'etag');
  const oldEtagField = fieldValue(entry.headers, 'etag');
  if (newEtagField !== undefined) {
    const n = entityTag(newEtagField);
    const o = entityTag(oldEtagField);
    if (n === null || o === null) return false;
    return n.weak ? n.opaque === o.opaque : !o.weak && n.opaque === o.opaque;
  }
  const newLm = fieldValue(resHeaders, 'last-modified');
  const oldLm = fieldValue(entry.headers, 'last-modified');
  if (newLm !== undefined) return oldLm !== undefined && oldLm.trim() === newLm.trim();
  return ownConditional || (oldEtagField === undefined && oldLm === undefined);
}

/**
 * The If-None-Match of a request no stored variant answers (RFC 9111 §4.3.1, §4.1): the valid
 * ETags of every stored variant (at most MAX_MEMBERS), so that a 304 names the one to reuse; null
 * when none has one.
 */
export function candidateEtags(variants: readonly Pick<StoredResponse, 'headers'>[]): string | null {
  const tags: string[] = [];
  for (const v of variants) {
    const lines = fieldLines(v.headers, 'etag');
    if (lines.length !== 1 || entityTag(lines[0]) === null) continue;
    const t = lines[0]!.trim();
    if (!tags.includes(t) && tags.length < MAX_MEMBERS) tags.push(t);
  }
  return tags.length === 0 ? null : tags.join(', ');
}

/**
 * The stored variant a 304 to a candidateEtags request selects (RFC 9111 §4.3.4): the most recent
 * one its ETag matches (strong comparison for a strong ETag, weak otherwise); without an ETag,
 * the only candidate when there was one; else null.
 */
export function selectCandidate(variants: readonly StoredResponse[], resHeaders: Headers): StoredResponse | null {
  const withTag = variants.filter((v) => entityTag(fieldValue(v.headers, 'etag')) !== null);
  let best: StoredResponse | null = null;
  for (const v of withTag) {
    if (validatorsMatch(v, resHeaders, withTag.length === 1) && (best === null || v.responseTime > best.responseTime)) best = v;
  }
  return best;
}

const ETAG_IN_LIST = /(?:W\/)?"[\x21\x23-\x7e\x80-\xff]*"/g;

/**
 * Whether a client's conditional GET/HEAD is answered 304 from a stored 200 (RFC 9111 §4.3.2,
 * RFC 9110 §13.1.1-2): If-None-Match by weak comparison (`*` matches), else If-Modified-Since
 * against Last-Modified, or Date, or the response time. An invalid If-Modified-Since is ignored.
 */
export function answersNotModified(entry: Pick<StoredResponse, 'status' | 'headers' | 'responseTime'>, reqHeaders: Headers): boolean {
  if (entry.status !== 200) return false;
  const inm = fieldValue(reqHeaders, 'if-none-match');
  if (inm !== undefined) {
    if (inm.length > MAX_FIELD_CHARS) return false;
    if (inm.trim() === '*') return true;
    const stored = fieldLines(entry.headers, 'etag');
    if (stored.length !== 1 || !ETAG.test(stored[0]!.trim())) return false;
    const tag = opaqueTag(stored[0]!);
    return (inm.match(ETAG_IN_LIST) ?? []).slice(0, MAX_MEMBERS).some((t) => opaqueTag(t) === tag);
  }
  const ims = fieldLines(reqHeaders, 'if-modified-since');
  if (ims.length !== 1) return false;
  const since = parseHttpDate(ims[0], entry.responseTime);
  if (since === null) return false;
  const lm = fieldLines(entry.headers, 'last-modified');
  const modified = (lm.length === 1 ? parseHttpDate(lm[0], entry.responseTime) : null) ?? dateValue(entry);
  return modified <= since;
}

/** The stored fields a 304 answer to a client carries (RFC 9110 §15.4.5). */
export function notModifiedHeaders(entry: Pick<StoredResponse, 'headers'>): Record<string, string | readonly string[]> {
  const out: [string, string | readonly string[]][] = [];
  for (const name of ['cache-control', 'content-location', 'date', 'etag', 'expires', 'last-modified', 'vary']) {
    const lines = fieldLines(entry.headers, name);
    if (lines.length > 0) out.push([name, lines.length === 1 ? lines[0]! : [...lines]]);
  }
  return Object.fromEntries(out);
}

/** Hop-by-hop and never-stored fields (RFC 9110 §7.6.1, RFC 9111 §3.1) besides those Connection names. */
const NOT_STORED: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'transfer-encoding',
  'upgrade',
  'trailer',
  'proxy-authenticate',
  'proxy-authentication-info',
  'proxy-authorization',
  // never stored here: a cookie set for one client must not reach others
  'set-cookie',
  'set-cookie2',
]);
/** Fields a 304 or HEAD response never changes in a stored response (RFC 9111 §3.2). */
const NOT_UPDATED: ReadonlySet<string> = new Set(['content-length']);

/** The headers to store: names lowercased, hop-by-hop fields and those Connection names removed, Set-Cookie removed. */
export function storedHeaders(resHeaders: Headers): Record<string, string | readonly string[]> {
  // the fields Connection names are hop-by-hop too; a copy of the set only when there are some
  let drop = NOT_STORED;
  const conn = fieldValue(resHeaders, 'connection');
  if (conn !== undefined && conn.length <= MAX_FIELD_CHARS) {
    const named = listMembers(conn).map((n) => n.toLowerCase());
    if (named.some((n) => !NOT_STORED.has(n))) drop = new Set([...NOT_STORED, ...named]);
  }
  // the object is its own set of names seen; a field named __proto__ is defined as data
  const out: Record<string, string | readonly string[]> = {};
  for (const k in resHeaders) {
    if (!Object.hasOwn(resHeaders, k)) continue;
    const name = k.toLowerCase();
    if (drop.has(name) || Object.hasOwn(out, name)) continue;
    const lines = fieldLines(resHeaders, name);
    const value = lines.length === 1 ? lines[0]! : [...lines];
    if (name === '__proto__') Object.defineProperty(out, name, { value, enumerable: true, writable: true, configurable: true });
    else out[name] = value;
  }
  return out;
}

/**
 * A stored response freshened by a 304 (RFC 9111 §4.3.4): each stored field the 304 carries is
 * replaced by the 304's (hop-by-hop fields, Set-Cookie and Content-Length excepted), the others
 * kept, the body kept, the request and response times those of the validation exchange. The
 * stored Age and Date described the old exchange: without an Age in the 304 the stored one is
 * dropped, without a Date the response time becomes the Date, so the age restarts from the 304.
 */
export function freshen(entry: StoredResponse, res304Headers: Headers, requestTime: number, responseTime: number): StoredResponse {
  const update: Record<string, string | readonly string[]> = storedHeaders(res304Headers);
  if (!Object.hasOwn(update, 'date')) update['date'] = formatHttpDate(responseTime);
  const replaced = (k: string): boolean => k === 'age' || (Object.hasOwn(update, k) && !NOT_UPDATED.has(k));
  const merged: [string, string | readonly string[]][] = Object.entries(entry.headers).filter(([k]) => !replaced(k));
  for (const [k, v] of Object.entries(update)) if (!NOT_UPDATED.has(k)) merged.push([k, v]);
  return { ...entry, headers: Object.fromEntries(merged), requestTime, responseTime };
}

/**
 * A stored GET response freshened by a HEAD response (RFC 9111 §4.3.5), or null when the HEAD
 * response shows the stored one is outdated (different ETag, Last-Modified or Content-Length):
 * the caller then invalidates it.
 */
export function freshenFromHead(entry: StoredResponse, headHeaders: Headers, requestTime: number, responseTime: number): StoredResponse | null {
  const differs = (name: string): boolean => {
    const a = fieldValue(headHeaders, name);
    const b = fieldValue(entry.headers, name);
    return a !== undefined && b !== undefined && a.trim() !== b.trim();
  };
  if (differs('etag') || differs('last-modified')) return null;
  const cl = fieldValue(headHeaders, 'content-length');
  if (cl !== undefined && cl.trim() !== String(entry.body.length)) return null;
  return freshen(entry, headHeaders, requestTime, responseTime);
}

/* ---------------------------------------------------------------- errors */

/** Statuses (and connection failures) for which a stale response may stand in (RFC 5861 §4). */
const ERROR_STATUSES: ReadonlySet<number> = new Set([500, 502, 503, 504]);

/**
 * Whether a stored response may be served in place of an upstream error (500, 502, 503, 504 or
 * 'connection': no response): never when the response forbids stale use (must-revalidate,
 * proxy-revalidate, s-maxage, no-cache: RFC 9111 wins over RFC 5861's "regardless"); otherwise
 * when its staleness is within the longest of the response's stale-if-error, the request's
 * stale-if-error, the request's max-stale and `settings.staleIfErrorMs`.
 */
export function staleIfErrorAllowed(
  entry: StoredResponse,
  req: RequestDirectives,
  cause: number | 'connection',
  now: number,
  settings: CacheSettings,
): boolean {
  if (cause !== 'connection' && !ERROR_STATUSES.has(cause)) return false;
  const cc = responseDirectives(entry.headers);
  if (cc.unparseable || staleForbidden(cc)) return false;
  const staleness = currentAgeMs(entry, now) - freshness(entry, settings, cc).lifetimeMs;
  const window = Math.max(windowMs(cc, 'stale-if-error'), (req.staleIfError ?? 0) * 1000, (req.maxStale ?? 0) * 1000, settings.staleIfErrorMs);
  return staleness < 0 || (window > 0 && staleness <= window);
}

/* ---------------------------------------------------------------- invalidation */

/**
 * The URLs (`host/path?query`) an exchange invalidates (RFC 9111 §4.4): after an unsafe method
 * (anything but GET, HEAD, OPTIONS, TRACE) answered 2xx or 3xx, the request URL, and the
 * Location and Content-Location URLs when on the same host. `requestUrl` is kept as given.
 */
export function invalidations(method: string, status: number, requestUrl: string, resHeaders: Headers): string[] {
  if (NON_INVALIDATING.has(method) || status < 200 || status > 399) return [];
  const out = [requestUrl];
  let base: URL;
  try {
    base = new URL(`http://${requestUrl}`);
  } catch {
    return out;
  }
  for (const name of ['location', 'content-location']) {
    const lines = fieldLines(resHeaders, name);
    if (lines.length !== 1 || lines[0]!.length > MAX_FIELD_CHARS) continue;
    let u: URL;
    try {
      u = new URL(lines[0]!.trim(), base);
    } catch {
      continue;
    }
    if ((u.protocol !== 'http:' && u.protocol !== 'https:') || u.host !== base.host) continue;
    const key = `${u.host}${u.pathname}${u.search}`;
    if (!out.includes(key)) out.push(key);
  }
  return out;
}

/* ---------------------------------------------------------------- Cache-Status */

export interface CacheStatusParts {
  readonly hit?: boolean;
  readonly fwd?: 'bypass' | 'method' | 'uri-miss' | 'vary-miss' | 'miss' | 'request' | 'stale' | 'partial';
  readonly fwdStatus?: number;
  /** remaining freshness in seconds (negative when stale) */
  readonly ttlS?: number;
  readonly stored?: boolean;
  readonly collapsed?: boolean;
  readonly detail?: string;
}

export const CACHE_NAME = 'Portcullis';

/** An RFC 9211 Cache-Status member for this cache, e.g. `Portcullis; hit; ttl=12`, `Portcullis; fwd=miss; stored`. */
export function cacheStatus(p: CacheStatusParts): string {
  let s = CACHE_NAME;
  if (p.hit === true) s += '; hit';
  if (p.fwd !== undefined) s += `; fwd=${p.fwd}`;
  if (p.fwdStatus !== undefined && Number.isInteger(p.fwdStatus) && p.fwdStatus >= 100 && p.fwdStatus <= 999) s += `; fwd-status=${p.fwdStatus}`;
  if (p.ttlS !== undefined && Number.isFinite(p.ttlS)) s += `; ttl=${Math.max(-DELTA_MAX, Math.min(DELTA_MAX, Math.trunc(p.ttlS)))}`;
  if (p.stored === true) s += '; stored';
  if (p.collapsed === true) s += '; collapsed';
  if (p.detail !== undefined) {
    // an sf-string: printable ASCII only, `"` and `\` escaped, bounded
    const d = p.detail
      .replace(/[^\x20-\x7e]/g, '')
      .slice(0, 200)
      .replace(/["\\]/g, (c) => `\\${c}`);
    s += `; detail="${d}"`;
  }
  return s;
}
