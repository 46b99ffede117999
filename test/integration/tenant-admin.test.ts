/**
 * Issue 21, part 3: per-tenant monitoring and tenant-scoped admin tokens, through a real gateway,
 * a real upstream and the real admin listener. A tenant token reads its own tenant's series, bans,
 * alerts and refusals, and gets 403 on another tenant's (metrics, bans, report, live view) and on global
 * actions; the full token still sees everything; a wrong token gets 401; traffic of 50 tenants
 * the config does not name adds one `(other)` series, not 50.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { ACME, admin, FULL, GLOBEX, tokenSigner, twoTenantsConfig } from '../helpers/tenants.js';
import { ABUSE_ADMIN_HANDLERS } from '../../src/admin/bans.js';
import { CACHE_ADMIN_HANDLERS } from '../../src/admin/cache.js';
import { CONSOLE_ADMIN_HANDLERS } from '../../src/admin/console/handlers.js';
import { REPORT_ADMIN_HANDLERS } from '../../src/admin/report.js';

/** The tenant label values of the portcullis_tenant_* samples of an exposition. */
function tenantLabels(text: string): string[] {
  const out = new Set<string>();
  for (const line of text.split('\n')) {
    const m = /^portcullis_tenant_\w+\{[^}]*tenant="([^"]*)"/.exec(line);
    if (m) out.add(m[1] as string);
  }
  return [...out].sort();
}

function sample(text: string, prefix: string): number | null {
  const line = text.split('\n').find((l) => l.startsWith(prefix));
  return line === undefined ? null : Number(line.slice(line.lastIndexOf(' ') + 1));
}

