/**
 * A lenient reading of the bytes of a request the HTTP parser refused, for inspection only
 * (WAF, access log). It accepts what llhttp does not (bare LF line ends, invalid header
 * characters, obsolete line folding) so that an attack hidden in malformed framing is seen;
 * nothing read here is ever proxied. Pure, synchronous and bounded by its input.
 */
import { Buffer } from 'node:buffer';
import type { MalformedRequest } from '../core/stage.js';

/** Most body bytes kept for inspection. */
export const MAX_RAW_BODY = 64 * 1024;
/** Most header lines read; the rest of the head is ignored. */
const MAX_HEADER_LINES = 256;
/** Longest method token accepted on a request line. */
const MAX_METHOD = 32;

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const HEAD_END = /\r?\n\r?\n/;
const VERSION = /^HTTP\/\d(?:\.\d)?$/i;

/**
 * The request line: a method token, a target (which may hold spaces: it is what was sent), and
 * an optional HTTP version. Scanned by hand: regexes over a hostile 16 KiB line can backtrack.
 */
function requestLine(line: string): { method: string; target: string } | null {
  const l = line.trim();
  const sp = l.search(/[ \t]/);
  if (sp <= 0 || sp > MAX_METHOD) return null;
  const method = l.slice(0, sp);
  if (!TOKEN.test(method)) return null;
  let target = l.slice(sp + 1).trimStart();
  const last = Math.max(target.lastIndexOf(' '), target.lastIndexOf('\t'));
  if (last > 0 && VERSION.test(target.slice(last + 1))) target = target.slice(0, last).trimEnd();
  return target === '' ? null : { method, target };
}

/** Decodes a chunked body leniently (bare LF, no trailers), stopping where the framing breaks. */
function dechunk(data: Buffer, cap: number): Buffer {
  const out: Buffer[] = [];
  let size = 0;
  let i = 0;
  while (i < data.length && size < cap) {
    const nl = data.indexOf(0x0a, i);
    if (nl < 0) break;
    const hex = (data.toString('latin1', i, Math.min(nl, i + 64)).split(';')[0] ?? '').trim();
    if (!/^[0-9A-Fa-f]{1,8}$/.test(hex)) break;
    const n = Number.parseInt(hex, 16);
    if (n === 0) break;
    const chunk = data.subarray(nl + 1, Math.min(data.length, nl + 1 + n, nl + 1 + cap - size));
    out.push(chunk);
    size += chunk.length;
    i = nl + 1 + n;
    if (data[i] === 0x0d) i++;
    if (data[i] === 0x0a) i++;
  }
  return Buffer.concat(out, size);
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

  // Transfer-Encoding overrides Content-Length (RFC 9112 section 6.3), as an upstream would read it
  const te = headers['transfer-encoding'];
  const chunked = typeof te === 'string' && /(?:^|,)\s*chunked\s*$/i.test(te);
  let bodyEnd = bounded.length;
  const cl = headers['content-length'];
  if (!chunked && typeof cl === 'string' && /^\d{1,15}$/.test(cl)) bodyEnd = Math.min(bodyEnd, bodyStart + Number(cl));
  const rest = bodyStart < bodyEnd ? bounded.subarray(bodyStart, bodyEnd) : Buffer.alloc(0);
  const body = chunked ? dechunk(rest, MAX_RAW_BODY) : Buffer.from(rest.subarray(0, MAX_RAW_BODY));

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
