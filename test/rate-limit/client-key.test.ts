/**
 * Limits count a client by its network (issue 18, item 8): IPv6 clients by their /64 (by default)
 * as bans do, so that one host cannot rotate through 2^64 buckets; an IPv4 address however it is
 * written (mapped into IPv6, upper case, hexadecimal) is one client. The client arrives here
 * through a trusted proxy's X-Forwarded-For, as it does in production.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { Agent, request } from 'undici';
import { waitForLogLines, type TestGateway } from '../helpers/gateway.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { gatewaysClosedAfter, heldUpstream } from './tracked.js';

const agent = new Agent({ connections: 16 });
after(() => agent.close());

let up: TestUpstream;
before(async () => {
  up = await startUpstream();
});
after(() => up.close());

const start = gatewaysClosedAfter();

function gateway(extra = '', upstream?: string): Promise<TestGateway> {
  return start(`
version: 1
listeners: [{ port: 0 }]
trusted_proxies: [127.0.0.1/32]
${extra}
upstreams:
  api: { targets: [{ url: "${upstream ?? up.url}" }] }
routes:
  - id: rate
    match: { prefix: /rate }
    upstream: api
    rate_limit:
      - { name: per-ip, key: [ip], rate: 1/min, burst: 1 }
  - id: quota
    match: { prefix: /quota }
    upstream: api
    rate_limit:
      - { name: daily, key: [ip, route], quota: { requests: 1, per: day } }
  - id: fallback
    match: { prefix: /fallback }
    upstream: api
    rate_limit:
      - { name: per-client-header, key: ['header:x-client'], rate: 1/min, burst: 1 }
  - id: conc
    match: { prefix: /conc }
    upstream: api
    rate_limit:
      - { name: one-at-a-time, key: [ip], concurrency: 1 }
`);
}

async function from(g: TestGateway, path: string, xff: string): Promise<number> {
  const r = await request(`${g.url}${path}`, { dispatcher: agent, headers: { 'x-forwarded-for': xff } });
  await r.body.dump();
  return r.statusCode;
}

test('IPv6 clients rotating addresses inside one /64 share one bucket and one quota; another /64 has its own', async () => {
  const g = await gateway();
  for (const path of ['/rate', '/quota', '/fallback']) {
    assert.equal(await from(g, path, '2001:db8:1:2::1'), 200, path);
    for (let i = 2; i < 12; i++) assert.equal(await from(g, path, `2001:db8:1:2:${i.toString(16)}::${i}`), 429, `${path} 2001:db8:1:2:${i.toString(16)}::${i}`);
    assert.equal(await from(g, path, '2001:db8:1:3::1'), 200, `${path}: the next /64 is another client`);
  }
});

test('every spelling of one IPv4 address, plain or mapped into IPv6, is one client', async () => {
  const g = await gateway();
  assert.equal(await from(g, '/rate', '203.0.113.9'), 200);
  for (const s of ['::ffff:203.0.113.9', '::FFFF:203.0.113.9', '::ffff:cb00:7109', '0:0:0:0:0:ffff:203.0.113.9', '::ffff:CB00:7109']) {
    assert.equal(await from(g, '/rate', s), 429, s);
  }
  assert.equal(await from(g, '/rate', '203.0.113.10'), 200, 'the neighbour is another client');
});

test('client_ip prefixes are settings: /128 counts each IPv6 address apart, /24 groups IPv4 neighbours', async () => {
  const g = await gateway('client_ip: { ipv4_prefix: 24, ipv6_prefix: 128 }');
  assert.equal(await from(g, '/rate', '2001:db8:1:2::1'), 200);
  assert.equal(await from(g, '/rate', '2001:db8:1:2::2'), 200);
  assert.equal(await from(g, '/rate', '2001:0DB8:1:2:0::2'), 429, 'the same address written another way');
  assert.equal(await from(g, '/rate', '203.0.113.9'), 200);
  assert.equal(await from(g, '/rate', '203.0.113.200'), 429);
  assert.equal(await from(g, '/rate', '::ffff:203.0.113.7'), 429);
  assert.equal(await from(g, '/rate', '203.0.114.9'), 200);
});

test('the access log carries the client address in one normal form, not the key', async () => {
  const g = await gateway();
  const r = await request(`${g.url}/rate`, {
    dispatcher: agent,
    headers: { 'x-forwarded-for': '2001:0DB8:0001:0002:0000:0000:0000:0009', 'x-request-id': 'v6-log' },
  });
  await r.body.dump();
  const lines = await waitForLogLines(g, (l) => l.request_id === r.headers['x-request-id']);
  assert.equal(lines.find((l) => l.request_id === r.headers['x-request-id'])?.client_ip, '2001:db8:1:2::9');
});

test('a concurrency limit keyed by ip holds one slot per IPv6 /64', async () => {
  const slow = await heldUpstream();
  try {
    const g = await gateway('', slow.url);
    const first = from(g, '/conc', '2001:db8:1:2::1');
    assert.equal(await slow.waitHeld(1), 1);
    assert.equal(await from(g, '/conc', '2001:db8:1:2::2'), 429, 'another address of the same /64 waits for the slot');
    const other = from(g, '/conc', '2001:db8:9:9::1');
    assert.equal(await slow.waitHeld(2), 2, 'another /64 has a slot of its own');
    slow.releaseAll();
    assert.equal(await first, 200);
    assert.equal(await other, 200);
  } finally {
    await slow.close();
  }
});
