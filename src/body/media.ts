/**
 * Media types of request bodies, read once (RFC 9110 section 8.3.1): the Content-Type is parsed to
 * the grammar, and what upstream parsers could read differently is refused rather than guessed:
 * whitespace around `=`, a parameter given twice, characters outside the grammar. The one result
 * (`MediaType`) is what every stage reads, and its canonical serialisation is what the upstream
 * receives. Pure and synchronous.
 *
 *   media-type = type "/" subtype *( OWS ";" OWS [ parameter ] )
 *   parameter  = token "=" ( token / quoted-string )
 */
import { isUtf8 } from 'node:buffer';
import type { BodyKind, MediaType } from '../core/reading.js';

export type MediaTypeResult = { readonly ok: true; readonly media: MediaType } | { readonly ok: false; readonly reason: string; readonly unsupported?: true };

/** Most parameters in one Content-Type (a media type has one or two). */
const MAX_PARAMS = 8;

/** tchar (RFC 9110 section 5.6.2) */
const TCHAR = new Uint8Array(128);
for (const c of "!#$%&'*+-.^_`|~") TCHAR[c.charCodeAt(0)] = 1;
for (let c = 0x30; c <= 0x39; c++) TCHAR[c] = 1;
for (let c = 0x41; c <= 0x5a; c++) TCHAR[c] = 1;
for (let c = 0x61; c <= 0x7a; c++) TCHAR[c] = 1;

const isTchar = (c: number): boolean => c < 128 && TCHAR[c] === 1;

/** Which parser a media type (lowercase essence) selects. */
export function bodyKind(essence: string): BodyKind {
  if (essence === 'application/json' || essence.endsWith('+json') || essence === 'text/json') return 'json';
  if (
    essence === 'application/x-ndjson' ||
    essence === 'application/ndjson' ||
    essence === 'application/jsonl' ||
    essence === 'application/x-jsonlines' ||
    essence === 'application/json-seq'
  ) {
    return 'ndjson';
  }
  if (essence === 'application/x-www-form-urlencoded') return 'form';
  if (essence === 'multipart/form-data') return 'multipart';
  if (essence.endsWith('/xml') || essence.endsWith('+xml')) return 'xml';
  if (essence === 'text/plain') return 'text';
  return 'other';
}

function quoteIfNeeded(v: string): string {
  if (v.length > 0) {
    let plain = true;
    for (let i = 0; i < v.length && plain; i++) plain = isTchar(v.charCodeAt(i));
    if (plain) return v;
  }
  return `"${v.replace(/(["\\])/g, '\\$1')}"`;
}

/** Memos of the few Content-Type values a deployment sees (bounded: the values are client input). */
const MEMO_MAX = 64;
const parsed = new Map<string, MediaTypeResult>();
const requested = new Map<string, MediaTypeResult>();

function memo(m: Map<string, MediaTypeResult>, value: string, f: (v: string) => MediaTypeResult): MediaTypeResult {
  const hit = m.get(value);
  if (hit !== undefined) return hit;
  const r = f(value);
  if (value.length <= 128) {
    if (m.size >= MEMO_MAX) m.delete(m.keys().next().value as string);
    m.set(value, r);
  }
  return r;
}

/** Parses a Content-Type field value to the grammar; never throws. */
export function parseMediaType(value: string): MediaTypeResult {
  return memo(parsed, value, parse);
}

let lastValue = '';
let lastResult: MediaTypeResult = { ok: false, reason: 'not a media type' };

/** A request's Content-Type: the grammar, then the request rule of `requestMedia`. */
export function readRequestContentType(value: string): MediaTypeResult {
  // most requests repeat the previous one's value: a comparison, not a hash and a lookup
  if (value === lastValue) return lastResult;
  const r = memo(requested, value, (v) => {
    const p = parse(v);
    return p.ok ? requestMedia(p.media) : p;
  });
  lastValue = value;
  lastResult = r;
  return r;
}

function fail(reason: string): MediaTypeResult {
  return { ok: false, reason };
}

