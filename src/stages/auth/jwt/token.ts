/**
 * Pure JWS compact parsing with strict checks (no key material involved): size, segment count,
 * strict base64url, UTF-8 JSON objects, and header parameters that are never acceptable
 * (alg none, jku/x5u/jwk/x5c, crit, JWE-shaped headers, hostile kid values).
 */
import { isUtf8 } from 'node:buffer';
import type { ErrorCode } from '../../../core/errors.js';

export interface Jws {
  readonly header: Readonly<Record<string, unknown>>;
  readonly payload: Readonly<Record<string, unknown>>;
  readonly alg: string;
  readonly kid: string | null;
  /** `header.payload`, the bytes that were signed */
  readonly signingInput: string;
  readonly signature: Buffer;
}

export interface TokenError {
  readonly code: ErrorCode;
  /** for logs and metrics; never contains the token */
  readonly reason: string;
}

export type ParseResult = { readonly ok: true; readonly jws: Jws } | { readonly ok: false; readonly error: TokenError };

const B64URL = /^[A-Za-z0-9_-]*$/;
/** kid values seen in the wild: base64(url), UUIDs, thumbprints, short names */
const KID = /^[A-Za-z0-9._~+/=:-]{1,256}$/;
/** header parameters naming keys elsewhere: the gateway never fetches or trusts keys from the token */
const KEY_REFERENCE_PARAMS = ['jku', 'x5u', 'jwk', 'x5c'] as const;

const fail = (code: ErrorCode, reason: string): ParseResult => ({ ok: false, error: { code, reason } });

function decodeSegment(seg: string): Buffer | null {
  if (!B64URL.test(seg) || seg.length % 4 === 1) return null;
  return Buffer.from(seg, 'base64url');
}

function decodeJsonObject(seg: string): Record<string, unknown> | null {
  const buf = decodeSegment(seg);
  // JSON in a JWS is UTF-8 (RFC 7515 section 5.2): other bytes would read as U+FFFD, and two signed values as one
  if (buf === null || buf.length === 0 || !isUtf8(buf)) return null;
  let v: unknown;
  try {
    v = JSON.parse(buf.toString('utf8'));
  } catch {
    return null;
  }
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
}

/** Parses a compact JWS; every refusal names a stable code. */
export function parseJws(token: string, maxBytes: number): ParseResult {
  if (token.length > maxBytes) return fail('PC_ERR_AUTH_TOKEN_TOO_LARGE', 'token over size limit');
  const d1 = token.indexOf('.');
  const d2 = d1 < 0 ? -1 : token.indexOf('.', d1 + 1);
  if (d1 < 0 || d2 < 0) return fail('PC_ERR_AUTH_TOKEN_MALFORMED', 'not three segments');
  if (token.indexOf('.', d2 + 1) >= 0) {
    const parts = token.split('.').length;
    return fail('PC_ERR_AUTH_TOKEN_MALFORMED', parts === 5 ? 'JWE where a JWS is expected' : 'extra segments');
  }
  const h = token.slice(0, d1);
  const p = token.slice(d1 + 1, d2);
  const s = token.slice(d2 + 1);
  const header = decodeJsonObject(h);
  if (header === null) return fail('PC_ERR_AUTH_TOKEN_MALFORMED', 'header is not base64url JSON');
  const alg = header.alg;
  if (typeof alg !== 'string' || alg === '') return fail('PC_ERR_AUTH_TOKEN_HEADER', 'alg missing');
  if (alg.toLowerCase() === 'none') return fail('PC_ERR_AUTH_TOKEN_ALG', 'alg none');
  if ('enc' in header) return fail('PC_ERR_AUTH_TOKEN_MALFORMED', 'JWE header where a JWS is expected');
  for (const param of KEY_REFERENCE_PARAMS) {
    if (param in header) return fail('PC_ERR_AUTH_TOKEN_HEADER', `${param} header not accepted`);
  }
  if ('crit' in header) return fail('PC_ERR_AUTH_TOKEN_HEADER', 'unsupported crit');
  if ('b64' in header) return fail('PC_ERR_AUTH_TOKEN_HEADER', 'b64 header not accepted');
  let kid: string | null = null;
  if ('kid' in header) {
    const k = header.kid;
    if (typeof k !== 'string' || !KID.test(k) || k.includes('..')) return fail('PC_ERR_AUTH_TOKEN_HEADER', 'kid not acceptable');
    kid = k;
  }
  const payload = decodeJsonObject(p);
  if (payload === null) return fail('PC_ERR_AUTH_TOKEN_MALFORMED', 'payload is not base64url JSON');
  if (s === '') return fail('PC_ERR_AUTH_TOKEN_SIGNATURE', 'signature missing');
  const signature = decodeSegment(s);
  if (signature === null) return fail('PC_ERR_AUTH_TOKEN_MALFORMED', 'signature is not base64url');
  return { ok: true, jws: { header, payload, alg, kid, signingInput: token.slice(0, d2), signature } };
}
