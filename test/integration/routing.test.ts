import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { startGateway, waitForLogLines, type TestGateway } from '../helpers/gateway.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';

let up: TestUpstream;
let gw: TestGateway;

before(async () => {
  up = await startUpstream();
  gw = await startGateway(
    `
version: 1
listeners: [{ port: 0 }]
upstreams:
  a: { targets: [{ url: "{{UP}}" }] }
routes:
  - { id: item, match: { path: "/items/{id}", methods: [GET, PUT] }, upstream: a }
  - { id: item-special, match: { path: "/items/special", methods: [POST] }, upstream: a }
  - { id: files, match: { path: "/files/{name}.json", methods: [GET] }, upstream: a }
  - { id: api, match: { prefix: /api }, upstream: a, strip_prefix: /api }
  - { id: v2, match: { path: "/v2/things/{id}" }, upstream: a, rewrite: "/internal/things/{id}" }
  - { id: host-a, match: { hosts: [a.example.com], path: /hosted }, upstream: a }
  - { id: host-wild, match: { hosts: ["*.example.com"], path: /hosted }, upstream: a }
`,
    { modules: [], vars: { UP: up.url } },
  );
});

after(async () => {
  await gw.close();
  await up.close();
});

async function get(path: string, init: { method?: string; headers?: Record<string, string> } = {}) {
  const r = await request(gw.url + path, { method: (init.method ?? 'GET') as 'GET', headers: init.headers ?? {} });
  const text = await r.body.text();
  return { status: r.statusCode, headers: r.headers, text, json: () => JSON.parse(text) as Record<string, unknown> };
}

test('an unknown path gets 404 problem+json with a stable code and the request id', async () => {
  const r = await get('/nowhere');
  assert.equal(r.status, 404);
  assert.equal(r.headers['content-type'], 'application/problem+json');
  const body = r.json();
  assert.equal(body.code, 'PC_ERR_ROUTE_NOT_FOUND');
  assert.equal(body.request_id, r.headers['x-request-id']);
});

test('a known path with a wrong method gets 405 with Allow listing the methods of every matching route', async () => {
  const r = await get('/items/42', { method: 'DELETE' });
  assert.equal(r.status, 405);
  assert.equal(r.headers.allow, 'GET, HEAD, PUT');
  assert.equal(r.json().code, 'PC_ERR_METHOD_NOT_ALLOWED');
});

test('templates capture parameters and static segments win over parameters', async () => {
  const before = up.count();
  const special = await get('/items/special', { method: 'POST' });
  assert.equal(special.status, 200);
  const item = await get('/items/special');
  assert.equal(item.status, 200, 'GET /items/special falls through to the template route');
  assert.equal(up.count(), before + 2);
  const f = await get('/files/report.json');
  assert.equal(f.status, 200);
  assert.equal((await get('/files/report.xml')).status, 404);
});

test('prefix routes match on segment boundaries and strip_prefix removes the prefix upstream', async () => {
  const r = await get('/api/users/7?x=1');
  assert.equal(r.status, 200);
  assert.equal(r.json().url, '/users/7?x=1');
  assert.equal((await get('/apix')).status, 404);
  assert.equal((await get('/api')).json().url, '/');
});

test('rewrite forwards to the templated path with the captured parameter', async () => {
  const r = await get('/v2/things/abc');
  assert.equal(r.json().url, '/internal/things/abc');
});

test('hosts: exact beats wildcard, wildcard matches subdomains only, other hosts get 404', async () => {
  assert.equal((await get('/hosted', { headers: { host: 'a.example.com' } })).status, 200);
  assert.equal((await get('/hosted', { headers: { host: 'b.example.com:8080' } })).status, 200);
  assert.equal((await get('/hosted', { headers: { host: 'example.com' } })).status, 404);
  assert.equal((await get('/hosted', { headers: { host: 'evil.com' } })).status, 404);
  const logs = await waitForLogLines(gw, (l) => l.route_id === 'host-wild');
  assert.ok(logs.some((l) => l.route_id === 'host-a'));
  assert.ok(logs.some((l) => l.route_id === 'host-wild'));
});
