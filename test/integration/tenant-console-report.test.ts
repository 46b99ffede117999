/**
 * Issue 21 wired together: the live console's data and GET /admin/report under tenant-scoped
 * admin tokens, on a real gateway with a real upstream, two tenants' traffic (served requests,
 * WAF blocks, an authentication failure), bans placed and lifted through the admin API, an
 * access log and an audit log on disk. A tenant token sees its own tenant's live view, refusals
 * and report only; another tenant's refusal is not found (404) and naming another tenant is 403;
 * the full token sees both tenants; no token is 401.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { ACME, admin, FULL, GLOBEX, tokenSigner, twoTenantsConfig } from '../helpers/tenants.js';
import { ABUSE_ADMIN_HANDLERS } from '../../src/admin/bans.js';
import { CONSOLE_ADMIN_HANDLERS } from '../../src/admin/console/handlers.js';
import { REPORT_ADMIN_HANDLERS } from '../../src/admin/report.js';

const XSS = '?q=%3Cscript%3Ealert(1)%3C/script%3E';

describe('the console and the report under tenant-scoped admin tokens', () => {
  let up: TestUpstream;
  let gw: TestGateway;
  let a: string;
  const ids = { acme: [] as string[], globex: [] as string[] };
  const { secret, token } = tokenSigner();
  const call = async (path: string, bearer: string | null): Promise<{ status: number; id: string }> => {
    const r = await request(`${gw.url}${path}`, { headers: bearer === null ? {} : { authorization: `Bearer ${bearer}` } });
    await r.body.dump();
    return { status: r.statusCode, id: String(r.headers['x-request-id']) };
  };
  const period = (): string => {
    const now = Date.now();
    return `from=${new Date(now - 3600_000).toISOString()}&to=${new Date(now + 3600_000).toISOString()}`;
  };

  before(async () => {
    up = await startUpstream();
    gw = await startGateway(
      twoTenantsConfig(`
audit: { enabled: true, path: audit.jsonl }
routes:
  - { id: api, match: { prefix: /api }, upstream: up }
`),
      { vars: { UP: up.url, SECRET: secret }, adminHandlers: [...ABUSE_ADMIN_HANDLERS, ...CONSOLE_ADMIN_HANDLERS, ...REPORT_ADMIN_HANDLERS] },
    );
    a = gw.adminUrl as string;
    // acme: 3 served, 1 WAF block; globex: 1 served, 2 WAF blocks; one request without a token (no tenant)
    for (let i = 0; i < 3; i++) assert.equal((await call(`/api/items/${i}`, token('alice'))).status, 200);
    const acmeBlock = await call(`/api/items${XSS}`, token('alice'));
    assert.equal(acmeBlock.status, 403);
    ids.acme.push(acmeBlock.id);
    assert.equal((await call('/api/items', token('bob'))).status, 200);
    for (let i = 0; i < 2; i++) {
      const r = await call(`/api/orders${XSS}`, token('bob'));
      assert.equal(r.status, 403);
      ids.globex.push(r.id);
    }
    assert.equal((await call('/api/items', null)).status, 401);
    // admin actions: acme bans and lifts its consumer, the full token bans and lifts globex's
    for (const [t, client] of [
      [ACME, 'consumer:alice'],
      [FULL, 'consumer:bob'],
    ] as const) {
      assert.equal((await admin(`${a}/admin/bans`, t, { method: 'POST', body: { client, duration_ms: 60000, reason: 'test' } })).status, 201);
      assert.equal((await admin(`${a}/admin/bans/${encodeURIComponent(client)}`, t, { method: 'DELETE' })).status, 200);
    }
    // the access log is written behind the requests: wait for its 8 lines before reading reports
    for (let i = 0; i < 100 && gw.logLines().length < 8; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(gw.logLines().length, 8);
  });

  after(async () => {
    await gw?.close();
    await up?.close();
  });

  test("a tenant token's live view and refusals hold its own tenant's traffic only", async () => {
    const acme = await admin(`${a}/admin/live`, ACME);
    assert.equal(acme.status, 200, acme.text);
    const live = acme.json();
    assert.equal(live.tenant, 'acme');
    assert.equal(live.totals.requests, 4);
    assert.equal(live.totals.last_minute.refused, 1);
    assert.deepEqual(
      live.recent_refusals.map((r: { id: string }) => r.id),
      ids.acme,
    );
    assert.doesNotMatch(acme.text, /globex|bob/);
    const refusals = (await admin(`${a}/admin/refusals`, ACME)).json().refusals as { id: string; tenant: string }[];
    assert.deepEqual(
      refusals.map((r) => [r.id, r.tenant]),
      [[ids.acme[0], 'acme']],
    );
    const g = (await admin(`${a}/admin/live`, GLOBEX)).json();
    assert.equal(g.tenant, 'globex');
    assert.equal(g.totals.requests, 3);
    assert.equal(g.totals.last_minute.refused, 2);
    const full = (await admin(`${a}/admin/live`, FULL)).json();
    assert.equal(full.tenant, null);
    assert.equal(full.totals.requests, 8, 'the full token sees every request, the unauthenticated one included');
    assert.equal(((await admin(`${a}/admin/refusals`, FULL)).json().refusals as unknown[]).length, 4);
    assert.equal((await admin(`${a}/admin/live?tenant=globex`, FULL)).json().totals.requests, 3, 'the full token may look at one tenant');
  });

  test("another tenant's refusal is not found (404), and naming another tenant is 403", async () => {
    const theirs = ids.globex[0] as string;
    const r = await admin(`${a}/admin/refusals/${theirs}`, ACME);
    assert.equal(r.status, 404);
    assert.doesNotMatch(r.text, /globex|orders/);
    assert.equal((await admin(`${a}/admin/refusals/${theirs}`, GLOBEX)).status, 200);
    const own = await admin(`${a}/admin/refusals/${ids.acme[0]}`, ACME);
    assert.equal(own.status, 200);
    assert.equal(own.json().code, 'PC_ERR_WAF_BLOCKED');
    assert.equal(own.json().tenant, 'acme');
    assert.equal((await admin(`${a}/admin/refusals/${theirs}`, FULL)).json().tenant, 'globex');
    for (const path of [
      '/admin/live?tenant=globex',
      '/admin/live/stream?tenant=globex',
      '/admin/refusals?tenant=globex',
      `/admin/refusals/${theirs}?tenant=globex`,
    ]) {
      const x = await admin(`${a}${path}`, ACME);
      assert.equal(x.status, 403, path);
      assert.match(x.text, /PC_ERR_FORBIDDEN/);
    }
  });

  test("a tenant token's live stream sends its tenant's view", async () => {
    const r = await request(`${a}/admin/live/stream`, { headers: { authorization: `Bearer ${ACME}` } });
    assert.equal(r.statusCode, 200);
    let buf = '';
    for await (const chunk of r.body) {
      buf += (chunk as Buffer).toString('utf8');
      if (/^data: .*\n\n/m.test(buf.slice(buf.indexOf('event: snapshot')))) break;
    }
    r.body.destroy();
    const data = /event: snapshot\ndata: (.*)\n/.exec(buf)?.[1] as string;
    assert.equal(JSON.parse(data).tenant, 'acme');
    assert.equal(JSON.parse(data).totals.requests, 4);
  });

  test('the full token gets the report of every tenant, in the three formats', async () => {
    const r = await admin(`${a}/admin/report?${period()}`, FULL);
    assert.equal(r.status, 200, r.text);
    assert.match(r.type, /^application\/json/);
    const rep = r.json();
    assert.equal(rep.tenant, null);
    assert.equal(rep.traffic.requests, 8);
    assert.equal(rep.waf.total, 3);
    assert.equal(rep.authFailures.total, 1);
    assert.deepEqual(
      rep.tenants.map((t: { tenant: string; requests: number; wafBlocks: number }) => [t.tenant, t.requests, t.wafBlocks]),
      [
        ['acme', 4, 1],
        ['globex', 3, 2],
      ],
    );
    assert.equal(rep.bans.placed, 2);
    assert.equal(rep.bans.lifted, 2);
    assert.equal(rep.adminActions.total, 4);
    assert.equal(rep.auditChain.ok, true, rep.auditChain.message);
    assert.ok(rep.sources.auditLog.path.endsWith('/audit.jsonl'), 'the full token sees where the logs are');
    assert.ok(rep.configVersions.every((v: { processUser: string | null }) => v.processUser !== null));
    const md = await admin(`${a}/admin/report?${period()}&format=markdown`, FULL);
    assert.equal(md.status, 200);
    assert.match(md.type, /^text\/markdown/);
    assert.match(md.text, /acme/);
    const html = await admin(`${a}/admin/report?${period()}&format=html`, FULL);
    assert.equal(html.status, 200);
    assert.match(html.type, /^text\/html/);
    assert.match(html.text, /^<!doctype html>/i);
    const one = (await admin(`${a}/admin/report?${period()}&tenant=globex`, FULL)).json();
    assert.equal(one.tenant, 'globex');
    assert.equal(one.traffic.requests, 3);
  });

  test("a tenant token gets its own tenant's report only; another tenant's is 403, no token 401", async () => {
    for (const q of ['', '&tenant=acme']) {
      const r = await admin(`${a}/admin/report?${period()}${q}`, ACME);
      assert.equal(r.status, 200, r.text);
      const rep = r.json();
      assert.equal(rep.tenant, 'acme', 'the tenant is forced');
      assert.equal(rep.traffic.requests, 4);
      assert.equal(rep.waf.total, 1);
      assert.deepEqual(
        rep.tenants.map((t: { tenant: string }) => t.tenant),
        ['acme'],
      );
      assert.deepEqual(
        rep.bans.events.map((e: { client: string }) => e.client),
        ['consumer:alice', 'consumer:alice'],
      );
      assert.equal(rep.adminActions.total, 2, 'its own ban and lift');
      assert.doesNotMatch(JSON.stringify(rep), /globex|bob/);
      // the gateway's own details are not the tenant's: no directory, no OS account
      assert.deepEqual([rep.sources.accessLogs[0].path, rep.sources.auditLog.path], ['access.log', 'audit.jsonl']);
      assert.ok(rep.configVersions.length > 0);
      for (const v of rep.configVersions) assert.deepEqual([v.file, v.processUser, typeof v.hash], ['portcullis.yaml', null, 'string']);
    }
    const md = await admin(`${a}/admin/report?${period()}&format=markdown`, GLOBEX);
    assert.equal(md.status, 200);
    assert.doesNotMatch(md.text, /alice|acme/);
    for (const [t, q] of [
      [ACME, '&tenant=globex'],
      [GLOBEX, '&tenant=acme'],
    ] as const) {
      const r = await admin(`${a}/admin/report?${period()}${q}`, t);
      assert.equal(r.status, 403);
      assert.match(r.text, /PC_ERR_FORBIDDEN/);
    }
    const none = await admin(`${a}/admin/report?${period()}`, null);
    assert.equal(none.status, 401);
  });

  test('the report refuses a bad or too long period, an unknown format and other methods', async () => {
    const to = new Date().toISOString();
    for (const q of ['', 'from=yesterday&to=today', `from=${to}&to=${to}`, 'from=2020-01-01&to=2026-01-01', `${period()}&format=pdf`]) {
      const r = await admin(`${a}/admin/report?${q}`, FULL);
      assert.equal(r.status, 400, q);
      assert.match(r.text, /PC_ERR_BAD_REQUEST/);
    }
    assert.equal((await admin(`${a}/admin/report?${period()}`, FULL, { method: 'POST', body: {} })).status, 405);
  });
});
