/**
 * Pure decision code of the authentication stage: combining verifier results (OR of AND sets),
 * building the principal, and the RFC 6750 WWW-Authenticate challenges.
 */
import type { Deny } from '../../core/decision.js';
import { deny } from '../../core/decision.js';
import { ERRORS, type ErrorCode } from '../../core/errors.js';
import type { AuthMethod, Principal } from '../../core/principal.js';
import type { Identity, VerifyResult } from './types.js';

/** Result of one requirement set (its methods ANDed). */
export type SetOutcome =
  | { readonly kind: 'absent' }
  | { readonly kind: 'fail'; readonly deny: Deny; readonly method: AuthMethod }
  | { readonly kind: 'ok'; readonly identities: readonly Identity[] };

/** Folds the results of a set's methods in order: a failure wins, then absence, else all ok. */
export function combineSet(results: readonly { readonly method: AuthMethod; readonly result: VerifyResult }[]): SetOutcome {
  const ids: Identity[] = [];
  let absent = false;
  for (const { method, result } of results) {
    if (result.kind === 'fail') return { kind: 'fail', deny: result.deny, method };
    if (result.kind === 'absent') absent = true;
    else ids.push(result.identity);
  }
  return absent ? { kind: 'absent' } : { kind: 'ok', identities: ids };
}

/** Scopes of `required` missing from `have`. */
export function missingScopes(have: readonly string[], required: readonly string[]): string[] {
  return required.filter((s) => !have.includes(s));
}

/**
 * One principal from the identities of a satisfied set. Two credentials naming different
 * consumers or tenants are refused (a stolen token cannot ride on someone else's certificate).
 */
export function buildPrincipal(identities: readonly Identity[]): Principal | Deny {
  const first = identities[0];
  if (first === undefined) return deny('PC_ERR_AUTH_REQUIRED', { reason: 'no identity' });
  if (identities.length === 1) {
    return {
      consumer: first.consumer,
      tenant: first.tenant,
      methods: [first.method],
      scopes: first.scopes,
      roles: first.roles,
      claims: first.claims,
      plan: first.plan,
    };
  }
  let consumer: string | null = null;
  let tenant: string | null = null;
  let plan: string | null = null;
  const methods: AuthMethod[] = [];
  const scopes: string[] = [];
  const roles: string[] = [];
  const claims: Record<string, unknown> = {};
  for (const id of identities) {
    if (id.consumer !== null) {
      if (consumer !== null && consumer !== id.consumer) return deny('PC_ERR_AUTH_INVALID', { reason: 'credentials name different consumers' });
      consumer = id.consumer;
    }
    if (id.tenant !== null) {
      if (tenant !== null && tenant !== id.tenant) return deny('PC_ERR_AUTH_INVALID', { reason: 'credentials name different tenants' });
      tenant = id.tenant;
    }
    plan ??= id.plan;
    if (!methods.includes(id.method)) methods.push(id.method);
    for (const s of id.scopes) if (!scopes.includes(s)) scopes.push(s);
    for (const r of id.roles) if (!roles.includes(r)) roles.push(r);
    for (const [k, v] of Object.entries(id.claims)) if (!(k in claims)) claims[k] = v;
  }
  return { consumer, tenant, methods, scopes, roles, claims, plan };
}

const SCHEME: Record<AuthMethod, string | null> = {
  jwt: 'Bearer',
  api_key: 'ApiKey',
  signature: 'Signature',
  mtls: null,
  none: null,
};

/** RFC 6750 error code of a denial. */
export function bearerError(code: ErrorCode): 'invalid_request' | 'invalid_token' | 'insufficient_scope' | null {
  if (code === 'PC_ERR_AUTH_REQUIRED') return null;
  if (code === 'PC_ERR_INSUFFICIENT_SCOPE') return 'insufficient_scope';
  if (code === 'PC_ERR_AUTH_TOKEN_MULTIPLE' || code === 'PC_ERR_AUTH_TOKEN_QUERY') return 'invalid_request';
  return 'invalid_token';
}

const quote = (s: string): string => s.replace(/["\\\r\n]/g, '');

/**
 * WWW-Authenticate value. Without `code`: one challenge per scheme of the route's methods
 * (no credentials presented, RFC 6750 §3.1: no error). With a code: the failing method's
 * scheme with `error` and a safe description (the catalogue title).
 */
export function challenge(realm: string, methods: readonly AuthMethod[], code?: ErrorCode, scopes?: readonly string[]): string {
  const r = `realm="${quote(realm)}"`;
  if (code === undefined) {
    const parts: string[] = [];
    for (const m of methods) {
      const s = SCHEME[m];
      if (s !== null && !parts.some((p) => p.startsWith(`${s} `))) parts.push(`${s} ${r}`);
    }
    if (parts.length === 0) parts.push(methods.includes('mtls') ? `ClientCertificate ${r}` : `Bearer ${r}`);
    return parts.join(', ');
  }
  const m = methods[0] ?? 'jwt';
  const scheme = SCHEME[m] ?? (m === 'mtls' ? 'ClientCertificate' : 'Bearer');
  const err = bearerError(code);
  let v = `${scheme} ${r}`;
  if (err !== null) v += `, error="${err}", error_description="${quote(ERRORS[code].title)}"`;
  if (err === 'insufficient_scope' && scopes !== undefined && scopes.length > 0) v += `, scope="${quote(scopes.join(' '))}"`;
  return v;
}

/** Adds the challenge to a 401 (or an insufficient-scope 403) that has none. */
export function withChallenge(d: Deny, realm: string, method: AuthMethod, routeMethods: readonly AuthMethod[], scopes?: readonly string[]): Deny {
  if (d.headers?.['www-authenticate'] !== undefined || d.headers?.['WWW-Authenticate'] !== undefined) return d;
  const status = d.status ?? ERRORS[d.code].status;
  if (status !== 401 && d.code !== 'PC_ERR_INSUFFICIENT_SCOPE') return d;
  const value = d.code === 'PC_ERR_AUTH_REQUIRED' ? challenge(realm, routeMethods) : challenge(realm, [method], d.code, scopes);
  return { ...d, headers: { ...(d.headers ?? {}), 'www-authenticate': value } };
}

/** Header values are visible ASCII; anything else is percent-encoded. */
export function headerValue(v: string): string {
  // eslint-disable-next-line no-control-regex
  return /^[\x20-\x7e]*$/.test(v) ? v : encodeURIComponent(v);
}

/** A claim as a header value: strings, numbers and booleans; arrays of them joined by `,`. Null otherwise. */
export function claimHeaderValue(v: unknown): string | null {
  if (typeof v === 'string') return headerValue(v);
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v) && v.every((x) => typeof x === 'string' || typeof x === 'number' || typeof x === 'boolean')) {
    return headerValue(v.map(String).join(','));
  }
  return null;
}
