import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { RedisStore } from '../../src/store/redis.js';
import type { LimitCheck } from '../../src/core/state.js';
import type { Cluster } from 'ioredis';
import { startPrivateCluster, type PrivateCluster } from './redis-server.js';

let cluster: PrivateCluster;
const stores: RedisStore[] = [];
before(async () => {
  cluster = await startPrivateCluster();
});
after(async () => {
  for (const s of stores) await s.close();
  await cluster.stop();
});

async function store(): Promise<RedisStore> {
  const s = new RedisStore({
    url: 'redis://unused',
    clusterNodes: cluster.nodes,
    keyPrefix: 'pc:',
    connectTimeoutMs: 1000,
    commandTimeoutMs: 1000,
    reconnectMaxDelayMs: 200,
    logger: pino({ level: 'silent' }),
  });
  stores.push(s);
  const deadline = Date.now() + 10000;
  while (!s.healthy()) {
    assert.ok(Date.now() < deadline, 'cluster store not ready');
    await new Promise((r) => setTimeout(r, 20));
  }
  return s;
}

test('on Redis Cluster, the limits of one tag are decided in one script on one slot', async () => {
  const [a, b] = [await store(), await store()];
  const checks: LimitCheck[] = [
    { kind: 'bucket', key: 'b:g:per-ip:ip=10.0.0.1', intervalMs: 40, burst: 50, enforce: true, tag: 'one' },
    { kind: 'bucket', key: 'b:r.x:per-route:route=x', intervalMs: 40, burst: 60, enforce: true, tag: 'one' },
    { kind: 'quota', key: 'q:p.free:daily:consumer=alice:d20261128', limit: 1000, resetAt: Date.now() + 3600000, enforce: true, tag: 'one' },
    { kind: 'concurrency', key: 'c:g:slots:consumer=alice', max: 500, leaseMs: 60000, enforce: true, tag: 'one' },
  ];
  const now = Date.now();
  const rs = await Promise.all(Array.from({ length: 200 }, (_, i) => (i % 2 ? a : b).limit(checks, now)));
  assert.equal(rs.filter((r) => r.allowed).length, 50);
  // refused requests consumed nothing: the route bucket has 60 - 50 left
  const r = await a.limit([checks[1]!], now);
  assert.equal(r.checks[0]!.remaining, 9);
  for (const x of rs) if (x.lease) a.release(x.lease);
});

test('on Redis Cluster, once/incr/set/get/del work and scan lists keys from every master', async () => {
  const s = await store();
  assert.equal(await s.once('nonce:1', 10000), true);
  assert.equal(await s.once('nonce:1', 10000), false);
  assert.equal(await s.incr('n', 10000, 2), 2);
  // 30 bans spread over the three masters' slots
  for (let i = 0; i < 30; i++) await s.set(`ban:10.0.0.${i}`, 'x', 60000);
  const bans = await s.scan('ban:', 100);
  assert.equal(bans.length, 30);
  assert.equal((await s.scan('ban:', 7)).length, 7);
  await s.del('ban:10.0.0.1');
  assert.equal(await s.get('ban:10.0.0.1'), null);
  assert.equal(await s.get('ban:10.0.0.2'), 'x');
});

/** Two tags whose slots are served by different masters. */
async function tagsOnTwoMasters(s: RedisStore): Promise<[string, string]> {
  const c = s.client as Cluster;
  const nodeOf = async (tag: string): Promise<string> => (c.slots[Number(await c.cluster('KEYSLOT', tag))] ?? []).join(',');
  const first = 'gb-0';
  const home = await nodeOf(first);
  for (let i = 1; i < 200; i++) if ((await nodeOf(`gb-${i}`)) !== home) return [first, `gb-${i}`];
  throw new Error('no two masters');
}

test('on Redis Cluster, limits on two masters are all or nothing: a refusal on one gives back the bucket, quota and slot taken on the other', async () => {
  const s = await store();
  const [x, y] = await tagsOnTwoMasters(s);
  const now = Date.now();
  const checks: LimitCheck[] = [
    { kind: 'bucket', key: 'b:x', intervalMs: 60000, burst: 5, enforce: true, tag: x },
    { kind: 'quota', key: 'q:x', limit: 10, resetAt: now + 3600000, enforce: true, tag: x },
    { kind: 'concurrency', key: 'c:x', max: 10, leaseMs: 60000, enforce: true, tag: x },
    { kind: 'bucket', key: 'b:y', intervalMs: 60000, burst: 1, enforce: true, tag: y },
  ];
  const first = await s.limit(checks, now);
  assert.equal(first.allowed, true);
  assert.equal(first.lease?.keys.length, 1);
  // y is empty now: the second request is refused there, and what x took is given back
  const second = await s.limit(checks, now);
  assert.equal(second.allowed, false);
  assert.deepEqual(
    second.checks.map((c) => c.ok),
    [true, true, true, false],
  );
  const after = await s.limit(checks.slice(0, 3), now);
  assert.equal(after.allowed, true);
  // 5 - 2 taken (first and this one): the refused request's token came back; likewise the quota and the slot
  assert.deepEqual(
    after.checks.map((c) => c.remaining),
    [3, 8, 8],
  );
  s.release(first.lease!);
  s.release(after.lease!);
});
