import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Cluster } from 'ioredis';
import type { StoredResponse } from '../../src/stages/cache/types.js';
import { primaryKey } from '../../src/stages/cache/store/entry.js';
import { RedisCacheStore } from '../../src/stages/cache/store/redis.js';
import { startPrivateCluster, type PrivateCluster } from '../rate-limit/redis-server.js';

let cluster: PrivateCluster;
const clients: Cluster[] = [];

before(async () => {
  cluster = await startPrivateCluster();
});

after(async () => {
  for (const c of clients) c.disconnect();
  await cluster.stop();
});

async function store(): Promise<RedisCacheStore> {
  const nodes = cluster.nodes.map((u) => {
    const url = new URL(u);
    return { host: url.hostname, port: Number(url.port) };
  });
  const c = new Cluster(nodes, { enableOfflineQueue: false, redisOptions: { commandTimeout: 1000, maxRetriesPerRequest: 0 }, scaleReads: 'master' });
  clients.push(c);
  const deadline = Date.now() + 10_000;
  while (c.status !== 'ready') {
    assert.ok(Date.now() < deadline, 'cluster client not ready');
    await new Promise((r) => setTimeout(r, 20));
  }
  return new RedisCacheStore({ client: c, keyPrefix: 'pc:' });
}

function entry(url: string, tags: string[] = []): StoredResponse {
  return { status: 200, headers: {}, body: Buffer.from(url), requestTime: 0, responseTime: 0, vary: null, tags, url };
}

test('on Redis Cluster, entries spread over slots: put, get, purge by tag and by prefix (every master scanned), delete and lock work', async () => {
  const a = await store();
  const b = await store();
  const urls = Array.from({ length: 60 }, (_, i) => `c.test/items/${i}`);
  for (const u of urls) await a.put(primaryKey(u, 'GET'), entry(u, [`t${urls.indexOf(u) % 3}`]), 30_000);
  for (const u of urls) assert.equal((await b.get(primaryKey(u, 'GET')))[0]?.body.toString(), u);
  const perMaster = await Promise.all(clients[0]!.nodes('master').map((n) => n.keys('pc:cache:*')));
  assert.ok(perMaster.filter((k) => k.length > 0).length >= 2, 'the keys live on several masters');
  assert.equal(await b.purgeTag('t0'), 20);
  assert.equal(await a.purgePrefix('c.test/items/1'), 8); // 1 and 10-19, less the t0 ones (12, 15, 18)
  assert.equal(await b.delete(primaryKey('c.test/items/2', 'GET')), 1);
  assert.equal(await a.purgePrefix('c.test/'), 60 - 20 - 8 - 1);
  const release = await a.lock(primaryKey('c.test/items/1', 'GET'), 5_000);
  assert.ok(release);
  assert.equal(await b.lock(primaryKey('c.test/items/1', 'GET'), 5_000), null);
  await release();
  assert.ok(await b.lock(primaryKey('c.test/items/1', 'GET'), 5_000));
});
