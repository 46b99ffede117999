import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Agent, request } from 'undici';
import { Redis } from 'ioredis';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { spawnCli, spawnGateway, writeConfig, type GatewayChild } from './spawn.js';
import { freePort } from './redis-server.js';
import { redisUrl } from '../helpers/redis.js';

const agent = new Agent({ connections: 256 });
let up: TestUpstream;
let firstAt: number | null = null;
const prefixes: string[] = [];
before(async () => {
  up = await startUpstream((_req, res) => {
    firstAt ??= Date.now();
    res.end('ok');
  });
});
after(async () => {
  await agent.close();
  await up.close();
  const admin = new Redis(redisUrl());
  for (const p of prefixes) {
    const keys = await admin.keys(`${p}*`);
    if (keys.length > 0) await admin.del(...keys);
  }
  await admin.quit();
});

function config(port = 0, admin: number | null = null): string {
  const prefix = `pcmp:${randomBytes(4).toString('hex')}:`;
  prefixes.push(prefix);
  return writeConfig(`
version: 1
listeners: [{ port: ${port} }]
admin: ${admin === null ? '{ enabled: false }' : `{ port: ${admin} }`}
access_log: { enabled: false }
upstreams:
  api: { targets: [{ url: "${up.url}" }] }
state:
  store: redis
  redis: { url: "${redisUrl()}", key_prefix: "${prefix}", command_timeout_ms: 2000 }
routes:
  - id: shared
    match: { prefix: /shared }
    upstream: api
    rate_limit:
      - { name: global, key: [route], rate: 25/s, burst: 50, on_store_failure: closed }
`);
}

async function three(file: string, env: Record<string, string> = {}): Promise<GatewayChild[]> {
  return Promise.all([spawnGateway(file, env), spawnGateway(file, env), spawnGateway(file, env)]);
}

async function statusOf(url: string): Promise<number> {
  const r = await request(url, { dispatcher: agent });
  await r.body.dump();
  return r.statusCode;
}

test('three gateway processes sharing one Redis allow exactly 50 of 200 simultaneous requests at 25/s burst 50', async () => {
  // the three clocks stand still at the same instant: the requests are simultaneous for every process
  const gws = await three(config(), { RL_TEST_CLOCK: String(Date.now()) });
  try {
    const statuses = await Promise.all(Array.from({ length: 200 }, (_, i) => statusOf(`${gws[i % 3]!.url}/shared`)));
    assert.equal(statuses.filter((s) => s === 200).length, 50);
    assert.equal(statuses.filter((s) => s === 429).length, 150);
  } finally {
    await Promise.all(gws.map((g) => g.stop()));
  }
});

test('three gateway processes (portcullis start) sharing one Redis hold 50 + 25 x 10 under a 10 s overload within 2%', async () => {
  // the real CLI with every registered stage; abuse detection off, so that it does not throttle the load generator
  const prefix = `pcmp:${randomBytes(4).toString('hex')}:`;
  prefixes.push(prefix);
  const gws = await Promise.all(
    [0, 1, 2].map(async () => {
      const port = await freePort();
      const admin = await freePort();
      const file = writeConfig(`
version: 1
listeners: [{ port: ${port} }]
admin: { port: ${admin} }
access_log: { enabled: false }
reload: { watch: false }
abuse: { enabled: false }
upstreams:
  api: { targets: [{ url: "${up.url}" }] }
state:
  store: redis
  redis: { url: "${redisUrl()}", key_prefix: "${prefix}", command_timeout_ms: 2000 }
routes:
  - id: shared
    match: { prefix: /shared }
    upstream: api
    auth: none
    rate_limit:
      - { name: global, key: [route], rate: 25/s, burst: 50, on_store_failure: closed }
`);
      return spawnCli(file, port, admin);
    }),
  );
  try {
    const pending: Promise<number>[] = [];
    let i = 0;
    firstAt = null;
    // 10 s counted from the first request let through, as seen by the upstream
    const giveUp = Date.now() + 30000;
    while ((firstAt === null || Date.now() - firstAt < 10000) && Date.now() < giveUp) {
      for (let k = 0; k < 3; k++) pending.push(statusOf(`${gws[i++ % 3]!.url}/shared`));
      await new Promise((r) => setTimeout(r, 30));
    }
    const statuses = await Promise.all(pending);
    const allowed = statuses.filter((s) => s === 200).length;
    assert.ok(
      statuses.every((s) => s === 200 || s === 429),
      `unexpected statuses ${[...new Set(statuses)].join(',')}`,
    );
    assert.ok(Math.abs(allowed - 300) <= 6, `allowed ${allowed} of ${statuses.length}`);
  } finally {
    await Promise.all(gws.map((g) => g.stop()));
  }
});
