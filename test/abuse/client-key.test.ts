/**
 * Bans, IP lists and rate limits key a client the same way (issue 18, item 8): one setting,
 * `client_ip.ipv6_prefix`, groups IPv6 clients for all of them, and every spelling of an IPv4
 * address (mapped into IPv6, upper case, hexadecimal) is that address. Clients arrive through a
 * trusted proxy's X-Forwarded-For.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { startUpstream } from '../helpers/upstream.js';
import { ABUSE_ADMIN_HANDLERS } from '../../src/admin/bans.js';
import { STAGES } from '../../src/stages/index.js';

const ADMIN_TOKEN = 'client-key-admin-token-0123456789';
const up = await startUpstream();
const gateways: TestGateway[] = [];
after(async () => {
  for (const g of gateways) await g.close();
  await up.close();
});

function config(extra: string): string {
  return `
version: 1
listeners: [{ port: 0 }]
admin: { port: 0, token: ${ADMIN_TOKEN} }
trusted_proxies: [127.0.0.1/32]
abuse: { sync_interval_ms: 100, key_prefix: 'pc:test-client-key:' }
upstreams:
  app: { targets: [{ url: "${up.url}" }] }
routes:
  - id: items
    match: { prefix: /items }
    upstream: app
    auth: none
    rate_limit:
      - { name: per-ip, key: [ip], rate: 1/min, burst: 1 }
  - id: open
    match: { prefix: /open }
    upstream: app
    auth: none
${extra}
`;
}

async function gateway(extra = ''): Promise<TestGateway> {
  const g = await startGateway(config(extra), { modules: STAGES, adminHandlers: ABUSE_ADMIN_HANDLERS });
  gateways.push(g);
  return g;
}

async function from(g: TestGateway, path: string, xff: string): Promise<{ status: number; code: string | null }> {
  const r = await request(`${g.url}${path}`, { headers: { 'x-forwarded-for': xff } });
  const text = await r.body.text();
  let code: string | null = null;
  try {
    code = (JSON.parse(text) as { code?: string }).code ?? null;
  } catch {
    /* upstream body */
  }
  return { status: r.statusCode, code };
}

async function ban(g: TestGateway, client: string): Promise<string> {
  const r = await request(`${g.adminUrl}/admin/bans`, {
    method: 'POST',
    body: JSON.stringify({ client, duration_ms: 60000, reason: 'test' }),
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
  });
  const body = (await r.body.json()) as { client: string };
  assert.equal(r.statusCode, 201);
  return body.client;
}

test('a ban on an IPv4 address refuses it however a proxy spells it, mapped into IPv6 or in hexadecimal', async () => {
  const g = await gateway();
  await ban(g, '203.0.113.9');
  for (const s of ['203.0.113.9', '::ffff:203.0.113.9', '::FFFF:203.0.113.9', '::ffff:cb00:7109', '0:0:0:0:0:ffff:cb00:7109']) {
    assert.deepEqual(await from(g, '/open', s), { status: 403, code: 'PC_ERR_CLIENT_BANNED' }, s);
  }
  assert.equal((await from(g, '/open', '203.0.113.10')).status, 200);
});

test('the global deny list refuses a denied IPv4 address however it is spelled', async () => {
  const g = await gateway('ip_lists: { deny: [203.0.113.0/24] }');
  for (const s of ['203.0.113.9', '::ffff:cb00:7109', '::FFFF:CB00:7109', '0:0:0:0:0:ffff:203.0.113.9']) {
    assert.deepEqual(await from(g, '/open', s), { status: 403, code: 'PC_ERR_IP_DENIED' }, s);
  }
  assert.equal((await from(g, '/open', '198.51.100.1')).status, 200);
});

test('client_ip.ipv6_prefix groups IPv6 clients for bans and rate limits alike', async () => {
  const g = await gateway('client_ip: { ipv6_prefix: 48 }');
  assert.equal(await ban(g, '2001:db8:1:2::1'), '2001:db8:1::/48');
  assert.deepEqual(await from(g, '/open', '2001:db8:1:ffff::5'), { status: 403, code: 'PC_ERR_CLIENT_BANNED' }, 'the same /48');
  assert.equal((await from(g, '/open', '2001:db8:2::1')).status, 200, 'another /48');
  assert.equal((await from(g, '/items', '2001:db8:2:aaaa::1')).status, 200);
  assert.equal((await from(g, '/items', '2001:db8:2:bbbb::1')).status, 429, 'the rate limit counts the same /48 as one client');
});

test('an abuse.ipv6_prefix that differs from client_ip.ipv6_prefix is refused at load with file, line and both keys; an equal one is accepted', async () => {
  const withAbuse = (yaml: string) => config('').replace("abuse: { sync_interval_ms: 100, key_prefix: 'pc:test-client-key:' }", yaml);
  await assert.rejects(startGateway(withAbuse('abuse: { ipv6_prefix: 56 }'), { modules: STAGES }), (e: Error) => {
    assert.match(e.message, /portcullis\.yaml:\d+/);
    assert.match(e.message, /abuse\.ipv6_prefix \(56\) differs from client_ip\.ipv6_prefix \(64\)/);
    return true;
  });
  gateways.push(await startGateway(withAbuse('abuse: { ipv6_prefix: 56 }\nclient_ip: { ipv6_prefix: 56 }'), { modules: STAGES }));
});
