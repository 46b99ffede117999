/** CORS through a real gateway and a real upstream: preflights, actual requests, refusals. */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { STAGES } from '../../src/stages/index.js';

describe('cors through the gateway', () => {
  let up: TestUpstream;
  let gw: TestGateway;

  before(async () => {
    up = await startUpstream((req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', vary: 'Accept-Encoding', 'access-control-allow-origin': '*' });
      res.end(JSON.stringify({ path: req.url }));
    });
    gw = await startGateway(
      `
version: 1
listeners: [{ port: 0 }]
upstreams:
  up: { targets: [{ url: "{{UP}}" }] }
auth:
  api_keys: { secret: "cors-test-pepper-0123456789abcdef0123456789" }
cors:
  allow_origins: [https://app.example.com, "https://*.example.org"]
  allow_credentials: true
routes:
  - { id: items, match: { path: "/items/{id}", methods: [GET, PUT, DELETE] }, upstream: up, auth: { any_of: [{ api_key: {} }] }, cors: { allow_methods: [GET, PUT] } }
  - { id: public, match: { prefix: /public, methods: [GET] }, upstream: up, auth: none, cors: {} }
  - { id: plain, match: { prefix: /plain }, upstream: up, auth: none }
`,
      { vars: { UP: up.url }, modules: STAGES },
    );
  });

  after(async () => {
    await gw.close();
    await up.close();
  });

  const preflight = (path: string, origin: string, method: string, headers?: string) =>
    request(`${gw.url}${path}`, {
      method: 'OPTIONS',
      headers: { origin, 'access-control-request-method': method, ...(headers ? { 'access-control-request-headers': headers } : {}) },
    });

  it('answers a preflight itself, with the policy of the route the real request takes, without credentials or the upstream', async () => {
    const n = up.count();
    const r = await preflight('/items/7', 'https://app.example.com', 'PUT', 'Authorization, Content-Type');
    assert.equal(r.statusCode, 204);
    await r.body.text();
    assert.equal(r.headers['access-control-allow-origin'], 'https://app.example.com');
    assert.equal(r.headers['access-control-allow-methods'], 'GET, PUT');
    assert.equal(r.headers['access-control-allow-headers'], 'authorization, content-type');
    assert.equal(r.headers['access-control-allow-credentials'], 'true');
    assert.equal(r.headers['access-control-max-age'], '600');
    assert.equal(typeof r.headers['x-request-id'], 'string');
    assert.equal(up.count(), n, 'the upstream never sees a preflight');
  });

  it('refuses a preflight from an origin, for a method or with a header the route does not allow (403 PC_ERR_CORS_REJECTED)', async () => {
    for (const [origin, method, headers] of [
      ['https://evil.test', 'GET', undefined],
      ['https://example.org', 'GET', undefined],
      ['https://app.example.com', 'DELETE', undefined],
      ['https://app.example.com', 'GET', 'x-secret-switch'],
    ] as const) {
      const r = await preflight('/items/7', origin, method, headers);
      assert.equal(r.statusCode, 403, `${origin} ${method} ${headers}`);
      const body = (await r.body.json()) as { code: string };
      assert.equal(body.code, 'PC_ERR_CORS_REJECTED');
      assert.equal(r.headers['access-control-allow-origin'], undefined);
    }
  });

  it("an allowed origin gets the CORS headers on the proxied response and on a refusal; Vary keeps the upstream's and adds Origin", async () => {
    const denied = await request(`${gw.url}/items/7`, { headers: { origin: 'https://a.b.example.org' } });
    assert.equal(denied.statusCode, 401, 'no API key');
    await denied.body.text();
    assert.equal(denied.headers['access-control-allow-origin'], 'https://a.b.example.org', 'a browser script can read the 401');
    const ok = await request(`${gw.url}/public/x`, { headers: { origin: 'https://app.example.com' } });
    assert.equal(ok.statusCode, 200);
    await ok.body.text();
    assert.equal(ok.headers['access-control-allow-origin'], 'https://app.example.com', "the gateway's value, not the upstream's *");
    assert.equal(ok.headers['access-control-expose-headers'], 'x-request-id, ratelimit, ratelimit-policy, retry-after');
    assert.equal(ok.headers['vary'], 'Accept-Encoding, Origin');
    const other = await request(`${gw.url}/public/x`, { headers: { origin: 'https://evil.test' } });
    await other.body.text();
    assert.equal(other.headers['access-control-allow-origin'], '*', "another origin gets nothing from the gateway (the upstream's own header passes)");
    assert.equal(other.headers['access-control-allow-credentials'], undefined);
  });

  it('a route without cors routes OPTIONS as it does any method (405 here), and a preflight for an unrouted path gets 404', async () => {
    const r = await preflight('/nowhere', 'https://app.example.com', 'GET');
    assert.equal(r.statusCode, 404);
    await r.body.text();
    const p = await preflight('/public/x', 'https://app.example.com', 'POST');
    assert.equal(p.statusCode, 405, 'POST is not a method of /public: routing answers the preflight');
    await p.body.text();
  });

  it("a config that would let any site use the user's credentials is refused, naming the key", async () => {
    await assert.rejects(
      startGateway(
        'version: 1\nlisteners: [{ port: 0 }]\nupstreams:\n  up: { targets: [{ url: "http://127.0.0.1:9" }] }\ncors: { allow_origins: ["*"], allow_credentials: true, all_routes: true }\n',
        { modules: STAGES },
      ),
      /credentials.*\(cors\)/s,
    );
  });
});
