/**
 * Issue 24 (chaos, Redis down): an admin ban while the state store was unreachable answered 500
 * PC_ERR_INTERNAL; the store being down is a 503, as on the traffic path.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { request } from 'undici';
import { startGateway } from '../helpers/gateway.js';
import { startUpstream } from '../helpers/upstream.js';

const TOKEN = 'admin-store-down-token-0123456789';

/** A loopback port nothing listens on (taken, then released). */
async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

test('an admin ban while the state store is unreachable answers 503 PC_ERR_UNAVAILABLE, not 500', async () => {
  const up = await startUpstream();
  const gw = await startGateway(`
version: 1
listeners: [{ port: 0 }]
admin: { port: 0, token: ${TOKEN} }
state: { store: redis, redis: { url: "redis://127.0.0.1:${await closedPort()}", connect_timeout_ms: 100 } }
upstreams:
  up: { targets: [{ url: "${up.url}" }] }
routes:
  - { id: api, match: { prefix: /api }, upstream: up, auth: none }
`);
  try {
    const r = await request(`${gw.adminUrl}/admin/bans`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ client: '10.1.2.3', duration_ms: 60000 }),
    });
    const body = JSON.parse(await r.body.text()) as { code: string };
    assert.equal(r.statusCode, 503);
    assert.equal(body.code, 'PC_ERR_UNAVAILABLE');
  } finally {
    await gw.close();
    await up.close();
  }
});
