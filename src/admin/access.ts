/**
 * Who may use the admin listener. Pure decisions, shared by the gateway's admin server
 * (src/admin/server.ts) and the cluster primary's (src/server/cluster.ts):
 *
 *   - with `admin.token` set, every path needs `Authorization: Bearer <token>` (compared in
 *     constant time), except `admin.public_paths` (GET or HEAD only; by default the liveness and
 *     readiness probes a load balancer needs: /healthz and /readyz; and the console's static files,
 *     which hold no data). /metrics needs the token unless listed there. Unknown paths need it
 *     too: their 404 is not shown to strangers;
 *   - without a token, reads are served and writes refused (src/admin/bans.ts), which is only
 *     allowed on a loopback address: a config binding the admin listener elsewhere without a
 *     token is refused at start and at reload (`adminExposureError`);
 *   - `admin.tenant_tokens` are tokens scoped to one tenant: `adminIdentity` tells who a request
 *     is ({ kind: 'full' } or { kind: 'tenant', tenant }), and every handler that serves a tenant
 *     token scopes what it reads and does with `tenantScope` (docs/tenants-monitoring.md).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import type { CanonicalConfig } from '../core/config.js';
import { tenantExposition } from '../observe/tenant-metrics.js';

/** The paths `admin.public_paths` may list: read-only probes and metrics, never the admin API. */
export const PUBLIC_PATH_CHOICES = ['/healthz', '/readyz', '/metrics'] as const;
/**
 * The live console's static files (src/admin/console/): served without the token, since they hold
 * no data; the page then asks for the token and sends it on every API call.
 */
export const CONSOLE_ASSET_PATHS: ReadonlySet<string> = new Set(['/console', '/console/', '/console/app.js', '/console/app.css']);
/** `admin.public_paths` by default: what a load balancer's health checks need. */
export const DEFAULT_PUBLIC_PATHS: readonly string[] = ['/healthz', '/readyz'];

export interface AdminPolicy {
  /** null: no token configured (loopback only) */
  readonly token: string | null;
  readonly publicPaths: ReadonlySet<string>;
  /** SHA-256 of the full token, and of each tenant token with its tenant */
  readonly tokenDigest: Buffer | null;
  readonly tenantTokens: readonly { readonly tenant: string; readonly digest: Buffer }[];
}

const policies = new WeakMap<CanonicalConfig['admin'], AdminPolicy>();

/** The admin access policy of a config (made once per config section: the token digests are kept). */
export function adminPolicy(admin: CanonicalConfig['admin']): AdminPolicy {
  let p = policies.get(admin);
  if (p === undefined) {
    const token = admin.token === undefined || admin.token === '' ? null : admin.token;
    p = {
      token,
      publicPaths: new Set(admin.public_paths ?? DEFAULT_PUBLIC_PATHS),
      tokenDigest: token === null ? null : digest(token),
      tenantTokens: (admin.tenant_tokens ?? []).map((t) => ({ tenant: t.tenant, digest: digest(t.token) })),
    };
    policies.set(admin, p);
  }
  return p;
}

/** Who an admin request is: the full admin token, a tenant's token (that tenant only), or neither. */
export type AdminIdentity = { readonly kind: 'full' } | { readonly kind: 'tenant'; readonly tenant: string };

const FULL: AdminIdentity = Object.freeze({ kind: 'full' });

/**
 * The identity an `Authorization: Bearer <token>` header proves, or null. Every configured token
 * is compared, in constant time, whichever matches (the time does not tell which token, or
 * whether any, matched). Pure; the one function every admin endpoint asks (server.ts, http.ts
 * authorize(), the cluster primary, and the report and console endpoints).
 */
export function adminIdentity(policy: AdminPolicy, authorization: string | undefined): AdminIdentity | null {
  if (policy.tokenDigest === null) return null;
  const m = authorization === undefined ? null : /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization);
  const given = digest(m?.[1] ?? '');
  const full = timingSafeEqual(given, policy.tokenDigest);
  let tenant: string | null = null;
  for (const t of policy.tenantTokens) if (timingSafeEqual(given, t.digest)) tenant = t.tenant;
  if (m === null) return null;
  if (full) return FULL;
  return tenant === null ? null : { kind: 'tenant', tenant };
}

/**
 * The tenant an identity's request is scoped to, given the tenant it asks for (`?tenant=`, null
 * when it names none): a full identity gets what it asks (null: every tenant); a tenant identity
 * gets its own tenant, and 'forbidden' when it names another. Pure.
 */
export function tenantScope(identity: AdminIdentity, requested: string | null): string | null | 'forbidden' {
  if (identity.kind === 'full') return requested;
  return requested === null || requested === identity.tenant ? identity.tenant : 'forbidden';
}