describe('tenant-scoped monitoring and admin tokens', () => {
  let up: TestUpstream;
  let gw: TestGateway;
  let a: string;
  const { secret, token } = tokenSigner();
  const call = async (path: string, bearerToken: string | null): Promise<number> => {
    const r = await request(`${gw.url}${path}`, { headers: bearerToken === null ? {} : { authorization: `Bearer ${bearerToken}` } });
    await r.body.dump();
    return r.statusCode;
  };

  before(async () => {
    up = await startUpstream();
    gw = await startGateway(
      twoTenantsConfig(`
cache: { store: memory }
alerts:
  evaluate_interval_ms: 100
  rules:
    - { name: acme_waf, metric: waf_blocks, tenant: acme, threshold: 1 }
    - { name: globex_waf, metric: waf_blocks, tenant: globex, threshold: 1 }
routes:
  - { id: api, match: { prefix: /api }, upstream: up, cache: {} }
  - { id: open, match: { prefix: /open }, upstream: up, auth: none }
`),
      {
        vars: { UP: up.url, SECRET: secret },
        adminHandlers: [...ABUSE_ADMIN_HANDLERS, ...CACHE_ADMIN_HANDLERS, ...CONSOLE_ADMIN_HANDLERS, ...REPORT_ADMIN_HANDLERS],
      },
    );
    a = gw.adminUrl as string;
    // traffic: acme (two served, one WAF block), globex (one served), 50 tenants the config does not name, one anonymous
    assert.equal(await call('/api/items', token('alice')), 200);
    assert.equal(await call('/api/items/2', token('alice')), 200);
    assert.equal(await call('/api/items?q=%3Cscript%3Ealert(1)%3C/script%3E', token('alice')), 403);
    assert.equal(await call('/api/items', token('bob')), 200);
    for (let i = 0; i < 50; i++) assert.equal(await call(`/api/items/${i}`, token(`stranger-${i}`, { tenant: `unknown-${i}` })), 200);
    assert.equal(await call('/open/x', null), 200);
  });

  after(async () => {
    await gw?.close();
    await up?.close();
  });

  test('a wrong or missing token gets 401 everywhere, a tenant token included', async () => {
    for (const path of [
      '/metrics',
      '/metrics?tenant=acme',
      '/admin/bans',
      '/admin/alerts',
      '/admin/events',
      '/admin/report?tenant=acme',
      '/admin/live',
      '/admin/refusals',
    ]) {
      for (const t of [null, 'wrong-token-0123456789', `${ACME}x`]) {
        const r = await admin(`${a}${path}`, t);
        assert.equal(r.status, 401, `${path} with ${t ?? 'no token'}`);
        assert.match(r.text, /PC_ERR_AUTH_REQUIRED/);
      }
    }
  });

  test('the full token sees every tenant series, bounded to the configured tenants, (other) and (none)', async () => {
    const r = await admin(`${a}/metrics`, FULL);
    assert.equal(r.status, 200);
    assert.deepEqual(tenantLabels(r.text), ['(none)', '(other)', 'acme', 'globex'], '50 unknown tenants pooled under (other)');
    assert.equal(sample(r.text, 'portcullis_tenant_requests_total{tenant="(other)",status_class="2xx"}'), 50);
    assert.equal(sample(r.text, 'portcullis_tenant_requests_total{tenant="acme",status_class="2xx"}'), 2);
    assert.equal(sample(r.text, 'portcullis_tenant_waf_blocks_total{tenant="acme"}'), 1);
    assert.equal(sample(r.text, 'portcullis_tenant_denials_total{tenant="acme",code="PC_ERR_WAF_BLOCKED"}'), 1);
    assert.equal(sample(r.text, 'portcullis_tenant_request_duration_seconds_count{tenant="globex"}'), 1);
    assert.equal(sample(r.text, 'portcullis_tenant_requests_total{tenant="(none)",status_class="2xx"}'), 1);
    assert.match(r.text, /^portcullis_requests_total\{/m, 'the global series are unchanged');
    const scoped = await admin(`${a}/metrics?tenant=globex`, FULL);
    assert.deepEqual(tenantLabels(scoped.text), ['globex'], 'the full token may ask for one tenant');
  });

  test("a tenant token reads its own tenant's series only, and gets 403 for another tenant's", async () => {
    const own = await admin(`${a}/metrics`, ACME);
    assert.equal(own.status, 200);
    assert.deepEqual(tenantLabels(own.text), ['acme']);
    assert.equal(sample(own.text, 'portcullis_tenant_requests_total{tenant="acme",status_class="2xx"}'), 2);
    assert.doesNotMatch(own.text, /globex|\(other\)|\(none\)/);
    assert.doesNotMatch(own.text, /^portcullis_requests_total/m, 'no global series');
    assert.doesNotMatch(own.text, /^portcullis_process_/m, 'no process series');
    for (const line of own.text.split('\n').filter((l) => l !== '' && !l.startsWith('#'))) assert.match(line, /tenant="acme"/, line);
    assert.equal((await admin(`${a}/metrics?tenant=acme`, ACME)).status, 200);
    for (const path of [
      '/metrics?tenant=globex',
      '/metrics?tenant=acme&tenant=globex',
      '/admin/bans?tenant=globex',
      '/admin/report?tenant=globex',
      '/admin/report?from=2026-01-01&to=2026-02-01&tenant=globex',
      '/admin/events?tenant=globex',
      '/admin/live?tenant=globex',
    ]) {
      const r = await admin(`${a}${path}`, ACME);
      assert.equal(r.status, 403, path);
      assert.match(r.text, /PC_ERR_FORBIDDEN/, path);
    }
    const g = await admin(`${a}/metrics`, GLOBEX);
    assert.deepEqual(tenantLabels(g.text), ['globex']);
  });

  test("bans: a tenant token lists, places and lifts its own consumers' bans only", async () => {
    // placed by the full token: bob's ban belongs to globex (bob's tenant), an address to no tenant
    assert.equal((await admin(`${a}/admin/bans`, FULL, { method: 'POST', body: { client: 'consumer:bob', duration_ms: 60000 } })).status, 201);
    assert.equal((await admin(`${a}/admin/bans`, FULL, { method: 'POST', body: { client: '203.0.113.7', duration_ms: 60000 } })).status, 201);
    const placed = await admin(`${a}/admin/bans`, ACME, { method: 'POST', body: { client: 'consumer:alice', duration_ms: 60000 } });
    assert.equal(placed.status, 201, placed.text);
    assert.equal(placed.json().tenant, 'acme');
    assert.match(placed.json().by, /^tenant-token\[tenant:acme\]@/);
    for (const client of ['consumer:bob', '203.0.113.8', 'consumer:nobody']) {
      const r = await admin(`${a}/admin/bans`, ACME, { method: 'POST', body: { client, duration_ms: 60000 } });
      assert.equal(r.status, 403, `acme may not ban ${client}`);
    }
    const clients = async (t: string, q = ''): Promise<string[]> =>
      ((await admin(`${a}/admin/bans${q}`, t)).json().bans as { client: string }[]).map((b) => b.client).sort();
    assert.deepEqual(await clients(ACME), ['consumer:alice']);
    assert.deepEqual(await clients(GLOBEX), ['consumer:bob']);
    assert.deepEqual(await clients(FULL), ['203.0.113.7', 'consumer:alice', 'consumer:bob']);
    assert.deepEqual(await clients(FULL, '?tenant=globex'), ['consumer:bob']);
    // the ban is enforced: alice is refused, bob too (his own ban), while a stranger is served
    assert.equal(await call('/api/items', token('alice')), 403);
    for (const client of ['consumer:bob', '203.0.113.7', '203.0.113.9']) {
      const r = await admin(`${a}/admin/bans/${encodeURIComponent(client)}`, ACME, { method: 'DELETE' });
      assert.equal(r.status, 403, `acme may not lift ${client}`);
    }
    assert.deepEqual(await clients(FULL), ['203.0.113.7', 'consumer:alice', 'consumer:bob'], 'nothing was lifted');
    assert.equal((await admin(`${a}/admin/bans/consumer%3Aalice`, ACME, { method: 'DELETE' })).status, 200);
    assert.equal((await admin(`${a}/admin/bans/consumer%3Aalice`, ACME, { method: 'DELETE' })).status, 404, 'its own consumer, no ban left');
    assert.equal((await admin(`${a}/admin/bans/consumer%3Abob`, GLOBEX, { method: 'DELETE' })).status, 200);
    assert.equal(await call('/api/items', token('alice')), 200);
    assert.deepEqual(await clients(FULL), ['203.0.113.7']);
    assert.equal((await admin(`${a}/admin/bans/203.0.113.7`, FULL, { method: 'DELETE' })).status, 200);
  });

  test("alerts and recent refusals: a tenant token sees its tenant's only", async () => {
    let names: string[] = [];
    for (let i = 0; i < 100 && !names.includes('acme_waf'); i++) {
      await new Promise((r) => setTimeout(r, 50));
      names = ((await admin(`${a}/admin/alerts`, FULL)).json().recent as { name: string }[]).map((n) => n.name);
    }
    assert.ok(names.includes('acme_waf'), `the acme rule fired: ${names.join(',')}`);
    assert.ok(!names.includes('globex_waf'), 'globex had no WAF block');
    const acme = (await admin(`${a}/admin/alerts`, ACME)).json() as { active: { name: string }[]; recent: { name: string; scope: { tenant?: string } }[] };
    assert.deepEqual([...new Set(acme.recent.map((n) => n.name))], ['acme_waf']);
    const globex = (await admin(`${a}/admin/alerts`, GLOBEX)).json() as { recent: unknown[]; active: unknown[] };
    assert.deepEqual([globex.recent, globex.active], [[], []]);
    const events = (await admin(`${a}/admin/events`, ACME)).json().denials as { tenant: string | null; code: string }[];
    assert.ok(events.length > 0 && events.every((e) => e.tenant === 'acme'), JSON.stringify(events));
    assert.ok(events.some((e) => e.code === 'PC_ERR_WAF_BLOCKED'));
    assert.deepEqual((await admin(`${a}/admin/events`, GLOBEX)).json().denials, []);
  });

  test('global actions answer a tenant token 403: the cache purge', async () => {
    const r = await admin(`${a}/admin/cache/purge`, ACME, { method: 'POST', body: { prefix: '/api' } });
    assert.equal(r.status, 403);
    assert.match(r.text, /PC_ERR_FORBIDDEN/);
    assert.equal((await admin(`${a}/admin/cache/purge`, FULL, { method: 'POST', body: { prefix: '/api' } })).status, 200);
  });
});
