/**
 * The response cache through a real gateway and a real upstream (memory store): a miss then a
 * hit with Cache-Status and Age, no-store and private not stored, revalidation with a 304,
 * invalidation by an unsafe method, request coalescing, stale-if-error, only-if-cached, the
 * client's own conditional request, and tenants that never see each other's entries.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { Agent, request } from 'undici';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { bearer, jwt, nowS } from '../auth/support.js';
import { ISOLATION_N, ISS, isolationLoad, TENANTS_AND_ROUTES } from './isolation.js';

let version = 1;
let failing = false;
let swrVersion = 1;

function answer(res: ServerResponse, status: number, headers: Record<string, string>, body: string): void {
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), ...headers });
  res.end(body);
}

describe('the response cache through the gateway', () => {
  let up: TestUpstream;
  let gw: TestGateway;
  const secret = randomBytes(48).toString('base64url');
  const token = (sub: string): string => jwt({ alg: 'HS256', typ: 'JWT' }, { iss: ISS, aud: 'api', sub, iat: nowS(), exp: nowS() + 300 }, Buffer.from(secret));
  const seen = (path: string): number => up.seen.filter((s) => s.url === path && s.method === 'GET').length;

  before(async () => {
    up = await startUpstream((req, res) => {
      const url = req.url ?? '';
      if (failing && url.startsWith('/items/sie')) return void res.destroy();
      if (url.startsWith('/items/slow')) return void setTimeout(() => answer(res, 200, { 'cache-control': 'max-age=60' }, '{"slow":true}'), 500);
      if (url === '/items/no-store') return answer(res, 200, { 'cache-control': 'no-store' }, '{"n":1}');
      if (url === '/items/private') return answer(res, 200, { 'cache-control': 'private, max-age=60' }, '{"n":1}');
      if (url.startsWith('/items/etag')) {
        if (req.headers['if-none-match'] === `"v${version}"`) {
          res.writeHead(304, { etag: `"v${version}"`, 'cache-control': 'max-age=0' });
          return void res.end();
        }
        return answer(res, 200, { etag: `"v${version}"`, 'cache-control': 'max-age=0' }, `{"version":${version}}`);
      }
      if (url === '/items/swr') {
        const h = { etag: `"w${swrVersion}"`, 'cache-control': 'max-age=1, stale-while-revalidate=30' };
        if (req.headers['if-none-match'] === `"w${swrVersion}"`) {
          res.writeHead(304, h);
          return void res.end();
        }
        return answer(res, 200, h, `{"swr":${swrVersion}}`);
      }
      if (url.startsWith('/items/sie')) return answer(res, 200, { 'cache-control': 'max-age=0, stale-if-error=60', etag: '"s"' }, '{"sie":true}');
      if (url.startsWith('/shared')) {
        const who = req.headers['x-tenant-id'];
        return answer(res, 200, { 'cache-control': 'public, max-age=60' }, JSON.stringify({ tenant: who }));
      }
      if (req.method === 'POST') return answer(res, 201, {}, '{}');
      return answer(res, 200, { 'cache-control': 'max-age=60' }, JSON.stringify({ url, version }));
    });
    gw = await startGateway(
      `
version: 1
listeners: [{ port: 0 }]
upstreams:
  up: { targets: [{ url: "{{UP}}" }], retries: { attempts: 0 } }
${TENANTS_AND_ROUTES}
  - { id: uncached, match: { prefix: /plain }, upstream: up, auth: none }
`,
      { vars: { UP: up.url, SECRET: secret } },
    );
  });

  after(async () => {
    await gw?.close();
    await up?.close();
  });

  const get = async (path: string, headers: Record<string, string> = {}) => {
    const r = await request(`${gw.url}${path}`, { headers });
    return { status: r.statusCode, headers: r.headers, body: await r.body.text() };
  };

  it('a miss is stored and the next request is a hit: Cache-Status, Age, one upstream request', async () => {
    const a = await get('/items/1');
    assert.equal(a.status, 200);
    assert.equal(a.headers['cache-status'], 'Portcullis; fwd=uri-miss; fwd-status=200; stored');
    const b = await get('/items/1');
    assert.equal(b.status, 200);
    assert.equal(b.body, a.body);
    assert.match(String(b.headers['cache-status']), /^Portcullis; hit; ttl=\d+$/);
    assert.match(String(b.headers['age']), /^\d+$/);
    assert.equal(typeof b.headers['x-request-id'], 'string');
    assert.notEqual(b.headers['x-request-id'], a.headers['x-request-id'], 'a hit gets its own request id');
    assert.equal(seen('/items/1'), 1);
    const h = await request(`${gw.url}/items/1`, { method: 'HEAD' });
    assert.equal(h.statusCode, 200);
    assert.equal(h.headers['content-length'], String(Buffer.byteLength(a.body)));
    assert.equal(await h.body.text(), '');
    assert.equal(seen('/items/1'), 1, 'HEAD is answered from the stored GET');
  });

  it('the query is part of the key; no-store and private responses are not stored', async () => {
    await get('/items/1?page=2');
    assert.equal(seen('/items/1?page=2'), 1);
    for (const p of ['/items/no-store', '/items/private']) {
      await get(p);
      const again = await get(p);
      assert.match(String(again.headers['cache-status']), /fwd=uri-miss; fwd-status=200; detail="(no-store|private)"/);
      assert.equal(seen(p), 2);
    }
  });

  it('a stale entry with an ETag is revalidated: the 304 refreshes it and the client gets the stored body', async () => {
    version = 7;
    const a = await get('/items/etag');
    assert.equal(a.body, '{"version":7}');
    const b = await get('/items/etag');
    assert.equal(b.status, 200);
    assert.equal(b.body, '{"version":7}');
    assert.equal(b.headers['cache-status'], 'Portcullis; fwd=stale; fwd-status=304; stored');
    const cond = up.seen.filter((s) => s.url === '/items/etag');
    assert.equal(cond.length, 2);
    assert.equal(cond[1]?.headers['if-none-match'], '"v7"');
    // the client's own validator matching the stored response: 304 from the gateway
    const c = await get('/items/etag', { 'if-none-match': '"v7"' });
    assert.equal(c.status, 304);
    assert.equal(c.body, '');
  });

  it('stale-while-revalidate: the stale entry is served at once and refreshed by one background conditional request', async () => {
    swrVersion = 1;
    const a = await get('/items/swr');
    assert.equal(a.body, '{"swr":1}');
    await new Promise((r) => setTimeout(r, 2100));
    swrVersion = 2;
    const b = await get('/items/swr');
    assert.equal(b.status, 200);
    assert.equal(b.body, '{"swr":1}', 'served stale, without waiting');
    assert.match(String(b.headers['cache-status']), /^Portcullis; hit; ttl=-\d+; detail="stale-while-revalidate"$/);
    // until the refresh is stored (bounded): requests meanwhile are served stale and start no other refresh
    let c = await get('/items/swr');
    for (let i = 0; i < 100 && c.body !== '{"swr":2}'; i++) {
      await new Promise((r) => setTimeout(r, 20));
      c = await get('/items/swr');
    }
    const reqs = up.seen.filter((x) => x.url === '/items/swr');
    assert.equal(reqs.length, 2, 'exactly one background request');
    assert.equal(reqs[1]?.headers['if-none-match'], '"w1"', 'conditional, with the stored ETag');
    assert.equal(c.body, '{"swr":2}', 'the refreshed content');
    assert.match(String(c.headers['cache-status']), /^Portcullis; hit; ttl=\d+$/);
    assert.equal(seen('/items/swr'), 2);
  });

  it('an unsafe method invalidates the URL', async () => {
    await get('/items/2');
    await get('/items/2');
    assert.equal(seen('/items/2'), 1);
    const post = await request(`${gw.url}/items/2`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
    assert.equal(post.statusCode, 201);
    await post.body.text();
    await new Promise((r) => setTimeout(r, 20));
    const after = await get('/items/2');
    assert.match(String(after.headers['cache-status']), /fwd=uri-miss/);
    assert.equal(seen('/items/2'), 2);
  });

  it('200 concurrent misses on one key with a 500 ms upstream cause one upstream request', async () => {
    const agent = new Agent({ connections: 256 });
    try {
      const rs = await Promise.all(
        Array.from({ length: 200 }, async () => {
          const r = await request(`${gw.url}/items/slow`, { dispatcher: agent });
          return { status: r.statusCode, body: await r.body.text(), cs: String(r.headers['cache-status']) };
        }),
      );
      assert.equal(seen('/items/slow'), 1);
      assert.ok(rs.every((r) => r.status === 200 && r.body === '{"slow":true}'));
      assert.equal(rs.filter((r) => r.cs.includes('collapsed')).length, 199);
    } finally {
      await agent.close();
    }
  });

  it('stale-if-error: a stale entry answers when the upstream fails; only-if-cached without an entry is 504', async () => {
    await get('/items/sie');
    failing = true;
    try {
      const r = await get('/items/sie');
      assert.equal(r.status, 200);
      assert.equal(r.body, '{"sie":true}');
      assert.match(String(r.headers['cache-status']), /fwd=stale; detail="upstream unreachable"/);
    } finally {
      failing = false;
    }
    const o = await get('/items/never-asked', { 'cache-control': 'only-if-cached' });
    assert.equal(o.status, 504);
    assert.equal(JSON.parse(o.body).code, 'PC_ERR_NOT_CACHED');
    assert.equal(seen('/items/never-asked'), 0);
  });

  it(`tenants never see each other's entries (${ISOLATION_N} requests each); without credentials an authenticated route is 401, never the cached body`, async () => {
    const tenants = [
      { name: 'A', headers: Object.fromEntries(bearer(token('alice'))) },
      { name: 'B', headers: Object.fromEntries(bearer(token('bob'))) },
    ];
    assert.deepEqual(await isolationLoad([gw.url], '/shared/list', tenants), { A: 0, B: 0 });
    assert.equal(seen('/shared/list'), 2, 'one fill per tenant');
    const anon = await get('/shared/list');
    assert.equal(anon.status, 401);
    assert.ok(!anon.body.includes('tenant":"A') && !anon.body.includes('tenant":"B'));
  });

  it('routes without a cache key are not cached', async () => {
    await get('/plain/x');
    const b = await get('/plain/x');
    assert.equal(b.headers['cache-status'], undefined);
    assert.equal(seen('/plain/x'), 2);
  });
});
