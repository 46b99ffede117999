/**
 * Tenants and upstream identity through a real gateway: a principal of tenant A gets 403 on tenant
 * B's routes and on /tenants/B/...; spoofed identity headers from the client never reach the upstream.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { AUTH_MODULES, bearer, jwt, nowS, rawRequest } from './support.js';

const ISS = 'https://issuer.test';

describe('tenants, authorization and upstream identity', () => {
  let up: TestUpstream;
  let gw: TestGateway;
  const secret = randomBytes(48).toString('base64url');
  const token = (sub: string, extra: Record<string, unknown> = {}): string =>
    jwt({ alg: 'HS256', typ: 'JWT' }, { iss: ISS, aud: 'api', sub, iat: nowS(), exp: nowS() + 300, ...extra }, Buffer.from(secret));

  before(async () => {
    up = await startUpstream();
    gw = await startGateway(
      `
version: 1
listeners: [{ port: 0 }]
upstreams:
  up: { targets: [{ url: "{{UP}}" }] }
auth:
  forward_credentials: false
  jwt:
    providers:
      main:
        issuer: ${ISS}
        audiences: [api]
        algorithms: [HS256]
        secret: "{{SECRET}}"
        claims_to_headers: { email: X-User-Email }
consumers:
  - id: alice
    tenant: A
    plan: gold
    credentials: { jwt: [{ provider: main, sub: alice }] }
  - id: bob
    tenant: B
    credentials: { jwt: [{ provider: main, sub: bob }] }
tenants:
  - { id: A, routes: [a-data] }
  - { id: B, routes: [b-data] }
routes:
  - { id: a-data, match: { prefix: /a }, upstream: up }
  - { id: b-data, match: { prefix: /b }, upstream: up }
  - id: tenant-orders
    match: { path: "/tenants/{tenant_id}/orders" }
    upstream: up
    authorize: { bind: [{ param: tenant_id, claim: tenant }] }
  - id: admin
    match: { prefix: /admin }
    upstream: up
    authorize: { roles: [admin], scopes: { any_of: [admin:read, admin:write] } }
  - id: org
    match: { prefix: /org }
    upstream: up
    authorize: { claims: [{ claim: org.id, equals: acme }] }
  - { id: public, match: { prefix: /public }, upstream: up, auth: none }
`,
      { vars: { UP: up.url, SECRET: secret }, modules: AUTH_MODULES },
    );
  });

  after(async () => {
    await gw.close();
    await up.close();
  });

  const get = (path: string, headers: [string, string][] = []): ReturnType<typeof rawRequest> => rawRequest(`${gw.url}${path}`, { headers });

  test('a principal of tenant A reaches its own routes and gets 403 PC_ERR_TENANT_MISMATCH on tenant B routes', async () => {
    assert.equal((await get('/a/x', bearer(token('alice')))).status, 200);
    const r = await get('/b/x', bearer(token('alice')));
    assert.equal(r.status, 403);
    assert.equal(r.json().code, 'PC_ERR_TENANT_MISMATCH');
    assert.equal((await get('/a/x', bearer(token('bob')))).json().code, 'PC_ERR_TENANT_MISMATCH');
    assert.equal((await get('/b/x', bearer(token('bob')))).status, 200);
  });

  test('a principal of tenant A gets 403 on /tenants/B/... and 200 on /tenants/A/...', async () => {
    assert.equal((await get('/tenants/A/orders', bearer(token('alice')))).status, 200);
    const r = await get('/tenants/B/orders', bearer(token('alice')));
    assert.equal(r.status, 403);
    assert.equal(r.json().code, 'PC_ERR_TENANT_MISMATCH');
  });

  test('a token claiming another tenant cannot override the tenant of its configured consumer', async () => {
    const r = await get('/tenants/B/orders', bearer(token('alice', { tenant: 'B' })));
    assert.equal(r.status, 403);
  });

  test('a principal without a tenant is refused on tenant-owned routes', async () => {
    const r = await get('/a/x', bearer(token('stranger')));
    assert.equal(r.status, 403);
    assert.equal(r.json().code, 'PC_ERR_TENANT_MISMATCH');
  });

  test('roles, scopes and claim matchers are enforced with 403 and their codes', async () => {
    assert.equal((await get('/admin/x', bearer(token('alice', { roles: ['admin'], scope: 'admin:read' })))).status, 200);
    assert.equal((await get('/admin/x', bearer(token('alice', { roles: ['user'], scope: 'admin:read' })))).json().code, 'PC_ERR_ROLE_REQUIRED');
    const r = await get('/admin/x', bearer(token('alice', { roles: ['admin'], scope: 'orders:read' })));
    assert.equal(r.status, 403);
    assert.equal(r.json().code, 'PC_ERR_INSUFFICIENT_SCOPE');
    assert.match(String(r.headers['www-authenticate']), /error="insufficient_scope",.*scope="admin:read admin:write"/);
    assert.equal((await get('/org/x', bearer(token('alice', { org: { id: 'acme' } })))).status, 200);
    assert.equal((await get('/org/x', bearer(token('alice', { org: { id: 'evil' } })))).json().code, 'PC_ERR_ROLE_REQUIRED');
  });

  test('the upstream receives the gateway identity headers, never the client spoofed ones', async () => {
    const spoof: [string, string][] = [
      ['x-consumer-id', 'admin'],
      ['x-tenant-id', 'B'],
      ['x-auth-method', 'mtls'],
      ['x-user-email', 'ceo@example.com'],
    ];
    const r = await get('/tenants/A/orders', [...bearer(token('alice', { email: 'alice@example.com' })), ...spoof]);
    assert.equal(r.status, 200);
    let h = up.seen.at(-1)?.headers ?? {};
    assert.equal(h['x-consumer-id'], 'alice');
    assert.equal(h['x-tenant-id'], 'A');
    assert.equal(h['x-auth-method'], 'jwt');
    assert.equal(h['x-user-email'], 'alice@example.com');
    assert.equal(h.authorization, undefined, 'forward_credentials: false removes the verified token');

    // a token without the email claim: the spoofed X-User-Email is removed, not passed through
    assert.equal((await get('/tenants/A/orders', [...bearer(token('alice')), ...spoof])).status, 200);
    h = up.seen.at(-1)?.headers ?? {};
    assert.equal(h['x-consumer-id'], 'alice');
    assert.equal(h['x-user-email'], undefined);

    // a public route: no identity at all reaches the upstream
    assert.equal((await get('/public/x', spoof)).status, 200);
    h = up.seen.at(-1)?.headers ?? {};
    for (const [name] of spoof) assert.equal(h[name], undefined, name);
  });

  test('a failed authentication is logged with its reason and never the token', async () => {
    const t = token('alice', { exp: nowS() - 3600 });
    assert.equal((await get('/a/x', bearer(t))).status, 401);
    const { waitForLogLines } = await import('../helpers/gateway.js');
    let lines: Record<string, unknown>[] = [];
    let line: Record<string, unknown> | undefined;
    for (let i = 0; i < 50 && line === undefined; i++) {
      lines = await waitForLogLines(gw, lines.length + 1, 100);
      line = lines.findLast((l) => JSON.stringify(l).includes('PC_ERR_AUTH_TOKEN_EXPIRED'));
    }
    assert.ok(line, 'a log line names the failure code');
    assert.match(JSON.stringify(line), /expired/);
    assert.ok(!JSON.stringify(lines).includes(t.split('.')[2] as string), 'the token signature is not logged');
  });
});
