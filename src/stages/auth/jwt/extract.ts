/**
 * Finds the bearer token of a request: the Authorization header (`Bearer`), or a configured
 * header or cookie; the query string only where enabled. A request carrying two tokens (two
 * Authorization headers, header and cookie, a repeated parameter) is refused.
 */
import type { IncomingMessage } from 'node:http';
import type { TokenError } from './token.js';

export interface TokenSources {
  /** lowercase header name */
  readonly header: string;
  readonly cookie: string | null;
  readonly query: string | null;
  readonly queryEnabled: boolean;
}

export type Extracted =
  | { readonly kind: 'absent' }
  | { readonly kind: 'fail'; readonly error: TokenError }
  | { readonly kind: 'token'; readonly token: string };

const ABSENT: Extracted = { kind: 'absent' };
const fail = (code: TokenError['code'], reason: string): Extracted => ({ kind: 'fail', error: { code, reason } });

function countRawHeader(raw: readonly string[], name: string): number {
  let n = 0;
  for (let i = 0; i < raw.length; i += 2) {
    const k = raw[i] as string;
    if (k.length === name.length && k.toLowerCase() === name) n++;
  }
  return n;
}

/** Values of a cookie (all occurrences). */
function cookieValues(header: string, name: string): string[] {
  const out: string[] = [];
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) out.push(part.slice(eq + 1).trim());
  }
  return out;
}

/** Values of a query parameter (all occurrences, percent-decoded). */
export function queryValues(query: string, name: string): string[] {
  const out: string[] = [];
  for (const part of query.split('&')) {
    const eq = part.indexOf('=');
    const k = eq < 0 ? part : part.slice(0, eq);
    if (k !== name) continue;
    try {
      out.push(decodeURIComponent((eq < 0 ? '' : part.slice(eq + 1)).replace(/\+/g, ' ')));
    } catch {
      out.push('\u0000');
    }
  }
  return out;
}

export function extractToken(req: IncomingMessage, query: string, src: TokenSources): Extracted {
  let token: string | null = null;
  let count = 0;
  const hv = req.headers[src.header];
  if (hv !== undefined) {
    if (typeof hv !== 'string') return fail('PC_ERR_AUTH_TOKEN_MULTIPLE', 'header repeated');
    let t: string | null = null;
    if (src.header === 'authorization') {
      if (hv.length >= 7 && hv.slice(0, 7).toLowerCase() === 'bearer ') {
        t = hv.slice(7).trim();
        // node keeps only the first Authorization header: look at the raw list for a second one
        if (countRawHeader(req.rawHeaders, 'authorization') > 1) return fail('PC_ERR_AUTH_TOKEN_MULTIPLE', 'two Authorization headers');
      } else if (hv.length === 6 && hv.toLowerCase() === 'bearer') {
        return fail('PC_ERR_AUTH_TOKEN_MALFORMED', 'empty token');
      }
    } else {
      t = hv.trim();
    }
    if (t !== null) {
      if (t === '') return fail('PC_ERR_AUTH_TOKEN_MALFORMED', 'empty token');
      if (t.includes(',')) return fail('PC_ERR_AUTH_TOKEN_MULTIPLE', 'several tokens in the header');
      if (t.includes(' ') || t.includes('\t')) return fail('PC_ERR_AUTH_TOKEN_MALFORMED', 'whitespace in token');
      token = t;
      count++;
    }
  }
  if (src.cookie !== null) {
    const ch = req.headers.cookie;
    if (ch !== undefined && ch.includes(src.cookie)) {
      const vals = cookieValues(ch, src.cookie);
      if (vals.length > 0) {
        count += vals.length;
        token = vals[0] as string;
      }
    }
  }
  if (src.query !== null && query !== '' && query.includes(src.query)) {
    const vals = queryValues(query, src.query);
    if (vals.length > 0) {
      if (!src.queryEnabled) return fail('PC_ERR_AUTH_TOKEN_QUERY', 'token in query string');
      count += vals.length;
      token = vals[0] as string;
    }
  }
  if (count > 1) return fail('PC_ERR_AUTH_TOKEN_MULTIPLE', 'more than one token');
  if (token === null) return ABSENT;
  if (token === '') return fail('PC_ERR_AUTH_TOKEN_MALFORMED', 'empty token');
  return { kind: 'token', token };
}
