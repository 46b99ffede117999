/**
 * A gateway with two tenants and their admin tokens, for the tests of tenant-scoped admin access
 * (test/integration/tenant-admin.test.ts, tenant-console-report.test.ts): tenant `acme` with the
 * consumer alice, `globex` with bob, both authenticated by HS256 JWTs of one provider.
 */
import { randomBytes } from 'node:crypto';
import { request } from 'undici';
import { jwt, nowS } from '../auth/support.js';

export const ISS = 'https://issuer.test';
export const FULL = 'full-admin-token-0123456789';
export const ACME = 'acme-admin-token-0123456789';
export const GLOBEX = 'globex-admin-token-0123456789';

/** The config's common part (`{{UP}}` and `{{SECRET}}` to fill); the test appends its own keys (routes, ...). */
export function twoTenantsConfig(extra: string): string {
  return `
version: 1
listeners: [{ port: 0 }]
admin:
  port: 0
  token: ${FULL}
  tenant_tokens:
    - { tenant: acme, token: ${ACME} }
    - { tenant: globex, token: ${GLOBEX} }
upstreams:
  up: { targets: [{ url: "{{UP}}" }] }
auth:
  jwt:
    providers:
      main: { issuer: ${ISS}, audiences: [api], algorithms: [HS256], secret: "{{SECRET}}" }
consumers:
  - { id: alice, tenant: acme, credentials: { jwt: [{ provider: main, sub: alice }] } }
  - { id: bob, tenant: globex, credentials: { jwt: [{ provider: main, sub: bob }] } }
tenants: [{ id: acme }, { id: globex }]
waf: { mode: enforce }
${extra}`;
}

/** A fresh provider secret, and a signer of 5-minute tokens for `sub` with it. */
export function tokenSigner(): { secret: string; token: (sub: string, extra?: Record<string, unknown>) => string } {
  const secret = randomBytes(48).toString('base64url');
  return {
    secret,
    token: (sub, extra = {}) => jwt({ alg: 'HS256', typ: 'JWT' }, { iss: ISS, aud: 'api', sub, iat: nowS(), exp: nowS() + 300, ...extra }, Buffer.from(secret)),
  };
}

/** A request to the admin listener with a token (or none). */
export async function admin(
  url: string,
  token: string | null,
  opts: { method?: 'GET' | 'POST' | 'DELETE'; body?: unknown } = {},
): Promise<{ status: number; text: string; type: string; json: () => any }> {
  const headers: Record<string, string> = token === null ? {} : { authorization: `Bearer ${token}` };
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  const r = await request(url, { method: opts.method ?? 'GET', headers, ...(opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}) });
  const text = await r.body.text();
  return { status: r.statusCode, text, type: String(r.headers['content-type']), json: () => JSON.parse(text) };
}
