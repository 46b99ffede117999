/**
 * Pure claim checks (time passed in): iss, aud, exp, nbf, iat with clock skew, maximum age,
 * required claims, typ.
 */
import type { TokenError } from './token.js';

export interface ClaimPolicy {
  readonly issuer: string;
  readonly audiences: readonly string[];
  readonly requiredClaims: readonly string[];
  readonly skewS: number;
  /** 0: no limit */
  readonly maxAgeS: number;
  /** expected `typ`, normalised (lowercase, without `application/`), or null */
  readonly typ: string | null;
}

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

export function normaliseTyp(typ: string): string {
  const t = typ.toLowerCase();
  return t.startsWith('application/') ? t.slice('application/'.length) : t;
}

/** Returns null when the claims are acceptable at `nowMs`. */
export function checkClaims(
  header: Readonly<Record<string, unknown>>,
  payload: Readonly<Record<string, unknown>>,
  policy: ClaimPolicy,
  nowMs: number,
): TokenError | null {
  if (policy.typ !== null) {
    const typ = header.typ;
    if (typeof typ !== 'string' || normaliseTyp(typ) !== policy.typ) return { code: 'PC_ERR_AUTH_TOKEN_HEADER', reason: 'typ not accepted' };
  }
  if (payload.iss !== policy.issuer) return { code: 'PC_ERR_AUTH_TOKEN_CLAIMS', reason: 'iss not accepted' };
  for (const c of policy.requiredClaims) {
    if (payload[c] === undefined || payload[c] === null) return { code: 'PC_ERR_AUTH_TOKEN_CLAIMS', reason: `claim ${c} missing` };
  }
  // NumericDates compare with the current time in whole seconds (RFC 7519 section 2), as jose does
  const now = Math.floor(nowMs / 1000);
  const { exp, nbf, iat } = payload;
  if (exp !== undefined) {
    if (!isNum(exp)) return { code: 'PC_ERR_AUTH_TOKEN_CLAIMS', reason: 'exp not a number' };
    if (now >= exp + policy.skewS) return { code: 'PC_ERR_AUTH_TOKEN_EXPIRED', reason: 'expired' };
  }
  if (nbf !== undefined) {
    if (!isNum(nbf)) return { code: 'PC_ERR_AUTH_TOKEN_CLAIMS', reason: 'nbf not a number' };
    if (nbf > now + policy.skewS) return { code: 'PC_ERR_AUTH_TOKEN_NOT_YET_VALID', reason: 'nbf in the future' };
  }
  if (iat !== undefined) {
    if (!isNum(iat)) return { code: 'PC_ERR_AUTH_TOKEN_CLAIMS', reason: 'iat not a number' };
    if (iat > now + policy.skewS) return { code: 'PC_ERR_AUTH_TOKEN_NOT_YET_VALID', reason: 'iat in the future' };
  }
  if (policy.maxAgeS > 0) {
    if (!isNum(iat)) return { code: 'PC_ERR_AUTH_TOKEN_CLAIMS', reason: 'iat missing (max age)' };
    if (now - iat > policy.maxAgeS + policy.skewS) return { code: 'PC_ERR_AUTH_TOKEN_EXPIRED', reason: 'older than max age' };
  }
  if (policy.audiences.length > 0) {
    const aud = payload.aud;
    const list = typeof aud === 'string' ? [aud] : Array.isArray(aud) ? aud : null;
    if (list === null || !list.some((a) => typeof a === 'string' && policy.audiences.includes(a))) {
      return { code: 'PC_ERR_AUTH_TOKEN_CLAIMS', reason: 'aud not accepted' };
    }
  }
  if (payload.sub !== undefined && typeof payload.sub !== 'string') return { code: 'PC_ERR_AUTH_TOKEN_CLAIMS', reason: 'sub not a string' };
  if (payload.jti !== undefined && (typeof payload.jti !== 'string' || payload.jti.length > 256)) {
    return { code: 'PC_ERR_AUTH_TOKEN_CLAIMS', reason: 'jti not acceptable' };
  }
  return null;
}

/** Value at a dotted path of the claims (`realm_access.roles`). */
export function claimAt(claims: Readonly<Record<string, unknown>>, path: string): unknown {
  if (!path.includes('.')) return claims[path];
  let v: unknown = claims;
  for (const seg of path.split('.')) {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return undefined;
    v = (v as Record<string, unknown>)[seg];
  }
  return v;
}

/** Strings from a space-separated string or an array of strings; bounded. */
export function stringList(v: unknown, max = 256): string[] {
  if (typeof v === 'string')
    return v
      .split(' ')
      .filter((s) => s !== '')
      .slice(0, max);
  if (Array.isArray(v)) return v.filter((s): s is string => typeof s === 'string').slice(0, max);
  return [];
}
