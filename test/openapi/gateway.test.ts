/**
 * The validation stage through the real gateway: routes, validation and auth generated from
 * the two fixture documents; invalid requests never reach the upstream; hostile bodies are
 * refused quickly while the gateway keeps serving; response filter and enforce.
 */
import { test, after } from 'node:test';
import { strict as assert } from 'node:assert';
import type * as http from 'node:http';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { sendRequest, sendStreamed } from '../helpers/protocol.js';
import { validateStage } from '../../src/stages/validate/index.js';
import { SHOP, LIBRARY } from './fixtures.js';

const fullItem = { id: 7, name: 'widget', price: 3, internal_cost: 1.25, supplier: { name: 'acme', country: 'DE', internal_notes: 'net 30' } };

const up: TestUpstream = await startUpstream((req, res, body) => {
  const url = req.url ?? '';
  const send = (status: number, v: unknown) => {
    const t = JSON.stringify(v);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(t) });
    res.end(t);
  };
  if (req.method === 'GET' && url.startsWith('/api/items/7')) return send(200, fullItem);
  if (req.method === 'GET' && url.startsWith('/api/items/8')) return send(200, { id: 8, name: 'x', price: 'free' });
  if (req.method === 'GET' && url.startsWith('/api/items')) return send(200, [{ id: 'not-a-number', name: 'x', price: 1 }]);
  if (req.method === 'POST') return send(201, { id: 1, name: 'widget', price: 3, received: body.length });
  return send(200, { ok: true });
});

const CONFIG = `
version: 1
listeners:
  - port: 0
upstreams:
  shop:
    targets:
      - url: ${up.url}
routes: []
apis:
  - id: shop
    spec: ${SHOP}
    upstream: shop
    auth_provider: main
    overrides:
      getItem:
        validate: { response: filter }
      listItems:
        validate: { response: enforce }
      createCategory:
        max_body_bytes: 16777216
        validate:
          json: { max_keys: 1000, max_depth: 64 }
  - id: library
    spec: ${LIBRARY}
    upstream: shop
    base_path: /library/v2
    strip_base_path: true
`;

const gw: TestGateway = await startGateway(CONFIG, { modules: [validateStage] });
after(async () => {
  await gw.close();
  await up.close();
});

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  json: any;
}

function request(method: string, path: string, body?: string | Buffer, headers: Record<string, string> = {}): Promise<Reply> {
  const h: Record<string, string> = { ...headers };
  if (body !== undefined) {
    h['content-type'] ??= 'application/json';
    h['content-length'] = String(Buffer.byteLength(body));
  }
  // in the suite's HTTP version (PC_TEST_PROTOCOL: test/helpers/protocol.ts)
  return sendRequest(`${gw.url}${path}`, { method, headers: h, ...(body !== undefined ? { body } : {}) }).then((r) => {
    let json: unknown = null;
    try {
      json = r.json();
    } catch {
      /* not JSON */
    }
    return { status: r.status, headers: r.headers, body: r.text(), json };
  });
}

/** Sends a large body; resolves with the status as soon as the gateway answers (it may close early). */
function bigRequest(path: string, size: number): Promise<number> {
  return sendStreamed(`${gw.url}${path}`, size, { 'content-type': 'application/json' });
}

const item = { name: 'widget', price: 9.5, tags: ['a'] };

async function normalRequestWorks(): Promise<void> {
  const r = await request('GET', '/api/items/7');
  assert.equal(r.status, 200);
}

