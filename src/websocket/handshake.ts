/**
 * The checks of a WebSocket opening handshake (RFC 6455 section 4.2.1) and of its origin, before
 * any request stage runs: pure, on the request line and fields as node:http read them.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Deny } from '../core/decision.js';

/** base64 of 16 bytes (RFC 6455 section 4.1: the nonce) */
const KEY = /^[A-Za-z0-9+/]{21}[AQgw]==$/;
/** an RFC 9110 token (a subprotocol name) */
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** Subprotocols one handshake may offer. Why: real clients offer one or two; the list is bounded. */
export const MAX_SUBPROTOCOLS = 16;

/** The handshake as read: method, HTTP minor version, fields (lowercase names). */
export interface Handshake {
  readonly method: string;
  readonly httpVersionMinor: number;
  readonly headers: IncomingHttpHeaders;
  /** a body follows the handshake */
  readonly hasBody: boolean;
}

/** The route's origin policy: exact origins (lowercase), any, or the request's own host (null). */
export type OriginPolicy = { readonly any: true } | { readonly any: false; readonly allowed: ReadonlySet<string> } | null;

export function originPolicy(origins: readonly string[] | undefined): OriginPolicy {
  if (origins === undefined) return null;
  if (origins.includes('*')) return { any: true };
  return { any: false, allowed: new Set(origins.map((o) => o.toLowerCase().replace(/\/$/, ''))) };
}

const bad = (reason: string): Deny => ({ code: 'PC_ERR_WEBSOCKET_HANDSHAKE', reason });

function single(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? (v.length === 1 ? v[0] : undefined) : v;
}

/** The subprotocols a client offers, in order; null when the field is malformed (empty, not tokens, repeated, too many). */
export function offeredProtocols(v: string | string[] | undefined): string[] | null {
  if (v === undefined) return [];
  const joined = Array.isArray(v) ? v.join(',') : v;
  const out: string[] = [];
  for (const part of joined.split(',')) {
    const p = part.trim();
    if (!TOKEN.test(p) || out.includes(p)) return null;
    out.push(p);
  }
  return out.length > MAX_SUBPROTOCOLS ? null : out;
}

/** Whether `origin` may open a WebSocket on a route with `policy`, for a request to `host` (its Host field). */
export function originAllowed(origin: string | undefined, policy: OriginPolicy, host: string | undefined): boolean {
  if (origin === undefined) return true; // not a browser: the credential stages decide
  if (policy !== null && policy.any) return true;
  const o = origin.trim().toLowerCase();
  if (policy !== null) return policy.allowed.has(o);
  // same origin: the Origin's host[:port] is the Host the client asked for
  if (host === undefined) return false;
  let u: URL;
  try {
    u = new URL(o);
  } catch {
    return false;
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return false;
  return u.host === host.trim().toLowerCase();
}

/** Why a WebSocket handshake is refused before the request stages, or undefined when it may proceed. */
export function handshakeRefusal(h: Handshake, policy: OriginPolicy): Deny | undefined {
  if (h.method !== 'GET') return bad('a WebSocket handshake is a GET');
  if (h.httpVersionMinor < 1) return bad('a WebSocket handshake needs HTTP/1.1');
  if (h.hasBody) return bad('a WebSocket handshake has no body');
  const f = h.headers;
  const conn = f.connection;
  if (conn === undefined || !conn.split(',').some((t) => t.trim().toLowerCase() === 'upgrade')) return bad('Connection does not name upgrade');
  const version = single(f['sec-websocket-version']);
  if (version?.trim() !== '13') {
    return { code: 'PC_ERR_WEBSOCKET_HANDSHAKE', status: 426, headers: { 'sec-websocket-version': '13' }, reason: 'Sec-WebSocket-Version is not 13' };
  }
  const key = single(f['sec-websocket-key']);
  if (key === undefined || !KEY.test(key.trim())) return bad('Sec-WebSocket-Key is not 16 bytes in base64');
  if (offeredProtocols(f['sec-websocket-protocol']) === null) return bad('Sec-WebSocket-Protocol is malformed');
  const origin = f.origin as string | string[] | undefined;
  if (Array.isArray(origin) || !originAllowed(origin, policy, single(f.host))) return { code: 'PC_ERR_WEBSOCKET_ORIGIN', reason: 'origin not allowed' };
  return undefined;
}