function parse(value: string): MediaTypeResult {
  const n = value.length;
  let i = 0;
  // the field value's own leading and trailing whitespace is not part of it (RFC 9110 section 5.5)
  while (i < n && (value.charCodeAt(i) === 0x20 || value.charCodeAt(i) === 0x09)) i++;
  let end = n;
  while (end > i && (value.charCodeAt(end - 1) === 0x20 || value.charCodeAt(end - 1) === 0x09)) end--;
  const typeStart = i;
  while (i < end && isTchar(value.charCodeAt(i))) i++;
  if (i === typeStart || value.charCodeAt(i) !== 0x2f) return fail('not a media type');
  i++;
  const subStart = i;
  while (i < end && isTchar(value.charCodeAt(i))) i++;
  if (i === subStart) return fail('not a media type');
  const essence = value.slice(typeStart, i).toLowerCase();
  const params = new Map<string, string>();
  let canonical = essence;
  for (;;) {
    // OWS ";" OWS
    while (i < end && (value.charCodeAt(i) === 0x20 || value.charCodeAt(i) === 0x09)) i++;
    if (i >= end) break;
    if (value.charCodeAt(i) !== 0x3b) return fail('unexpected character after the media type');
    i++;
    while (i < end && (value.charCodeAt(i) === 0x20 || value.charCodeAt(i) === 0x09)) i++;
    if (i >= end) break;
    if (value.charCodeAt(i) === 0x3b) continue; // an empty parameter
    const nameStart = i;
    while (i < end && isTchar(value.charCodeAt(i))) i++;
    if (i === nameStart) return fail('parameter name is not a token');
    const name = value.slice(nameStart, i).toLowerCase();
    if (value.charCodeAt(i) !== 0x3d) return fail(`parameter '${name.slice(0, 40)}' without '=' right after its name`);
    i++;
    let v: string;
    if (value.charCodeAt(i) === 0x22) {
      i++;
      let out = '';
      let closed = false;
      while (i < end) {
        const c = value.charCodeAt(i);
        if (c === 0x22) {
          closed = true;
          i++;
          break;
        }
        if (c === 0x5c) {
          const q = value.charCodeAt(i + 1);
          // quoted-pair = "\" ( HTAB / SP / VCHAR ); obs-text is refused
          if (!(q === 0x09 || (q >= 0x20 && q <= 0x7e))) return fail('bad escape in a quoted parameter value');
          out += value[i + 1];
          i += 2;
          continue;
        }
        // qdtext = HTAB / SP / %x21 / %x23-5B / %x5D-7E (obs-text refused)
        if (!(c === 0x09 || (c >= 0x20 && c <= 0x7e))) return fail('character outside the grammar in a quoted parameter value');
        out += value[i];
        i++;
      }
      if (!closed) return fail('unterminated quoted parameter value');
      v = out;
    } else {
      const vs = i;
      while (i < end && isTchar(value.charCodeAt(i))) i++;
      if (i === vs) return fail(`parameter '${name.slice(0, 40)}' has no value`);
      v = value.slice(vs, i);
    }
    if (params.has(name)) return fail(`parameter '${name.slice(0, 40)}' given twice`);
    if (params.size >= MAX_PARAMS) return fail('too many parameters');
    if (name === 'charset') {
      v = v.toLowerCase();
      if (v === 'utf8') v = 'utf-8';
    }
    params.set(name, v);
    canonical += `; ${name}=${quoteIfNeeded(v)}`;
  }
  return { ok: true, media: { essence, params, canonical, kind: bodyKind(essence) } };
}

/**
 * The request-side rule on top of the grammar: text bodies (every kind but `other`) are read as
 * UTF-8, so another charset is refused (415) rather than read one way here and another upstream.
 * `us-ascii` is a subset: it is read, and forwarded as `utf-8`. Returns the media type to use.
 */
export function requestMedia(media: MediaType): MediaTypeResult {
  const charset = media.params.get('charset');
  if (charset === undefined || media.kind === 'other' || charset === 'utf-8') return { ok: true, media };
  if (charset !== 'us-ascii') return { ok: false, reason: `charset ${charset.slice(0, 40)} (only UTF-8 text is read)`, unsupported: true };
  const params = new Map(media.params).set('charset', 'utf-8');
  return { ok: true, media: { ...media, params, canonical: media.canonical.replace('; charset=us-ascii', '; charset=utf-8') } };
}

/** Lowercase `type/subtype` of a Content-Type, '' when absent or unreadable (responses). */
export function mediaTypeOf(contentType: string | undefined): string {
  if (contentType === undefined) return '';
  const r = parseMediaType(contentType);
  return r.ok ? r.media.essence : '';
}

export type TextResult = { readonly ok: true; readonly value: string } | { readonly ok: false; readonly code: 'malformed'; readonly reason: string };

/** A text body: UTF-8 (or US-ASCII) only. */
export function parseText(buf: Buffer): TextResult {
  if (!isUtf8(buf)) return { ok: false, code: 'malformed', reason: 'body is not valid UTF-8' };
  return { ok: true, value: buf.toString('utf8') };
}