test('every operation of both documents becomes a route with validation and auth from security', () => {
  const routes = gw.gateway.config.routes;
  const byId = new Map(routes.map((r) => [r.id, r]));
  assert.deepEqual(
    routes.map((r) => r.id),
    [
      'shop.listItems',
      'shop.createItem',
      'shop.getItem',
      'shop.replaceItem',
      'shop.deleteItem',
      'shop.post_items_id_notes',
      'shop.createCategory',
      'library.listBooks',
      'library.createBook',
      'library.getBook',
      'library.patchBook',
      'library.uploadCover',
    ],
  );
  assert.deepEqual(byId.get('shop.getItem')?.match, { path: '/api/items/{id}', methods: ['GET'] });
  assert.equal(byId.get('shop.getItem')?.['auth'], 'none');
  assert.deepEqual(byId.get('shop.createItem')?.['auth'], { any_of: [{ jwt: { provider: 'corp' } }, { api_key: {} }] });
  assert.deepEqual(byId.get('shop.deleteItem')?.['auth'], { any_of: [{ jwt: { provider: 'corp' }, api_key: {} }] });
  assert.deepEqual(byId.get('shop.replaceItem')?.['auth'], { any_of: [{ jwt: { provider: 'main', scopes: ['items:write'] } }] });
  assert.equal(byId.get('shop.createItem')?.max_body_bytes, 65536);
  assert.equal((byId.get('shop.createItem')!['validate'] as { max_errors: number }).max_errors, 5);
  assert.deepEqual(byId.get('library.uploadCover')?.['auth'], { any_of: [{ mtls: {} }, { api_key: {} }] });
  // no x-portcullis-provider and no auth_provider: the auth stage's default provider applies
  assert.deepEqual(byId.get('library.createBook')?.['auth'], { any_of: [{ jwt: { scopes: ['books:write'] } }] });
  assert.deepEqual(byId.get('library.getBook')?.['auth'], { any_of: [{ jwt: { scopes: ['books:read'] } }] });
  assert.deepEqual(byId.get('library.getBook')?.match, { path: '/library/v2/books/{isbn}', methods: ['GET'] });
  assert.equal(byId.get('library.getBook')?.strip_prefix, '/library/v2');
});

test('an undeclared operation gets 404 or 405 and never reaches the upstream', async () => {
  const before = up.count();
  assert.equal((await request('GET', '/api/orders')).status, 404);
  const r = await request('PATCH', '/api/items/1', JSON.stringify({}));
  assert.equal(r.status, 405);
  assert.match(String(r.headers['allow']), /DELETE, GET, HEAD, PUT/);
  assert.equal((await request('GET', '/books')).status, 404);
  assert.equal(up.count(), before);
});

test('invalid requests are refused with the right status and the upstream receives none of them', async () => {
  const before = up.count();
  const cases: [string, string, string | undefined, Record<string, string>, number, string][] = [
    ['POST', '/api/items', '{"name": "x", "price": ', {}, 400, 'PC_ERR_BODY_MALFORMED'],
    ['POST', '/api/items', JSON.stringify({ name: 'x', price: 'cheap' }), {}, 400, 'PC_ERR_VALIDATION'],
    ['POST', '/api/items', JSON.stringify({ name: 'x' }), {}, 400, 'PC_ERR_VALIDATION'],
    ['POST', '/api/items', JSON.stringify({ ...item, admin: true }), {}, 400, 'PC_ERR_VALIDATION'],
    ['GET', '/api/items/abc', undefined, {}, 400, 'PC_ERR_VALIDATION'],
    ['POST', '/api/items', '<item/>', { 'content-type': 'application/xml' }, 415, 'PC_ERR_UNSUPPORTED_MEDIA_TYPE'],
    ['POST', '/api/items', undefined, {}, 400, 'PC_ERR_BODY_REQUIRED'],
    ['GET', '/library/v2/books/123', undefined, {}, 400, 'PC_ERR_VALIDATION'],
    ['GET', '/api/items/7', JSON.stringify(item), {}, 415, 'PC_ERR_UNSUPPORTED_MEDIA_TYPE'],
  ];
  for (const [method, path, body, headers, status, code] of cases) {
    const r = await request(method, path, body, headers);
    assert.equal(r.status, status, `${method} ${path} ${body ?? ''}`);
    assert.equal(r.headers['content-type'], 'application/problem+json');
    assert.equal(r.json.code, code, `${method} ${path} ${body ?? ''}`);
  }
  const wrong = await request('POST', '/api/items', JSON.stringify({ name: 'x', price: 'cheap' }));
  assert.deepEqual(wrong.json.errors, [{ pointer: '/body/price', reason: 'must be number' }]);
  assert.equal(up.count(), before, 'the upstream received none of the invalid requests');
  const ok = await request('POST', '/api/items', JSON.stringify(item));
  assert.equal(ok.status, 201);
  assert.equal(up.count(), before + 1);
});

