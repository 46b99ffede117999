import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  adminExposureError,
  adminIdentity,
  adminPolicy,
  asksOtherTenant,
  decideAdminAccess,
  isLoopbackAddress,
  metricsView,
  tenantScope,
  tenantTokenErrors,
  tokenMatches,
} from './access.js';

const TOKEN = 'an-admin-token-0123456789';
const admin = (over: Partial<Parameters<typeof adminPolicy>[0]> = {}) => ({
  address: '127.0.0.1',
  port: 9090,
  enabled: true,
  public_paths: ['/healthz', '/readyz'],
  tenant_tokens: [] as { tenant: string; token: string }[],
  ...over,
});

test('loopback bind addresses are told apart from every other address', () => {
  for (const a of ['127.0.0.1', '127.1.2.3', '::1', '0:0:0:0:0:0:0:1', '[::1]', '::ffff:127.0.0.1', 'localhost', 'LOCALHOST'])
    assert.ok(isLoopbackAddress(a), a);
  for (const a of ['0.0.0.0', '::', '10.0.0.1', '192.168.1.1', '::ffff:10.0.0.1', '128.0.0.1', 'gateway.example', '', '0', '127.0.0.1.example'])
    assert.ok(!isLoopbackAddress(a), a);
});

test('a non-loopback admin address needs a token; a loopback one or a disabled listener does not', () => {
  assert.match(adminExposureError(admin({ address: '0.0.0.0' })) ?? '', /not a loopback address/);
  assert.match(adminExposureError(admin({ address: '0.0.0.0', token: '' })) ?? '', /admin\.token/);
  assert.equal(adminExposureError(admin({ address: '0.0.0.0', token: TOKEN })), null);
  assert.equal(adminExposureError(admin({ address: '0.0.0.0', enabled: false })), null);
  assert.equal(adminExposureError(admin()), null);
});

test('with a token only the public paths are served without it, to GET and HEAD', () => {
  const p = adminPolicy(admin({ token: TOKEN }));
  const ok = `Bearer ${TOKEN}`;
  assert.equal(decideAdminAccess(p, 'GET', '/healthz', undefined), 'public');
  assert.equal(decideAdminAccess(p, 'HEAD', '/readyz', undefined), 'public');
  assert.equal(decideAdminAccess(p, 'POST', '/healthz', undefined), 'denied');
  assert.equal(decideAdminAccess(p, 'GET', '/metrics', undefined), 'denied');
  assert.equal(decideAdminAccess(p, 'GET', '/metrics', ok), 'granted');
  assert.equal(decideAdminAccess(p, 'DELETE', '/admin/bans/1.2.3.4', ok), 'granted');
  assert.equal(decideAdminAccess(p, 'GET', '/anything', 'Bearer nope'), 'denied');
  const open = adminPolicy(admin());
  assert.equal(decideAdminAccess(open, 'GET', '/metrics', undefined), 'open');
  const metricsPublic = adminPolicy(admin({ token: TOKEN, public_paths: ['/metrics'] }));
  assert.equal(decideAdminAccess(metricsPublic, 'GET', '/metrics', undefined), 'public');
  assert.equal(decideAdminAccess(metricsPublic, 'GET', '/healthz', undefined), 'denied');
});

test('the bearer token must match exactly', () => {
  assert.ok(tokenMatches(`Bearer ${TOKEN}`, TOKEN));
  assert.ok(tokenMatches(`bearer  ${TOKEN} `, TOKEN));
  for (const h of [
    undefined,
    '',
    TOKEN,
    `Basic ${TOKEN}`,
    `Bearer ${TOKEN}x`,
    `Bearer ${TOKEN.slice(1)}`,
    `Bearer ${TOKEN} extra`,
    `Bearer\n${TOKEN}`,
    'Bearer ',
  ])
    assert.ok(!tokenMatches(h, TOKEN), String(h));
});

const ACME = 'acme-tenant-token-0123456789';
const GLOBEX = 'globex-tenant-token-0123456789';
const tenantAdmin = () =>
  admin({
    token: TOKEN,
    tenant_tokens: [
      { tenant: 'acme', token: ACME },
      { tenant: 'globex', token: GLOBEX },
    ],
  });

