import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Agent, request } from 'undici';
import { Redis } from 'ioredis';
import { startGateway } from '../helpers/gateway.js';
import { startUpstream } from '../helpers/upstream.js';
import { MODULES } from './support.js';
import { redisUrl } from '../helpers/redis.js';

const agent = new Agent({ connections: 64 });
const PREFIX = `pcgw:${randomBytes(4).toString('hex')}:`;
after(async () => {
  await agent.close();
  const admin = new Redis(redisUrl());
  const keys = await admin.keys(`${PREFIX}*`);
  if (keys.length > 0) await admin.del(...keys);
  await admin.quit();
});

async function call(url: string, headers: Record<string, string> = {}): Promise<{ status: number; code: string | null; headers: Record<string, unknown> }> {
  const r = await request(url, { dispatcher: agent, headers });
  const text = await r.body.text();
  let code: string | null = null;
  try {
    code = (JSON.parse(text) as { code?: string }).code ?? null;
  } catch {
    code = null;
  }
  return { status: r.statusCode, code, headers: r.headers };
}

test('with the Redis store, a concurrency limit holds slots in Redis for the length of the exchange and frees them after', async () => {
  const held: (() => void)[] = [];
  const slow = await startUpstream((_req, res) => void held.push(() => res.end('ok')));
  const g = await startGateway(
    `version: 1
listeners: [{ port: 0 }]
upstreams:
  api: { targets: [{ url: "${slow.url}" }] }
state:
  store: redis
  redis: { url: "${redisUrl()}", key_prefix: "${PREFIX}", command_timeout_ms: 2000 }
routes:
  - id: slots
    match: { prefix: /slots }
    upstream: api
    rate_limit:
      - { name: in-flight, key: [consumer], concurrency: 3 }
      - { name: daily, key: [consumer], quota: { requests: 5, per: day } }
`,
    { modules: MODULES },
  );
  const admin = new Redis(redisUrl());
  try {
    const alice = { 'x-test-consumer': 'alice' };
    const pending = Array.from({ length: 5 }, () => call(`${g.url}/slots`, alice));
    while (held.length < 3) await new Promise((r) => setTimeout(r, 10));
    const slotKey = `${PREFIX}{consumer=alice}:c:r.slots:in-flight:consumer=alice`;
    assert.equal(await admin.zcard(slotKey), 3);
    for (const f of held.splice(0)) f();
    const rs = await Promise.all(pending);
    assert.deepEqual(rs.map((r) => r.status).sort(), [200, 200, 200, 429, 429]);
    assert.equal(rs.find((r) => r.status === 429)?.code, 'PC_ERR_CONCURRENCY_LIMITED');
    // the slots are released when the exchanges close
    const deadline = Date.now() + 2000;
    while ((await admin.zcard(slotKey)) > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.equal(await admin.zcard(slotKey), 0);
    // the quota counted only the 3 admitted requests: 2 more today, then 429 until midnight
    const next = [call(`${g.url}/slots`, alice), call(`${g.url}/slots`, alice)];
    while (held.length < 2) await new Promise((r) => setTimeout(r, 10));
    for (const f of held.splice(0)) f();
    assert.deepEqual(
      (await Promise.all(next)).map((r) => r.status),
      [200, 200],
    );
    const over = await call(`${g.url}/slots`, alice);
    assert.equal(over.status, 429);
    assert.equal(over.code, 'PC_ERR_QUOTA_EXCEEDED');
    assert.ok(Number(over.headers['retry-after']) > 0);
  } finally {
    for (const f of held) f();
    admin.disconnect();
    await g.close();
    await slow.close();
  }
});
