/**
 * Request `Content-Encoding` (RFC 9110 section 8.4): a compressed body is either refused or decoded
 * before any stage reads it, never inspected compressed and inflated by the upstream. Decoding is
 * bounded twice: by the route's body limit (on the decoded size) and by a ratio of decoded to
 * encoded bytes, so that a small bomb cannot make the gateway allocate up to the limit for every
 * request. The decoded body is what is forwarded, without Content-Encoding.
 */
import { promisify } from 'node:util';
import zlib from 'node:zlib';

export interface DecodeLimits {
  /** largest decoded body in bytes */
  readonly maxBytes: number;
  /** largest decoded / encoded size ratio */
  readonly maxRatio: number;
}

export type DecodeResult =
  | { readonly ok: true; readonly body: Buffer; readonly decoded: boolean }
  | { readonly ok: false; readonly code: 'unsupported' | 'too_large' | 'malformed'; readonly reason: string };

/** Most codings applied one over another that are undone. */
const MAX_CODINGS = 2;

const gunzip = promisify(zlib.gunzip);
const inflate = promisify(zlib.inflate);
const brotli = promisify(zlib.brotliDecompress);

type Coding = 'gzip' | 'deflate' | 'br';

/** The codings of a Content-Encoding value in the order they were applied ('identity' left out), or why not. */
export function parseCodings(header: string): Coding[] | string {
  const out: Coding[] = [];
  for (const raw of header.split(',')) {
    const c = raw.trim().toLowerCase();
    if (c === '' || c === 'identity') continue;
    if (c === 'gzip' || c === 'x-gzip') out.push('gzip');
    else if (c === 'deflate') out.push('deflate');
    else if (c === 'br') out.push('br');
    else return `content-encoding ${c.slice(0, 20)} is not supported`;
  }
  if (out.length > MAX_CODINGS) return `more than ${MAX_CODINGS} content codings`;
  return out;
}

/** True when the header names a coding other than identity. */
export function isEncoded(header: string | undefined): boolean {
  if (header === undefined) return false;
  const r = parseCodings(header);
  return typeof r === 'string' || r.length > 0;
}

/** Undoes the codings of `header` on `body` within the limits. */
export async function decodeBody(body: Buffer, header: string, limits: DecodeLimits): Promise<DecodeResult> {
  const codings = parseCodings(header);
  if (typeof codings === 'string') return { ok: false, code: 'unsupported', reason: codings };
  if (codings.length === 0) return { ok: true, body, decoded: false };
  let out = body;
  for (let i = codings.length - 1; i >= 0; i--) {
    const max = Math.min(limits.maxBytes, Math.max(1, Math.floor(out.length * limits.maxRatio)));
    const opts = { maxOutputLength: Math.max(1, max) };
    try {
      const c = codings[i];
      out = c === 'gzip' ? await gunzip(out, opts) : c === 'deflate' ? await inflate(out, opts) : await brotli(out, opts);
    } catch (e) {
      const code = (e as { code?: string }).code;
      if (code === 'ERR_BUFFER_TOO_LARGE') {
        return {
          ok: false,
          code: 'too_large',
          reason: max < limits.maxBytes ? `decoded body over ${limits.maxRatio}x its encoded size` : `decoded body over ${limits.maxBytes} bytes`,
        };
      }
      return { ok: false, code: 'malformed', reason: `body is not valid ${codings[i]} data` };
    }
  }
  return { ok: true, body: out, decoded: true };
}
