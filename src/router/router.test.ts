import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Router } from './router.js';

function router(): Router<string> {
  const r = new Router<string>();
  const add = (value: string, spec: { hosts?: string[]; methods?: string[]; path?: string; prefix?: string }) =>
    r.add({
      value,
      hosts: spec.hosts ?? null,
      methods: spec.methods ? new Set(spec.methods) : null,
      ...(spec.path ? { path: spec.path } : {}),
      ...(spec.prefix ? { prefix: spec.prefix } : {}),
    });
  add('exact', { path: '/items/special', methods: ['GET'] });
  add('tpl', { path: '/items/{id}', methods: ['GET', 'PUT'] });
  add('nested', { path: '/items/{id}/parts/{part}' });
  add('pattern', { path: '/files/{name}.{ext}', methods: ['GET'] });
  add('prefix', { prefix: '/api' });
  add('prefix-deep', { prefix: '/api/v2' });
  add('root', { prefix: '/', methods: ['OPTIONS'] });
  add('host', { hosts: ['a.example.com'], path: '/h' });
  add('wild', { hosts: ['*.example.com'], path: '/h' });
  add('any-host', { path: '/h', methods: ['GET'] });
  return r;
}

test('exact paths beat templates and templates capture decoded parameters', () => {
  const r = router();
  assert.deepEqual(r.find('GET', 'x', '/items/special'), { kind: 'found', value: 'exact', params: {} });
  assert.deepEqual(r.find('GET', 'x', '/items/caf%C3%A9'), { kind: 'found', value: 'tpl', params: { id: 'café' } });
  assert.deepEqual(r.find('POST', 'x', '/items/1/parts/2'), { kind: 'found', value: 'nested', params: { id: '1', part: '2' } });
  assert.deepEqual(r.find('GET', 'x', '/files/report.json'), { kind: 'found', value: 'pattern', params: { name: 'report', ext: 'json' } });
});

test('a path matched only with other methods gives the Allow list; HEAD follows GET', () => {
  const r = router();
  assert.deepEqual(r.find('DELETE', 'x', '/items/7'), { kind: 'method', allow: ['GET', 'HEAD', 'OPTIONS', 'PUT'] });
  assert.equal(r.find('HEAD', 'x', '/items/7').kind, 'found');
  assert.equal(r.find('PUT', 'x', '/items/special').kind, 'found', 'falls through to the template for PUT');
});

test('prefixes match on segment boundaries, longest first; parameters never match empty segments', () => {
  const r = router();
  assert.deepEqual(r.find('GET', 'x', '/api/v2/x'), { kind: 'found', value: 'prefix-deep', params: {} });
  assert.deepEqual(r.find('GET', 'x', '/api/v20'), { kind: 'found', value: 'prefix', params: {} });
  assert.equal(r.find('GET', 'x', '/apix').kind, 'method', 'only the OPTIONS root prefix matches /apix');
  assert.equal(r.find('GET', 'x', '/itemsx').kind, 'method');
});

test('hosts: exact, then the wildcard, then host-agnostic routes', () => {
  const r = router();
  assert.equal((r.find('POST', 'a.example.com', '/h') as { value: string }).value, 'host');
  assert.equal((r.find('POST', 'b.example.com', '/h') as { value: string }).value, 'wild');
  assert.equal((r.find('GET', 'other.org', '/h') as { value: string }).value, 'any-host');
  assert.deepEqual(r.find('POST', 'other.org', '/h'), { kind: 'method', allow: ['GET', 'HEAD', 'OPTIONS'] });
  assert.equal((r.find('GET', 'example.com', '/h') as { value: string }).value, 'any-host', 'a wildcard does not match the bare domain');
});

test('static segments resolve the same whether a node has few of them (compared) or many (a Map)', () => {
  for (const n of [1, 4, 5, 12]) {
    const r = new Router<string>();
    for (let i = 0; i < n; i++) r.add({ value: `s${i}`, hosts: null, methods: null, path: `/v/seg${i}/{id}` });
    r.add({ value: 'param', hosts: null, methods: null, path: '/v/{other}/{id}' });
    for (let i = 0; i < n; i++) assert.deepEqual(r.find('GET', 'x', `/v/seg${i}/7`), { kind: 'found', value: `s${i}`, params: { id: '7' } }, `n=${n} i=${i}`);
    assert.deepEqual(r.find('GET', 'x', `/v/seg${n}/7`), { kind: 'found', value: 'param', params: { other: `seg${n}`, id: '7' } });
    assert.deepEqual(r.find('GET', 'x', '/v/seg0'), { kind: 'none' });
  }
});

test('a path variant that a folding upstream reads as a more specific route gets that route', () => {
  const r = new Router<string>();
  const fold = { case: true, trailingSlash: true };
  r.add({ value: 'admin', hosts: null, methods: null, path: '/api/admin', fold });
  r.add({ value: 'item', hosts: null, methods: null, path: '/api/items/{id}', fold });
  r.add({ value: 'api', hosts: null, methods: null, prefix: '/api', fold });
  for (const p of ['/api/admin/', '/api/Admin', '/API/ADMIN/']) assert.equal((r.find('GET', 'x', p) as { value: string }).value, 'admin', p);
  assert.deepEqual(r.find('GET', 'x', '/API/Items/AbC/'), { kind: 'found', value: 'item', params: { id: 'AbC' } }, 'parameters keep their case');
  assert.equal((r.find('GET', 'x', '/api/admin;x', true) as { value: string }).value, 'admin', 'with ; parameters cut');
  assert.equal((r.find('GET', 'x', '/api/other') as { value: string }).value, 'api');
});

test('an upstream that folds nothing is routed exactly, but its empty last parameter is read as find-my-way reads it', () => {
  const r = new Router<string>();
  const none = { case: false, trailingSlash: false };
  r.add({ value: 'admin', hosts: null, methods: null, path: '/api/admin', fold: none });
  r.add({ value: 'item', hosts: null, methods: null, path: '/api/items/{id}', fold: none });
  r.add({ value: 'api', hosts: null, methods: null, prefix: '/api', fold: none });
  assert.equal((r.find('GET', 'x', '/api/Admin') as { value: string }).value, 'api');
  assert.equal((r.find('GET', 'x', '/api/admin/') as { value: string }).value, 'api');
  assert.deepEqual(r.find('GET', 'x', '/api/items/'), { kind: 'found', value: 'item', params: { id: '' } });
});

test('an upstream that ignores trailing slashes never gets an empty last parameter', () => {
  const r = new Router<string>();
  const fold = { case: true, trailingSlash: true };
  r.add({ value: 'item', hosts: null, methods: null, path: '/api/items/{id}', fold });
  r.add({ value: 'api', hosts: null, methods: null, prefix: '/api', fold });
  assert.equal((r.find('GET', 'x', '/api/items/') as { value: string }).value, 'api');
});