test('adminIdentity tells the full token, a tenant token and anything else apart', () => {
  const p = adminPolicy(tenantAdmin());
  assert.deepEqual(adminIdentity(p, `Bearer ${TOKEN}`), { kind: 'full' });
  assert.deepEqual(adminIdentity(p, `Bearer ${ACME}`), { kind: 'tenant', tenant: 'acme' });
  assert.deepEqual(adminIdentity(p, `bearer ${GLOBEX} `), { kind: 'tenant', tenant: 'globex' });
  for (const h of [undefined, '', ACME, `Basic ${ACME}`, `Bearer ${ACME}x`, `Bearer ${ACME} ${TOKEN}`, 'Bearer '])
    assert.equal(adminIdentity(p, h), null, String(h));
  assert.equal(adminIdentity(adminPolicy(admin()), `Bearer ${TOKEN}`), null, 'no token configured: nobody is identified');
  assert.equal(decideAdminAccess(p, 'GET', '/metrics', `Bearer ${ACME}`), 'granted');
  assert.equal(decideAdminAccess(p, 'GET', '/metrics', 'Bearer wrong-token-0123456789'), 'denied');
});

test('a tenant identity is scoped to its own tenant; the full identity to what it asks', () => {
  const acme = { kind: 'tenant', tenant: 'acme' } as const;
  assert.equal(tenantScope(acme, null), 'acme');
  assert.equal(tenantScope(acme, 'acme'), 'acme');
  assert.equal(tenantScope(acme, 'globex'), 'forbidden');
  assert.equal(tenantScope({ kind: 'full' }, null), null);
  assert.equal(tenantScope({ kind: 'full' }, 'globex'), 'globex');
  assert.ok(asksOtherTenant(acme, new URLSearchParams('tenant=acme&tenant=globex')));
  assert.ok(!asksOtherTenant(acme, new URLSearchParams('tenant=acme')));
  assert.ok(!asksOtherTenant({ kind: 'full' }, new URLSearchParams('tenant=globex')));
  assert.ok(!asksOtherTenant(null, new URLSearchParams('tenant=globex')));
});

test('metrics for a tenant token are its series only; another tenant is forbidden', () => {
  const text = 'a_total{tenant="acme"} 1\na_total{tenant="globex"} 2\nb_total 3\n';
  assert.equal(metricsView({ kind: 'tenant', tenant: 'acme' }, null, text), 'a_total{tenant="acme"} 1\n');
  assert.equal(metricsView({ kind: 'tenant', tenant: 'acme' }, 'globex', text), 'forbidden');
  assert.equal(metricsView({ kind: 'full' }, null, text), text);
  assert.equal(metricsView({ kind: 'full' }, 'globex', text), 'a_total{tenant="globex"} 2\n');
  assert.equal(metricsView(null, null, text), text, 'an open or public /metrics is whole');
});

test('tenant tokens need the admin token, a configured tenant each, and distinct tokens', () => {
  assert.deepEqual(tenantTokenErrors(tenantAdmin(), ['acme', 'globex']), []);
  const paths = (a: Parameters<typeof tenantTokenErrors>[0], t: string[]) => tenantTokenErrors(a, t).map((e) => e.path.join('.'));
  assert.deepEqual(paths(tenantAdmin(), ['acme']), ['admin.tenant_tokens.1.tenant']);
  assert.deepEqual(paths(admin({ tenant_tokens: [{ tenant: 'acme', token: ACME }] }), ['acme']), ['admin.tenant_tokens']);
  assert.deepEqual(
    paths(
      admin({
        token: TOKEN,
        tenant_tokens: [
          { tenant: 'acme', token: TOKEN },
          { tenant: 'globex', token: GLOBEX },
          { tenant: 'acme', token: GLOBEX },
        ],
      }),
      ['acme', 'globex'],
    ),
    ['admin.tenant_tokens.0.token', 'admin.tenant_tokens.2.token'],
  );
});

test("the console's static files are public for GET and HEAD only; its data and other paths under /console need the token", () => {
  const p = adminPolicy(admin({ token: TOKEN }));
  for (const path of ['/console', '/console/', '/console/app.js', '/console/app.css']) {
    assert.equal(decideAdminAccess(p, 'GET', path, undefined), 'public', path);
    assert.equal(decideAdminAccess(p, 'HEAD', path, undefined), 'public', path);
    assert.equal(decideAdminAccess(p, 'POST', path, undefined), 'denied', path);
  }
  for (const path of ['/console/x.js', '/console/../admin/live', '/admin/live', '/admin/live/stream', '/admin/refusals'])
    assert.equal(decideAdminAccess(p, 'GET', path, undefined), 'denied', path);
  assert.equal(decideAdminAccess(p, 'GET', '/admin/live', `Bearer ${TOKEN}`), 'granted');
});
