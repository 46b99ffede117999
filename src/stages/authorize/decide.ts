/**
 * Pure authorization decision: principal + compiled policy + path parameters → continue or deny.
 * Order: authentication present, tenant ownership, parameter binding, scopes, roles, claims.
 */
import { deny, type Deny } from '../../core/decision.js';
import type { Principal } from '../../core/principal.js';
import { DnError, dnKey, parseDn } from '../auth/verifiers/dn.js';

export interface Requirement {
  readonly allOf: readonly string[];
  readonly anyOf: readonly string[];
}

export type ClaimMatcher =
  | { readonly claim: string; readonly kind: 'equals'; readonly value: string | number | boolean }
  | { readonly claim: string; readonly kind: 'in'; readonly values: readonly (string | number | boolean)[] }
  | { readonly claim: string; readonly kind: 'contains'; readonly value: string | number | boolean }
  | { readonly claim: string; readonly kind: 'present'; readonly present: boolean }
  /** `equals`/`in` on a certificate name claim (DN_CLAIMS): compared as structures (dnKey) */
  | { readonly claim: string; readonly kind: 'dn'; readonly keys: ReadonlySet<string> };

/** Claims of an mTLS principal that hold distinguished names (RFC 4514 text, src/stages/auth/verifiers/mtls.ts). */
export const DN_CLAIMS: ReadonlySet<string> = new Set(['cert_subject', 'cert_issuer']);

/** dnKey of an RFC 4514 string, or null when it does not parse. */
export function dnKeyOf(v: unknown): string | null {
  if (typeof v !== 'string') return null;
  try {
    return dnKey(parseDn(v));
  } catch (e) {
    if (e instanceof DnError) return null;
    throw e;
  }
}

export interface Policy {
  readonly scopes: Requirement | null;
  readonly roles: Requirement | null;
  readonly claims: readonly ClaimMatcher[];
  /** tenants owning the route; empty: any tenant */
  readonly tenants: ReadonlySet<string>;
  readonly bind: readonly { readonly param: string; readonly claim: string }[];
}

export function claimValue(claims: Readonly<Record<string, unknown>>, path: string): unknown {
  if (Object.hasOwn(claims, path)) return claims[path];
  let v: unknown = claims;
  for (const seg of path.split('.')) {
    if (v === null || typeof v !== 'object' || Array.isArray(v) || !Object.hasOwn(v, seg)) return undefined;
    v = (v as Record<string, unknown>)[seg];
  }
  return v;
}

/** `tenant` and `consumer` name the principal's own attributes; anything else is a claim. */
export function principalAttribute(p: Principal, name: string): unknown {
  if (name === 'tenant') return p.tenant;
  if (name === 'consumer') return p.consumer;
  return claimValue(p.claims, name);
}

function satisfies(have: readonly string[], req: Requirement): string[] {
  const missing = req.allOf.filter((s) => !have.includes(s));
  if (req.anyOf.length > 0 && !req.anyOf.some((s) => have.includes(s))) missing.push(`one of ${req.anyOf.join('|')}`);
  return missing;
}

function matches(m: ClaimMatcher, v: unknown): boolean {
  switch (m.kind) {
    case 'present':
      return (v !== undefined && v !== null) === m.present;
    case 'equals':
      return v === m.value;
    case 'in':
      return m.values.some((x) => x === v);
    case 'contains':
      if (Array.isArray(v)) return v.some((x) => x === m.value);
      return typeof v === 'string' && typeof m.value === 'string' && v.split(' ').includes(m.value);
    case 'dn': {
      const k = dnKeyOf(v);
      return k !== null && m.keys.has(k);
    }
  }
}

export function decide(principal: Principal | null, policy: Policy, params: Readonly<Record<string, string>>): Deny | undefined {
  if (principal === null) return deny('PC_ERR_AUTH_REQUIRED', { reason: 'no principal (route is not authenticated)' });
  if (policy.tenants.size > 0 && (principal.tenant === null || !policy.tenants.has(principal.tenant))) {
    return deny('PC_ERR_TENANT_MISMATCH', { reason: principal.tenant === null ? 'principal has no tenant' : 'route owned by another tenant' });
  }
  for (const b of policy.bind) {
    const want = params[b.param];
    const have = principalAttribute(principal, b.claim);
    const ok = want !== undefined && (typeof have === 'string' || typeof have === 'number') && String(have) === want;
    if (!ok) {
      return deny(b.claim === 'tenant' ? 'PC_ERR_TENANT_MISMATCH' : 'PC_ERR_FORBIDDEN', { reason: `parameter ${b.param} does not match ${b.claim}` });
    }
  }
  if (policy.scopes !== null) {
    const missing = satisfies(principal.scopes, policy.scopes);
    if (missing.length > 0) return deny('PC_ERR_INSUFFICIENT_SCOPE', { reason: `missing scopes: ${missing.join(' ')}` });
  }
  if (policy.roles !== null) {
    const missing = satisfies(principal.roles, policy.roles);
    if (missing.length > 0) return deny('PC_ERR_ROLE_REQUIRED', { reason: `missing roles: ${missing.join(' ')}` });
  }
  for (const m of policy.claims) {
    if (!matches(m, claimValue(principal.claims, m.claim))) return deny('PC_ERR_ROLE_REQUIRED', { reason: `claim ${m.claim} does not match` });
  }
  return undefined;
}

/** Compiles the route's `authorize` section (schema-checked) and the tenants owning the route. */
export function compilePolicy(section: Record<string, unknown> | undefined, owners: readonly string[]): Policy {
  const req = (v: unknown): Requirement | null => {
    if (v === undefined) return null;
    if (Array.isArray(v)) return { allOf: v as string[], anyOf: [] };
    const o = v as { all_of?: string[]; any_of?: string[] };
    return { allOf: o.all_of ?? [], anyOf: o.any_of ?? [] };
  };
  const claims: ClaimMatcher[] = [];
  for (const c of (section?.claims ?? []) as Record<string, unknown>[]) {
    const claim = c.claim as string;
    if (DN_CLAIMS.has(claim)) {
      // a subject or issuer: structural, never textual (CN=a+O=b is not CN=a,O=b); index.ts checks they parse
      const keys = (vs: unknown[]): ReadonlySet<string> => new Set(vs.map(dnKeyOf).filter((k): k is string => k !== null));
      if (c.equals !== undefined) claims.push({ claim, kind: 'dn', keys: keys([c.equals]) });
      if (c.in !== undefined) claims.push({ claim, kind: 'dn', keys: keys(c.in as unknown[]) });
    } else {
      if (c.equals !== undefined) claims.push({ claim, kind: 'equals', value: c.equals as string });
      if (c.in !== undefined) claims.push({ claim, kind: 'in', values: c.in as string[] });
    }
    if (c.contains !== undefined) claims.push({ claim, kind: 'contains', value: c.contains as string });
    if (c.present !== undefined) claims.push({ claim, kind: 'present', present: c.present as boolean });
  }
  return {
    scopes: req(section?.scopes),
    roles: req(section?.roles),
    claims,
    tenants: new Set([...((section?.tenants ?? []) as string[]), ...owners]),
    bind: (section?.bind ?? []) as { param: string; claim: string }[],
  };
}

/** True when the policy checks nothing (the stage is not needed on the route). */
export function isEmpty(p: Policy): boolean {
  return p.scopes === null && p.roles === null && p.claims.length === 0 && p.tenants.size === 0 && p.bind.length === 0;
}
