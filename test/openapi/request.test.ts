import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { compiled, run, SETTINGS } from './compiled.js';

const { shop, library } = await compiled();
const op = (k: string) => shop.operations.get(k);
const lop = (k: string) => library.operations.get(k);
const item = { name: 'widget', price: 9.5, tags: ['a', 'b-1'] };

test('accepts a valid JSON body and exposes the parsed body and validated pointers', () => {
  const { deny, sink } = run(op('createItem'), { body: item });
  assert.equal(deny, undefined);
  assert.deepEqual(sink.parsedBody, item);
  assert.ok(sink.validatedPointers?.has('/body/price'));
  assert.ok(sink.validatedPointers?.has('/body/tags/1'));
  assert.ok(!sink.validatedPointers?.has('/body/name'));
});

test('rejects a wrong type, a missing required field and an extra field with pointers', () => {
  const wrong = run(op('createItem'), { body: { name: 'x', price: 'cheap' } }).deny;
  assert.equal(wrong?.code, 'PC_ERR_VALIDATION');
  assert.deepEqual(wrong?.errors, [{ pointer: '/body/price', reason: 'must be number' }]);
  const missing = run(op('createItem'), { body: { name: 'x' } }).deny;
  assert.deepEqual(missing?.errors, [{ pointer: '/body/price', reason: 'is required' }]);
  const extra = run(op('createItem'), { body: { ...item, admin: true } }).deny;
  assert.deepEqual(extra?.errors, [{ pointer: '/body/admin', reason: 'is not allowed' }]);
});

test('lists several violations, never the input values', () => {
  const d = run(op('createItem'), { body: { name: '', price: -1, tags: ['UPPER'], secretvalue: 'hunter2' } }).deny;
  assert.equal(d?.code, 'PC_ERR_VALIDATION');
  assert.equal(d?.errors?.length, 4);
  assert.ok(!JSON.stringify(d).includes('hunter2'));
  assert.ok(!JSON.stringify(d).includes('UPPER'));
});

test('honours OpenAPI 3.0 nullable and boolean exclusiveMaximum', () => {
  assert.equal(run(op('createItem'), { body: { ...item, description: null } }).deny, undefined);
  assert.equal(run(op('createItem'), { body: { ...item, discount: 99.9 } }).deny, undefined);
  assert.equal(run(op('createItem'), { body: { ...item, discount: 100 } }).deny?.code, 'PC_ERR_VALIDATION');
});

test('validates recursive schemas (circular $refs)', () => {
  const tree = { name: 'root', children: [{ name: 'a', children: [{ name: 'b' }] }] };
  assert.equal(run(op('createCategory'), { body: tree }).deny, undefined);
  const bad = run(op('createCategory'), { body: { name: 'root', children: [{ name: 'a', children: [{ nom: 'b' }] }] } }).deny;
  assert.deepEqual(bad?.errors?.map((e) => e.pointer).sort(), ['/body/children/0/children/0/name', '/body/children/0/children/0/nom']);
});

test('rejects readOnly properties in requests', () => {
  const d = run(op('replaceItem'), { params: { id: '3' }, body: { id: 3, name: 'x', price: 1 } }).deny;
  assert.equal(d?.code, 'PC_ERR_VALIDATION');
  assert.equal(d?.errors?.[0]?.pointer, '/body/id');
  assert.equal(run(op('replaceItem'), { params: { id: '3' }, body: { name: 'x', price: 1 } }).deny, undefined);
});

test('rejects invalid JSON, duplicate keys and prototype keys before the schema', () => {
  assert.equal(run(op('createItem'), { body: '{"name":"x",' }).deny?.code, 'PC_ERR_BODY_MALFORMED');
  assert.equal(run(op('createItem'), { body: '{"name":"x","name":"y","price":1}' }).deny?.code, 'PC_ERR_BODY_MALFORMED');
  assert.equal(run(op('createItem'), { body: '{"name":"x","price":1,"__proto__":{"admin":true}}' }).deny?.code, 'PC_ERR_BODY_FORBIDDEN_KEY');
});

test('a missing required body is 400 and an undeclared content type is 415', () => {
  assert.equal(run(op('createItem')).deny?.code, 'PC_ERR_BODY_REQUIRED');
  assert.equal(run(op('createItem'), { body: 'name=x', headers: { 'content-type': 'text/csv' } }).deny?.code, 'PC_ERR_UNSUPPORTED_MEDIA_TYPE');
  assert.equal(
    run(op('createItem'), { body: '{}', headers: { 'content-type': 'nonsense' } }).deny?.code,
    'PC_ERR_MEDIA_TYPE_INVALID',
    'not a media type: refused when read, at intake',
  );
  assert.equal(
    run(op('createItem'), { body: item, headers: { 'content-type': 'application/json; charset=utf-16' } }).deny?.code,
    'PC_ERR_UNSUPPORTED_MEDIA_TYPE',
  );
  assert.equal(run(op('getItem'), { params: { id: '1' }, body: item }).deny?.code, 'PC_ERR_UNSUPPORTED_MEDIA_TYPE');
  assert.equal(run(op('POST /items/{id}/notes'), { params: { id: '1' } }).deny, undefined);
});

test('validates urlencoded form bodies with type coercion', () => {
  const h = { 'content-type': 'application/x-www-form-urlencoded' };
  assert.equal(run(op('createItem'), { headers: h, body: 'name=widget&price=3.5' }).deny, undefined);
  assert.equal(run(op('createItem'), { headers: h, body: 'name=widget&price=abc' }).deny?.errors?.[0]?.pointer, '/body/price');
  assert.equal(run(op('createItem'), { headers: h, body: 'name=widget&price=1&x=1' }).deny?.errors?.[0]?.reason, 'is not allowed');
});

