/**
 * What both cache stores agree on: how a primary key embeds its URL, how an entry is counted in
 * bytes, and when two variants are the same one.
 */
import { createHash } from 'node:crypto';
import type { Headers, StoredResponse } from '../types.js';

/**
 * Ends the URL inside a primary key. A primary key is `<url>\u0000<rest>` (rest: method,
 * partition, anything the stage needs): the URL comes first so that the Redis store can find the
 * keys of a URL prefix with one SCAN MATCH, and NUL cannot occur in an effective request URI.
 */
export const URL_END = '\u0000';

/** The primary key of `url` with `rest` (method, partition). */
export function primaryKey(url: string, rest: string): string {
  if (url.includes(URL_END)) throw new TypeError('a cache URL cannot contain NUL');
  return url + URL_END + rest;
}

/** The URL a primary key names, or null when the key is not `<url>\u0000<rest>`. */
export function urlOfPrimary(primary: string): string | null {
  const i = primary.indexOf(URL_END);
  return i < 0 ? null : primary.slice(0, i);
}

/** Throws unless `primary` embeds `entry.url` as `primaryKey()` builds it (both stores check it on put). */
export function checkPrimary(primary: string, url: string): void {
  if (primary.length <= url.length || !primary.startsWith(url) || primary.charCodeAt(url.length) !== 0) {
    throw new TypeError(`cache primary key must be primaryKey(entry.url, rest) ("<url>\\u0000<rest>"); got a key that does not start with the entry's url`);
  }
}

/** Fixed cost counted per entry on top of its strings and body (object headers, map and list slots). */
export const ENTRY_OVERHEAD = 256;

function utf8(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

/** The bytes an entry counts for: body + header names and values + url + tags + vary + primary key + a fixed overhead. */
export function entryBytes(primary: string, e: StoredResponse): number {
  let n = ENTRY_OVERHEAD + e.body.length + utf8(primary) + utf8(e.url);
  const h = e.headers;
  for (const name in h) {
    const v = h[name];
    n += utf8(name);
    if (typeof v === 'string') n += utf8(v);
    else if (v !== undefined) for (const x of v) n += utf8(x);
  }
  for (const t of e.tags) n += utf8(t);
  const vary = e.vary;
  if (vary !== null) {
    for (const k in vary) {
      const v = vary[k];
      n += utf8(k) + (typeof v === 'string' ? utf8(v) : 0);
    }
  }
  return n;
}

/** True when two `vary` records select the same variant (same names, same values; order does not matter). */
export function sameVary(a: StoredResponse['vary'], b: StoredResponse['vary']): boolean {
  if (a === null || b === null) return a === b;
  let n = 0;
  for (const k in a) {
    if (!Object.hasOwn(b, k) || b[k] !== a[k]) return false;
    n++;
  }
  return n === Object.keys(b).length;
}

/**
 * A short id of a variant (equal for `sameVary` records): `-` without Vary, else 16 hex digits of
 * SHA-256 over the sorted name/value pairs (the Redis store's hash field names).
 */
export function varyId(vary: StoredResponse['vary']): string {
  if (vary === null) return '-';
  const pairs = Object.keys(vary)
    .sort()
    .map((k) => [k, vary[k] ?? null]);
  return createHash('sha256').update(JSON.stringify(pairs)).digest('hex').slice(0, 16);
}

/** Positive integer option, or the default; throws RangeError on anything else. */
export function positiveInt(name: string, v: number | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  if (!Number.isSafeInteger(v) || v < 1) throw new RangeError(`${name} must be a positive integer`);
  return v;
}

/** Metadata of one variant as both stores keep it, beside its body (short names: it is read on every hit). */
interface Meta {
  /** status */
  s: number;
  h: Headers;
  /** requestTime, responseTime */
  q: number;
  r: number;
  v: Record<string, string | null> | null;
  t: readonly string[];
  u: string;
}

/** The metadata of `e` (everything but its body) as JSON. */
export function metaJson(e: StoredResponse): string {
  const m: Meta = { s: e.status, h: e.headers, q: e.requestTime, r: e.responseTime, v: e.vary, t: e.tags, u: e.url };
  return JSON.stringify(m);
}

/** The stored variant of `metaJson` text and its body, or null when the text is not what the stores write (another version, a foreign key). */
export function fromMeta(text: string, body: Buffer): StoredResponse | null {
  let m: unknown;
  try {
    m = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof m !== 'object' || m === null) return null;
  const x = m as Partial<Meta>;
  if (
    typeof x.s !== 'number' ||
    typeof x.h !== 'object' ||
    x.h === null ||
    typeof x.q !== 'number' ||
    typeof x.r !== 'number' ||
    typeof x.v !== 'object' ||
    !Array.isArray(x.t) ||
    typeof x.u !== 'string'
  ) {
    return null;
  }
  return { status: x.s, headers: x.h, body, requestTime: x.q, responseTime: x.r, vary: x.v, tags: x.t, url: x.u };
}
