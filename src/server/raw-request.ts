/**
 * A lenient reading of the bytes of a request the HTTP parser refused, for inspection only
 * (WAF, access log). It accepts what llhttp does not (bare LF line ends, invalid header
 * characters, obsolete line folding) so that an attack hidden in malformed framing is seen;
 * nothing read here is ever proxied. Pure, synchronous and bounded by its input.
 */
import type { MalformedRequest } from '../core/stage.js';

/** Most body bytes kept for inspection. */
export const MAX_RAW_BODY = 64 * 1024;
/** Most header lines read; the rest of the head is ignored. */
const MAX_HEADER_LINES = 256;
/** Longest method token accepted on a request line. */
const MAX_METHOD = 32;

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const HEAD_END = /\r?\n\r?\n/;

/** The request line: a method token, a target, and an optional HTTP version. */
function requestLine(line: string): { method: string; target: string } | null {
  const parts = line.trim().split(/[ \t]+/);
  if (parts.length < 2 || parts.length > 3) return null;
  const [method, target, version] = parts as [string, string, string | undefined];
  if (method.length > MAX_METHOD || !TOKEN.test(method)) return null;
  if (version !== undefined && !/^HTTP\/\d(?:\.\d)?$/i.test(version)) return null;
  return { method, target };
}

/**
 * Reads `raw` (at most `maxHeadBytes` of head plus MAX_RAW_BODY of body) as an HTTP/1.x
 * request. When the first line is not a request line (the parser failed in a later packet),
 * method and target are null and every line is read as a header line.
 */
export function parseRawRequest(raw: Buffer, maxHeadBytes: number): MalformedRequest {
  const bounded = raw.length > maxHeadBytes + MAX_RAW_BODY ? raw.subarray(0, maxHeadBytes + MAX_RAW_BODY) : raw;
  // latin1 keeps one character per byte, as Node decodes header values
  const text = bounded.toString('latin1', 0, Math.min(bounded.length, maxHeadBytes));
  const end = HEAD_END.exec(text);
  const head = end === null ? text : text.slice(0, end.index);
  const bodyStart = end === null ? bounded.length : end.index + end[0].length;

  const lines = head.split(/\r?\n/);
  const first = requestLine(lines[0] ?? '');
  const headers: Record<string, string | string[]> = Object.create(null) as Record<string, string | string[]>;
  let last: string | null = null;
  const limit = Math.min(lines.length, MAX_HEADER_LINES + 1);
  for (let i = first === null ? 0 : 1; i < limit; i++) {
    const line = lines[i] as string;
    if ((line.startsWith(' ') || line.startsWith('\t')) && last !== null) {
      // obsolete line folding: a continuation of the previous header's (last) value
      const v = headers[last] as string | string[];
      const folded = ` ${line.trim()}`;
      if (typeof v === 'string') headers[last] = v + folded;
      else v[v.length - 1] += folded;
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) {
      last = null;
      continue;
    }
    const name = line.slice(0, colon).trim().toLowerCase();
    if (name === '') continue;
    const value = line.slice(colon + 1).trim();
    const prev = headers[name];
    headers[name] = prev === undefined ? value : typeof prev === 'string' ? [prev, value] : [...prev, value];
    last = name;
  }

  let bodyEnd = Math.min(bounded.length, bodyStart + MAX_RAW_BODY);
  const cl = headers['content-length'];
  if (typeof cl === 'string' && /^\d{1,15}$/.test(cl)) bodyEnd = Math.min(bodyEnd, bodyStart + Number(cl));
  const body = bodyStart < bodyEnd ? Buffer.from(bounded.subarray(bodyStart, bodyEnd)) : Buffer.alloc(0);

  const target = first?.target ?? null;
  const qi = target === null ? -1 : target.indexOf('?');
  return {
    method: first?.method ?? null,
    target,
    path: target === null ? '' : qi < 0 ? target : target.slice(0, qi),
    query: target === null || qi < 0 ? '' : target.slice(qi + 1),
    headers,
    body,
  };
}