test('validates text/plain bodies', () => {
  const h = { 'content-type': 'text/plain; charset=utf-8' };
  assert.equal(run(op('POST /items/{id}/notes'), { params: { id: '1' }, headers: h, body: 'hello' }).deny, undefined);
  assert.equal(run(op('POST /items/{id}/notes'), { params: { id: '1' }, headers: h, body: 'x'.repeat(201) }).deny?.code, 'PC_ERR_VALIDATION');
});

test('validates path parameters, query styles, headers and cookies', () => {
  assert.equal(run(op('getItem'), { params: { id: '12' } }).deny, undefined);
  assert.deepEqual(run(op('getItem'), { params: { id: 'abc' } }).deny?.errors, [{ pointer: '/path/id', reason: 'must be integer' }]);
  assert.equal(run(op('getItem'), { params: { id: '0' } }).deny?.errors?.[0]?.pointer, '/path/id');
  assert.equal(run(op('getItem'), { params: { id: '1' }, headers: { 'x-trace-tag': 'BAD!' } }).deny?.errors?.[0]?.pointer, '/header/x-trace-tag');
  assert.equal(run(op('getItem'), { params: { id: '1' }, headers: { cookie: 'session=nope' } }).deny?.errors?.[0]?.pointer, '/cookie/session');
  assert.equal(run(op('getItem'), { params: { id: '1' }, headers: { cookie: 'session=1b4e28ba-2fa1-11d2-883f-0016d3cca427' } }).deny, undefined);
  const ok = run(op('listItems'), { query: 'limit=10&tags=a&tags=b&ids=1,2&filter[name]=x&filter[minPrice]=2.5&sort=price&other=1' });
  assert.equal(ok.deny, undefined);
  assert.ok(ok.sink.validatedPointers?.has('/query/limit'));
  assert.ok(ok.sink.validatedPointers?.has('/query/ids'));
  const bad = run(op('listItems'), { query: 'limit=1000&ids=1,x&filter[name]=x&filter[admin]=1&sort=evil&limit=2' }).deny;
  assert.deepEqual(bad?.errors?.map((e) => e.pointer).sort(), ['/query/filter/admin', '/query/ids/1', '/query/limit', '/query/sort']);
  assert.equal(run(op('listItems'), { query: 'limit=%zz' }).deny?.code, 'PC_ERR_QUERY_AMBIGUOUS', 'malformed percent-encoding: refused when read, at intake');
});

test('undeclared query parameters pass by default and are refused with unknown_query reject', () => {
  assert.equal(run(op('listItems'), { query: 'limit=5&utm_source=x' }).deny, undefined);
  const strict = { ...SETTINGS, rejectUnknownQuery: true };
  const d = run(op('listItems'), { query: 'limit=5&filter[name]=a&utm_source=x' }, strict).deny;
  assert.deepEqual(d?.errors, [{ pointer: '/query/utm_source', reason: 'is not a declared parameter' }]);
  assert.equal(run(op('getItem'), { params: { id: '1' }, query: 'x=1' }, strict).deny?.code, 'PC_ERR_VALIDATION');
  assert.equal(run(op('getItem'), { params: { id: '1' } }, strict).deny, undefined);
});

test('3.1: type arrays with null, unevaluatedProperties through allOf, formats and +json media', () => {
  const book = { title: 'T', isbn: '9780000000001', subtitle: null, published: '2020-02-29', pages: 10 };
  assert.equal(run(lop('createBook'), { body: book }).deny, undefined);
  assert.equal(run(lop('createBook'), { body: { ...book, extra: 1 } }).deny?.errors?.[0]?.pointer, '/body/extra');
  assert.equal(run(lop('createBook'), { body: { ...book, published: '2021-02-30' } }).deny?.errors?.[0]?.pointer, '/body/published');
  assert.equal(run(lop('createBook'), { body: { ...book, pages: 0 } }).deny?.errors?.[0]?.pointer, '/body/pages');
  const h = { 'content-type': 'application/merge-patch+json' };
  assert.equal(run(lop('patchBook'), { params: { isbn: '9780000000001' }, headers: h, body: { subtitle: null } }).deny, undefined);
  assert.equal(run(lop('patchBook'), { params: { isbn: '9780000000001' }, headers: h, body: {} }).deny?.code, 'PC_ERR_VALIDATION');
  assert.equal(run(lop('patchBook'), { params: { isbn: '97800' }, headers: h, body: { subtitle: 'x' } }).deny?.errors?.[0]?.pointer, '/path/isbn');
});

test('3.1: multipart/form-data fields are validated', () => {
  const b = 'bNd';
  const part = (name: string, v: string, file = false) =>
    `--${b}\r\nContent-Disposition: form-data; name="${name}"${file ? '; filename="c.png"' : ''}\r\n\r\n${v}\r\n`;
  const h = { 'content-type': `multipart/form-data; boundary=${b}` };
  const good = `${part('caption', 'cover') + part('image', '\x89PNG', true)}--${b}--\r\n`;
  assert.equal(run(lop('uploadCover'), { params: { isbn: '9780000000001' }, headers: h, body: Buffer.from(good, 'latin1') }).deny, undefined);
  const missing = `${part('caption', 'cover')}--${b}--\r\n`;
  assert.deepEqual(run(lop('uploadCover'), { params: { isbn: '9780000000001' }, headers: h, body: missing }).deny?.errors, [
    { pointer: '/body/image', reason: 'is required' },
  ]);
  assert.equal(
    run(lop('uploadCover'), { params: { isbn: '9780000000001' }, headers: { 'content-type': 'multipart/form-data' }, body: good }).deny?.code,
    'PC_ERR_BODY_MALFORMED',
  );
});
