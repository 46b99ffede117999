import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { compiled } from '../../../test/openapi/compiled.js';
import { checkResponse, filterUndeclared } from './response.js';

const { shop, library } = await compiled();
const json = { 'content-type': 'application/json' };
const buf = (v: unknown) => Buffer.from(JSON.stringify(v));

test('filter removes undeclared properties in objects, nested objects and array items', () => {
  const op = shop.operations.get('listItems')!;
  const v = checkResponse(op, 200, json, buf([{ id: 1, name: 'a', price: 1, cost: 0.5, supplier: { name: 's', bank: 'x' } }]), 'filter', 10);
  assert.equal(v.kind, 'replace');
  assert.deepEqual(JSON.parse((v as { body: Buffer }).body.toString()), [{ id: 1, name: 'a', price: 1, supplier: { name: 's' } }]);
});

test('filter keeps properties declared in any allOf branch (3.1 document)', () => {
  const op = library.operations.get('getBook')!;
  const book = { title: 'T', isbn: '9780000000001', subtitle: null, pages: 3 };
  assert.deepEqual(checkResponse(op, 200, json, buf(book), 'filter', 10), { kind: 'pass' });
  const v = checkResponse(op, 200, json, buf({ ...book, internal: true }), 'filter', 10);
  assert.equal(v.kind, 'replace');
  assert.deepEqual(JSON.parse((v as { body: Buffer }).body.toString()), book);
});

test('filter keeps free-form objects and maps declared with additionalProperties schemas', () => {
  const schema = {
    type: 'object',
    properties: { meta: { type: 'object' }, counts: { type: 'object', additionalProperties: { type: 'object', properties: { n: {} } } } },
  };
  const v = { meta: { anything: 1 }, counts: { a: { n: 1, leak: 2 } }, drop: 1 };
  assert.equal(filterUndeclared(v, schema, {}, 0), true);
  assert.deepEqual(v, { meta: { anything: 1 }, counts: { a: { n: 1 } } });
});

test('enforce refuses invalid JSON, wrong types and encoded bodies; other statuses and media pass', () => {
  const op = shop.operations.get('getItem')!;
  assert.equal(checkResponse(op, 200, json, Buffer.from('{"id":'), 'enforce', 10).kind, 'invalid');
  assert.equal(checkResponse(op, 200, json, buf({ id: 1, name: 'a', price: 'x' }), 'enforce', 10).kind, 'invalid');
  assert.equal(checkResponse(op, 200, { ...json, 'content-encoding': 'gzip' }, Buffer.from([1, 2]), 'enforce', 10).kind, 'invalid');
  assert.deepEqual(checkResponse(op, 500, json, buf({ anything: 1 }), 'enforce', 10), { kind: 'pass' });
  assert.deepEqual(checkResponse(op, 200, { 'content-type': 'text/html' }, Buffer.from('<p>'), 'enforce', 10), { kind: 'pass' });
  // writeOnly/readOnly: readOnly id is allowed in responses
  assert.deepEqual(checkResponse(op, 200, json, buf({ id: 1, name: 'a', price: 2 }), 'enforce', 10), { kind: 'pass' });
});

test('a 4XX range response schema applies to 404', () => {
  const op = shop.operations.get('createItem')!;
  assert.deepEqual(checkResponse(op, 404, json, buf({ message: 'no' }), 'enforce', 10), { kind: 'pass' });
  assert.equal(checkResponse(op, 404, json, buf({ message: 5 }), 'enforce', 10).kind, 'invalid');
});
