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
 *     token is refused at start and at reload (`adminExposureError`).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import type { CanonicalConfig } from '../core/config.js';

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
}

/** The admin access policy of a config. */
export function adminPolicy(admin: CanonicalConfig['admin']): AdminPolicy {
  return { token: admin.token === undefined || admin.token === '' ? null : admin.token, publicPaths: new Set(admin.public_paths ?? DEFAULT_PUBLIC_PATHS) };
}

/**
 * `public`: a public path, served to anyone; `granted`: the token matched; `open`: no token is
 * configured (reads served, writes refused by the handlers); `denied`: 401.
 */
export type AdminAccess = 'public' | 'granted' | 'open' | 'denied';

/** What the admin listener does with a request to `path` (without the query). Pure. */
export function decideAdminAccess(policy: AdminPolicy, method: string | undefined, path: string, authorization: string | undefined): AdminAccess {
  if ((method === 'GET' || method === 'HEAD') && (policy.publicPaths.has(path) || CONSOLE_ASSET_PATHS.has(path))) return 'public';
  if (policy.token === null) return 'open';
  return tokenMatches(authorization, policy.token) ? 'granted' : 'denied';
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
