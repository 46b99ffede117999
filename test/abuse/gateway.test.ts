/**
 * Abuse detection through a running gateway: real listeners, a real upstream, the memory store.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { sendRequest } from '../helpers/protocol.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { ABUSE_ADMIN_HANDLERS } from '../../src/admin/bans.js';
import { verifyAuditText } from '../../src/observe/audit.js';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ADMIN_TOKEN = 'test-admin-token-0123456789';

/** An upstream with a login endpoint that always refuses the password, and 200 elsewhere. */
async function loginUpstream(): Promise<TestUpstream> {
  return startUpstream((req, res) => {
    const status = req.url?.startsWith('/login') ? 401 : 200;
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(status === 401 ? '{"error":"bad credentials"}' : '{"ok":true}');
  });
}

function config(extra: string): string {
  return `
version: 1
listeners:
  - port: 0
admin:
  port: 0
  token: ${ADMIN_TOKEN}
upstreams:
  app:
    targets:
      - url: {{UP}}
routes:
  - id: login
    match: { path: /login, methods: [POST] }
    upstream: app
    auth: none
  - id: items
    match: { path: '/items/{id}' }
    upstream: app
    auth: none
${extra}
`;
}

const ABUSE = `
abuse:
  sync_interval_ms: 100
  detectors:
    auth_failures: { threshold: 20, window_ms: 10000, action: ban }
    scanning: { threshold: 30, window_ms: 10000, action: ban }
  ban: { base_ms: 2000, factor: 3, max_ms: 60000 }
`;

