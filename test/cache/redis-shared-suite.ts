/**
 * The response cache with the Redis store, two gateway instances sharing one real Redis (a
 * private redis-server, then the test run's three-master Redis Cluster): 200 concurrent misses split over both instances cause one upstream
 * request; a purge through one instance's admin API is seen by the other within 1 s; two
 * tenants never get each other's entries.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Agent, request } from 'undici';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { startPrivateRedis, type PrivateRedis } from '../rate-limit/redis-server.js';
import { redisClusterNodes } from '../helpers/redis.js';
import { bearer, jwt, nowS } from '../auth/support.js';
import { ISOLATION_N, ISS, isolationLoad, TENANTS_AND_ROUTES } from './isolation.js';

const TOKEN = 'cache-admin-token-0123456789';

/** The suite on a private Redis, or on the test run's three-master Redis Cluster (one test file each: each has the per-file time limit). */
export function cacheSharedSuite(backend: 'Redis' | 'a three-master Redis Cluster'): void {
  describe(`the response cache on ${backend}, shared by two instances`, () => {
    let redis: PrivateRedis | null = null;
    let up: TestUpstream;
    let a: TestGateway;
    let b: TestGateway;
    const secret = randomBytes(48).toString('base64url');
    const token = (sub: string): string =>
      jwt({ alg: 'HS256', typ: 'JWT' }, { iss: ISS, aud: 'api', sub, iat: nowS(), exp: nowS() + 300 }, Buffer.from(secret));
    const seen = (path: string): number => up.seen.filter((s) => s.url === path && s.method === 'GET').length;

    before(async () => {
      if (backend === 'Redis') redis = await startPrivateRedis();
      up = await startUpstream((req, res) => {
        const url = req.url ?? '';
        const body = url.startsWith('/shared') ? JSON.stringify({ tenant: req.headers['x-tenant-id'] }) : JSON.stringify({ url, at: Date.now() });
        const send = (): void => {
          res.writeHead(200, {
            'content-type': 'application/json',
            'content-length': String(Buffer.byteLength(body)),
            'cache-control': url.startsWith('/shared') ? 'public, max-age=60' : 'max-age=60',
            'cache-tag': 'items',
          });
          res.end(body);
        };
        if (url.startsWith('/items/slow')) setTimeout(send, 500);
        else send();
      });
      const config = `
version: 1
listeners: [{ port: 0 }]
admin: { port: 0, token: ${TOKEN} }
state:
  store: redis
  redis: { {{REDIS}}, key_prefix: "pc-cache-test-${randomBytes(4).toString('hex')}:", command_timeout_ms: 2000 }
cache: { store: redis }
upstreams:
  up: { targets: [{ url: "{{UP}}" }] }
${TENANTS_AND_ROUTES}
`;
      const where =
        redis === null
          ? `cluster_nodes: [${redisClusterNodes()
              .map((n) => `"${n}"`)
              .join(', ')}]`
          : `url: "redis://127.0.0.1:${redis.port}"`;
      const vars = { UP: up.url, SECRET: secret, REDIS: where };
      a = await startGateway(config, { vars });
      b = await startGateway(config, { vars });
    });

    after(async () => {
      await a?.close();
      await b?.close();
      await up?.close();
      await redis?.stop();
    });

    it('200 concurrent misses over two instances cause one upstream request', async () => {
      const agent = new Agent({ connections: 256 });
      try {
        const rs = await Promise.all(
          Array.from({ length: 200 }, async (_x, i) => {
            const r = await request(`${(i % 2 === 0 ? a : b).url}/items/slow`, { dispatcher: agent });
            return { status: r.statusCode, body: await r.body.text(), cs: `${i % 2 === 0 ? 'a' : 'b'} ${String(r.headers['cache-status'])}` };
          }),
        );
        const kinds: Record<string, number> = {};
        for (const r of rs) kinds[r.cs] = (kinds[r.cs] ?? 0) + 1;
        assert.equal(seen('/items/slow'), 1, JSON.stringify(kinds));
        assert.ok(rs.every((r) => r.status === 200 && r.body === rs[0]?.body));
      } finally {
        await agent.close();
      }
    });

    it("a purge through one instance's admin API is seen by the other within 1 s", async () => {
      const storedBefore = await stored(a);
      const first = await request(`${a.url}/items/p`);
      await first.body.text();
      // the entry is written to Redis after the response: wait for a's put (its stored counter)
      // rather than race it from b
      await storedOn(a, storedBefore + 1);
      const hit = await request(`${b.url}/items/p`);
      await hit.body.text();
      assert.match(String(hit.headers['cache-status']), /hit/);
      assert.equal(seen('/items/p'), 1);
      const purge = await request(`${a.adminUrl!}/admin/cache/purge`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ tag: 'items' }),
      });
      const res = (await purge.body.json()) as { purged: number };
      assert.equal(purge.statusCode, 200);
      assert.ok(res.purged >= 1, `purged ${res.purged}`);
      const purgedAt = Date.now();
      const after = await request(`${b.url}/items/p`);
      await after.body.text();
      assert.ok(Date.now() - purgedAt < 1000);
      assert.match(String(after.headers['cache-status']), /fwd=uri-miss/);
      assert.equal(seen('/items/p'), 2);
      // bad purges are refused with a reason
      const bad = await request(`${a.adminUrl!}/admin/cache/purge`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ url: 'https://x/y', tag: 'z' }),
      });
      assert.equal(bad.statusCode, 400);
      await bad.body.text();
      const anon = await request(`${a.adminUrl!}/admin/cache/purge`, { method: 'POST', body: '{"tag":"items"}' });
      assert.equal(anon.statusCode, 401);
      await anon.body.text();
    });

    it(`two tenants never get each other's entries (${ISOLATION_N} requests each), over both instances`, async () => {
      const tenants = [
        { name: 'A', headers: Object.fromEntries(bearer(token('alice'))) },
        { name: 'B', headers: Object.fromEntries(bearer(token('bob'))) },
      ];
      assert.deepEqual(await isolationLoad([a.url, b.url], '/shared/list', tenants), { A: 0, B: 0 });
      // at most one fill per tenant per instance: each instance coalesces its own concurrent misses,
      // but the load starts cold on both instances at once, so each may fill before the other's
      // entry reaches Redis; a request whose Redis command timed out on a loaded machine passes
      // uncached (Cache-Status fwd=bypass, counted as result="bypass") and may reach the upstream too
      let bypassed = 0;
      for (const g of [a, b]) {
        const m = await request(`${g.adminUrl!}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
        const text = await m.body.text();
        for (const line of text.split('\n'))
          if (line.startsWith('portcullis_cache_requests_total{') && line.includes('result="bypass"')) bypassed += Number(line.split(' ').pop());
      }
      assert.ok(seen('/shared/list') <= tenants.length * 2 + bypassed, `upstream saw ${seen('/shared/list')}, ${bypassed} requests bypassed the cache`);
    });
  });
}

/** Responses gateway `g` has stored in the cache (its metric). */
async function stored(g: { adminUrl: string | null }): Promise<number> {
  const m = await request(`${g.adminUrl!}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
  const text = await m.body.text();
  let n = 0;
  for (const line of text.split('\n')) if (line.startsWith('portcullis_cache_stored_total{')) n += Number(line.split(' ').pop());
  return n;
}

/** Waits (at most 5 s) until gateway `g` counts at least `n` responses stored in the cache. */
async function storedOn(g: { adminUrl: string | null }, n: number): Promise<void> {
  const deadline = Date.now() + 5000;
  while ((await stored(g)) < n && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
}