/**
 * What /metrics shows (the gateway's and the cluster primary's): the whole exposition to the full
 * token (or an open or public /metrics), only the series labelled with the scoped tenant when
 * `?tenant=` names one or the token is a tenant's, and 'forbidden' when a tenant token names
 * another tenant. Why a tenant token gets no global series: they sum every tenant's traffic.
 */
export function metricsView(identity: AdminIdentity | null, requested: string | null, text: string): string | 'forbidden' {
  const tenant = identity === null ? requested : tenantScope(identity, requested);
  if (tenant === 'forbidden') return 'forbidden';
  return tenant === null ? text : tenantExposition(text, tenant);
}

/** Whether a tenant identity names, in any `tenant` query parameter, a tenant other than its own. */
export function asksOtherTenant(identity: AdminIdentity | null, query: URLSearchParams): boolean {
  return identity !== null && identity.kind === 'tenant' && query.getAll('tenant').some((t) => t !== identity.tenant);
}

/**
 * Why `admin.tenant_tokens` cannot be used as configured, with the key path, or an empty list:
 * they need `admin.token` (the listener is otherwise open to reads), a configured tenant each, and
 * tokens distinct from the full token and from each other.
 */
export function tenantTokenErrors(admin: CanonicalConfig['admin'], tenants: readonly string[]): { path: (string | number)[]; message: string }[] {
  const errors: { path: (string | number)[]; message: string }[] = [];
  const list = admin.tenant_tokens ?? [];
  if (list.length > 0 && (admin.token === undefined || admin.token === '')) {
    errors.push({ path: ['admin', 'tenant_tokens'], message: 'tenant tokens need admin.token: without it the admin listener serves every read to anyone' });
  }
  const known = new Set(tenants);
  const seen = new Set<string>(admin.token === undefined ? [] : [admin.token]);
  list.forEach((t, i) => {
    if (!known.has(t.tenant)) errors.push({ path: ['admin', 'tenant_tokens', i, 'tenant'], message: `unknown tenant '${t.tenant}' (not in tenants)` });
    if (seen.has(t.token))
      errors.push({ path: ['admin', 'tenant_tokens', i, 'token'], message: 'this token is already the admin token or another tenant token' });
    seen.add(t.token);
  });
  return errors;
}

/**
 * `public`: a public path, served to anyone; `granted`: the token or a tenant token matched (the
 * handlers scope a tenant token); `open`: no token is
 * configured (reads served, writes refused by the handlers); `denied`: 401.
 */
export type AdminAccess = 'public' | 'granted' | 'open' | 'denied';

/** What the admin listener does with a request to `path` (without the query). Pure. */
export function decideAdminAccess(policy: AdminPolicy, method: string | undefined, path: string, authorization: string | undefined): AdminAccess {
  if ((method === 'GET' || method === 'HEAD') && (policy.publicPaths.has(path) || CONSOLE_ASSET_PATHS.has(path))) return 'public';
  if (policy.token === null) return 'open';
  return adminIdentity(policy, authorization) !== null ? 'granted' : 'denied';
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

/** Constant-time comparison of an `Authorization: Bearer <token>` header with the configured token. */
export function tokenMatches(header: string | undefined, token: string): boolean {
  if (header === undefined) return false;
  const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
  // both sides hashed: the comparison takes the same time whatever the lengths
  return timingSafeEqual(digest(m?.[1] ?? ''), digest(token)) && m !== null;
}

/** Whether `address` (a bind address) is loopback: 127.0.0.0/8, ::1, ::ffff:127.x.y.z or `localhost`. */
export function isLoopbackAddress(address: string): boolean {
  const a = address
    .trim()
    .toLowerCase()
    .replace(/^\[(.*)\]$/, '$1');
  if (a === 'localhost') return true;
  const v = isIP(a);
  if (v === 4) return a.startsWith('127.');
  if (v === 6) {
    if (/^(?:0{0,4}:){7}0{0,3}1$/.test(a) || a === '::1') return true;
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(a);
    return mapped !== null && (mapped[1] as string).startsWith('127.');
  }
  return false;
}

/**
 * Why the config's admin listener may not start (a non-loopback address and no token), or null.
 * The caller turns it into a ConfigError at `admin.address`.
 */
export function adminExposureError(admin: CanonicalConfig['admin']): string | null {
  if (!admin.enabled || isLoopbackAddress(admin.address)) return null;
  if (admin.token !== undefined && admin.token !== '') return null;
  return `the admin listener binds '${admin.address}', which is not a loopback address, and admin.token is not set: anyone who reaches it could read metrics and the admin API. Set admin.token (e.g. \${env:PORTCULLIS_ADMIN_TOKEN}) or bind 127.0.0.1`;
}