test('hostile bodies are refused quickly and the gateway keeps serving', async () => {
  const before = up.count();
  const cases: [string, () => Promise<Reply | number>, number, string | null][] = [
    ['JSON nested 100,000 deep', () => request('POST', '/api/categories', '['.repeat(100000) + ']'.repeat(100000)), 400, 'PC_ERR_BODY_LIMITS'],
    [
      '1,000,000 keys',
      () => {
        const parts: string[] = [];
        for (let i = 0; i < 1000000; i++) parts.push(`"k${i}":1`);
        return request('POST', '/api/categories', `{${parts.join(',')}}`);
      },
      400,
      'PC_ERR_BODY_LIMITS',
    ],
    ['a 50 MB body', () => bigRequest('/api/categories', 50 * 1024 * 1024), 413, null],
    ['__proto__ at the top', () => request('POST', '/api/categories', '{"__proto__": {"admin": true}}'), 400, 'PC_ERR_BODY_FORBIDDEN_KEY'],
    [
      '__proto__ deep inside',
      () => request('POST', '/api/categories', '{"name":"a","children":[{"name":"b","children":[{"__proto__":{"admin":true}}]}]}'),
      400,
      'PC_ERR_BODY_FORBIDDEN_KEY',
    ],
    ['escaped __proto__', () => request('POST', '/api/categories', '{"\\u005f_proto__": {"admin": true}}'), 400, 'PC_ERR_BODY_FORBIDDEN_KEY'],
    [
      'constructor.prototype',
      () => request('POST', '/api/items', '{"name":"x","price":1,"constructor":{"prototype":{"admin":true}}}'),
      400,
      'PC_ERR_BODY_FORBIDDEN_KEY',
    ],
    ['duplicate keys', () => request('POST', '/api/items', '{"name":"x","price":1,"price":-5}'), 400, 'PC_ERR_BODY_MALFORMED'],
  ];
  for (const [name, send, status, code] of cases) {
    const t0 = Date.now();
    const r = await send();
    const ms = Date.now() - t0;
    if (typeof r === 'number') assert.equal(r, status, name);
    else {
      assert.equal(r.status, status, name);
      assert.equal(r.json.code, code, name);
      assert.ok(r.body.length < 2000, `${name}: the reply does not echo the input`);
    }
    // generous bound: the point is "no stall", not a benchmark
    assert.ok(ms < 10000, `${name} took ${ms} ms`);
    await normalRequestWorks();
  }
  assert.equal(({} as Record<string, unknown>)['admin'], undefined, 'no prototype was polluted');
  assert.equal(up.count(), before + cases.length, 'only the normal requests reached the upstream');
});

test('response filter removes undeclared properties, nested ones included', async () => {
  const r = await request('GET', '/api/items/7');
  assert.equal(r.status, 200);
  assert.deepEqual(r.json, { id: 7, name: 'widget', price: 3, supplier: { name: 'acme', country: 'DE' } });
  assert.equal(r.headers['content-length'], String(Buffer.byteLength(r.body)));
  assert.equal(up.seen.at(-1)?.headers['accept-encoding'], 'identity');
});

test('response filter still refuses a response that is invalid after filtering', async () => {
  const r = await request('GET', '/api/items/8');
  assert.equal(r.status, 502);
  assert.equal(r.json.code, 'PC_ERR_RESPONSE_INVALID');
  assert.ok(!r.body.includes('free'));
});

test('response enforce turns an invalid response into 502', async () => {
  const r = await request('GET', '/api/items?limit=5');
  assert.equal(r.status, 502);
  assert.equal(r.json.code, 'PC_ERR_RESPONSE_INVALID');
  assert.ok(!r.body.includes('not-a-number'));
});