async function login(gw: TestGateway, user: string): Promise<{ status: number; code: string | null; retryAfter: string | null }> {
  const r = await sendRequest(`${gw.url}/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: user, password: 'wrong' }),
    shared: true,
  });
  const text = r.text();
  let code: string | null = null;
  try {
    code = (JSON.parse(text) as { code?: string }).code ?? null;
  } catch {
    /* upstream bodies */
  }
  const ra = r.headers['retry-after'];
  return { status: r.status, code, retryAfter: typeof ra === 'string' ? ra : null };
}

async function get(gw: TestGateway, path: string): Promise<{ status: number; code: string | null }> {
  const r = await sendRequest(`${gw.url}${path}`, { shared: true });
  const text = r.text();
  let code: string | null = null;
  try {
    code = (JSON.parse(text) as { code?: string }).code ?? null;
  } catch {
    /* */
  }
  return { status: r.status, code };
}

async function bans(gw: TestGateway): Promise<{ client: string; until: string; since: string; offence: number; source: string; kind: string }[]> {
  const r = await request(`${gw.adminUrl}/admin/bans`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  assert.equal(r.statusCode, 200);
  return ((await r.body.json()) as { bans: [] }).bans;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

test('one IP failing logins 50 times across usernames within 10 s is banned, the ban expires, and a repeat offence is banned longer', async () => {
  const up = await loginUpstream();
  const gw = await startGateway(config(ABUSE), { vars: { UP: up.url }, adminHandlers: ABUSE_ADMIN_HANDLERS });
  try {
    const started = Date.now();
    const results = [];
    for (let i = 0; i < 50; i++) results.push(await login(gw, `user${i}@example.com`));
    const bannedBy = Date.now();
    assert.ok(bannedBy - started < 10000, 'the 50 attempts fit in the 10 s window');
    const firstBan = results.findIndex((r) => r.code === 'PC_ERR_CLIENT_BANNED');
    assert.ok(firstBan >= 20 && firstBan <= 25, `banned after about 20 failures (first ban at attempt ${firstBan + 1})`);
    const refusedAfter = results.slice(firstBan).filter((r) => r.status === 403 && r.code === 'PC_ERR_CLIENT_BANNED').length;
    const upstreamLogins = up.seen.filter((s) => s.url === '/login').length;
    assert.equal(upstreamLogins + refusedAfter, 50, 'the attempts after the ban never reach the upstream (unless the 2 s ban already expired)');
    assert.ok(refusedAfter >= Math.min(10, 50 - firstBan), 'attempts right after the ban are refused');
    // unrouted requests are refused too (the check runs before routing)
    assert.equal((await get(gw, '/no/such/path')).code, 'PC_ERR_CLIENT_BANNED');

    const list1 = await bans(gw);
    assert.equal(list1.length, 1);
    const b1 = list1[0]!;
    assert.equal(b1.client, '127.0.0.1');
    assert.equal(b1.source, 'auth_failures');
    assert.equal(b1.offence, 1);
    assert.equal(Date.parse(b1.until) - Date.parse(b1.since), 2000);

    // the ban expires
    await sleep(Date.parse(b1.until) - Date.now() + 50);
    const after = await login(gw, 'someone@example.com');
    assert.equal(after.status, 401, 'after expiry the client reaches the upstream again');

    // a repeat offence: banned again, three times longer
    let second: Awaited<ReturnType<typeof login>> | null = null;
    for (let i = 0; i < 50 && !second; i++) {
      const r = await login(gw, `again${i}@example.com`);
      if (r.code === 'PC_ERR_CLIENT_BANNED') second = r;
    }
    assert.ok(second, 'the repeat offender is banned again');
    assert.equal(second.retryAfter, '6');
    const b2 = (await bans(gw))[0]!;
    assert.equal(b2.offence, 2);
    assert.equal(Date.parse(b2.until) - Date.parse(b2.since), 6000);
  } finally {
    await gw.close();
    await up.close();
  }
});

test('a scanner requesting 200 distinct non-existent paths is banned', async () => {
  const up = await loginUpstream();
  const gw = await startGateway(config(ABUSE), { vars: { UP: up.url }, adminHandlers: ABUSE_ADMIN_HANDLERS });
  try {
    const codes: (string | null)[] = [];
    for (let i = 0; i < 200; i++) codes.push((await get(gw, `/scan/${i}/admin.php`)).code);
    const notFound = codes.filter((c) => c === 'PC_ERR_ROUTE_NOT_FOUND').length;
    const banned = codes.filter((c) => c === 'PC_ERR_CLIENT_BANNED').length;
    assert.ok(notFound >= 30 && notFound <= 35, `about 30 paths answered 404 before the ban (${notFound})`);
    assert.equal(notFound + banned, 200);
    assert.equal(codes[199], 'PC_ERR_CLIENT_BANNED');
    const b = (await bans(gw))[0];
    assert.equal(b?.source, 'scanning');
    // a ban is also enforced on routed requests
    assert.equal((await get(gw, '/items/1')).code, 'PC_ERR_CLIENT_BANNED');
    assert.equal(up.count(), 0);
  } finally {
    await gw.close();
    await up.close();
  }
});

test('an allow-listed client failing logins and scanning is never banned', async () => {
  const up = await loginUpstream();
  const gw = await startGateway(config(`${ABUSE}  allow:\n    ips: [127.0.0.0/8, '::1']\n`), { vars: { UP: up.url }, adminHandlers: ABUSE_ADMIN_HANDLERS });
  try {
    for (let i = 0; i < 50; i++) assert.equal((await login(gw, `u${i}`)).status, 401);
    for (let i = 0; i < 200; i++) assert.equal((await get(gw, `/scan/${i}`)).status, 404);
    for (let i = 0; i < 300; i++) assert.equal((await get(gw, `/items/${i}`)).status, 200);
    assert.deepEqual(await bans(gw), []);
  } finally {
    await gw.close();
    await up.close();
  }
});

test('a steady stream of valid requests is never banned or throttled', async () => {
  const up = await loginUpstream();
  const gw = await startGateway(config(ABUSE), { vars: { UP: up.url }, adminHandlers: ABUSE_ADMIN_HANDLERS });
  try {
    for (let i = 0; i < 400; i++) assert.equal((await get(gw, `/items/${i % 20}`)).status, 200);
    assert.deepEqual(await bans(gw), []);
  } finally {
    await gw.close();
    await up.close();
  }
});

test('the global deny list refuses routed and unrouted requests; a route allow list refuses others', async () => {
  const up = await loginUpstream();
  const denied = await startGateway(config(`ip_lists:\n  deny: [127.0.0.0/8]\n`), { vars: { UP: up.url } });
  try {
    assert.deepEqual(await get(denied, '/items/1'), { status: 403, code: 'PC_ERR_IP_DENIED' });
    assert.deepEqual(await get(denied, '/nope'), { status: 403, code: 'PC_ERR_IP_DENIED' });
  } finally {
    await denied.close();
  }
  const routeOnly = await startGateway(
    config('').replace(
      "  - id: items\n    match: { path: '/items/{id}' }\n    upstream: app\n    auth: none\n",
      "  - id: items\n    match: { path: '/items/{id}' }\n    upstream: app\n    auth: none\n    ip_lists: { allow: ['10.0.0.0/8', '2001:db8::/32'] }\n",
    ),
    { vars: { UP: up.url } },
  );
  try {
    assert.deepEqual(await get(routeOnly, '/items/1'), { status: 403, code: 'PC_ERR_IP_DENIED' });
    assert.equal((await login(routeOnly, 'x')).status, 401, 'other routes are not affected');
  } finally {
    await routeOnly.close();
    await up.close();
  }
});

test('the admin API adds and lifts a manual ban, refuses writes without the token, and audits who did it', async () => {
  const up = await loginUpstream();
  const auditFile = join(mkdtempSync(join(tmpdir(), 'pc-audit-gw-')), 'audit.jsonl');
  const gw = await startGateway(config(`${ABUSE}audit: { enabled: true, path: '${auditFile}' }\n`), {
    vars: { UP: up.url },
    adminHandlers: ABUSE_ADMIN_HANDLERS,
  });
  try {
    const body = JSON.stringify({ client: '127.0.0.1', duration_ms: 60000, reason: 'incident 42' });
    const noToken = await request(`${gw.adminUrl}/admin/bans`, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
    await noToken.body.dump();
    assert.equal(noToken.statusCode, 401);
    const wrong = await request(`${gw.adminUrl}/admin/bans`, { method: 'POST', body, headers: { authorization: 'Bearer nope' } });
    await wrong.body.dump();
    assert.equal(wrong.statusCode, 401);
    assert.equal((await get(gw, '/items/1')).status, 200);

    const add = await request(`${gw.adminUrl}/admin/bans`, {
      method: 'POST',
      body,
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'x-portcullis-actor': 'alice' },
    });
    assert.equal(add.statusCode, 201);
    const placed = (await add.body.json()) as { by: string; source: string };
    assert.equal(placed.source, 'manual');
    assert.match(placed.by, /^alice@/);
    assert.equal((await get(gw, '/items/1')).code, 'PC_ERR_CLIENT_BANNED');
    const listed = await bans(gw);
    assert.equal(listed.length, 1);

    const lift = await request(`${gw.adminUrl}/admin/bans/${encodeURIComponent('127.0.0.1')}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    await lift.body.dump();
    assert.equal(lift.statusCode, 200);
    assert.equal((await get(gw, '/items/1')).status, 200);
    const again = await request(`${gw.adminUrl}/admin/bans/127.0.0.1`, { method: 'DELETE', headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    await again.body.dump();
    assert.equal(again.statusCode, 404);

    const text = readFileSync(auditFile, 'utf8');
    assert.equal(verifyAuditText(text).ok, true);
    const entries = text
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as { event: string; data: { by?: string } });
    const events = entries.map((e) => e.event);
    for (const e of ['config_loaded', 'ban_placed', 'admin_ban_added', 'ban_lifted', 'admin_ban_lifted'])
      assert.ok(events.includes(e), `${e} in ${events.join(',')}`);
    assert.match(entries.find((e) => e.event === 'admin_ban_added')?.data.by ?? '', /^alice@127\.0\.0\.1$/);
    assert.ok(!text.includes(ADMIN_TOKEN), 'the admin token is never written');
  } finally {
    await gw.close();
    await up.close();
  }
});

test('an IP presenting 50 invalid tokens to the authentication stage is banned', async () => {
  const up = await loginUpstream();
  const gw = await startGateway(
    config(
      `${ABUSE}auth:\n  jwt:\n    providers:\n      main: { issuer: 'https://issuer.test', algorithms: [HS256], secret: 'abuse-test-secret-0123456789abcdefghijklmnop' }\n`,
    ).replace('routes:\n', 'routes:\n  - id: api\n    match: { prefix: /api }\n    upstream: app\n    auth: { any_of: [{ jwt: {} }] }\n'),
    { vars: { UP: up.url }, adminHandlers: ABUSE_ADMIN_HANDLERS },
  );
  try {
    const codes: string[] = [];
    for (let i = 0; i < 50; i++) {
      const r = await sendRequest(`${gw.url}/api/orders`, {
        headers: { authorization: `Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1c2VyJHtpfSJ9.${'x'.repeat(20 + i)}` },
        shared: true,
      });
      codes.push((r.json() as { code: string }).code);
    }
    const first = codes.indexOf('PC_ERR_CLIENT_BANNED');
    assert.ok(first >= 20 && first <= 25, `banned after about 20 failures: ${codes.join(',')}`);
    assert.ok(
      codes.slice(0, first).every((c) => c.startsWith('PC_ERR_AUTH_')),
      codes.slice(0, first).join(','),
    );
    assert.equal((await bans(gw))[0]?.source, 'auth_failures');
    assert.equal(up.count(), 0);
  } finally {
    await gw.close();
    await up.close();
  }
});
