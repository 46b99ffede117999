import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { paramSpec, queryValues, deserialiseSimple, parseCookies, type ParamSpec } from './params.js';
import type { ParameterObject } from './types.js';

const spec = (p: Partial<ParameterObject> & Pick<ParameterObject, 'name' | 'in'>): ParamSpec => {
  const s = paramSpec(p as ParameterObject);
  assert.ok(s);
  return s;
};
const plain = (o: unknown) => JSON.parse(JSON.stringify(o)) as unknown;

test('form style with explode (the default) collects repeated names into arrays', () => {
  const tags = spec({ name: 'tags', in: 'query', schema: { type: 'array', items: { type: 'string' } } });
  const limit = spec({ name: 'limit', in: 'query', schema: { type: 'integer' } });
  assert.deepEqual(
    plain(
      queryValues(
        [
          ['tags', 'a'],
          ['tags', 'b'],
          ['limit', '5'],
          ['other', 'x'],
        ],
        [tags, limit],
      ),
    ),
    { tags: ['a', 'b'], limit: '5' },
  );
});

test('a repeated scalar query parameter stays an array so that the schema refuses it', () => {
  const limit = spec({ name: 'limit', in: 'query', schema: { type: 'integer' } });
  assert.deepEqual(
    plain(
      queryValues(
        [
          ['limit', '1'],
          ['limit', '2'],
        ],
        [limit],
      ),
    ),
    { limit: ['1', '2'] },
  );
});

test('form without explode, spaceDelimited and pipeDelimited split one value', () => {
  const csv = spec({ name: 'ids', in: 'query', explode: false, schema: { type: 'array' } });
  const sp = spec({ name: 's', in: 'query', style: 'spaceDelimited', explode: false, schema: { type: 'array' } });
  const pp = spec({ name: 'p', in: 'query', style: 'pipeDelimited', explode: false, schema: { type: 'array' } });
  assert.deepEqual(
    plain(
      queryValues(
        [
          ['ids', '1,2,3'],
          ['s', 'a b'],
          ['p', 'x|y'],
        ],
        [csv, sp, pp],
      ),
    ),
    { ids: ['1', '2', '3'], s: ['a', 'b'], p: ['x', 'y'] },
  );
});

test('deepObject collects bracketed properties and ignores nested brackets', () => {
  const f = spec({ name: 'filter', in: 'query', style: 'deepObject', schema: { type: 'object' } });
  assert.deepEqual(
    plain(
      queryValues(
        [
          ['filter[name]', 'x'],
          ['filter[min]', '3'],
          ['filter[a][b]', 'z'],
          ['filterx', '1'],
        ],
        [f],
      ),
    ),
    { filter: { name: 'x', min: '3' } },
  );
});

test('an exploded form object takes its declared properties from the query', () => {
  const o = spec({ name: 'point', in: 'query', schema: { type: 'object', properties: { x: {}, y: {} } } });
  assert.deepEqual(
    plain(
      queryValues(
        [
          ['x', '1'],
          ['y', '2'],
          ['z', '3'],
        ],
        [o],
      ),
    ),
    { point: { x: '1', y: '2' } },
  );
});

test('simple style arrays and objects, label and matrix path parameters', () => {
  assert.deepEqual(deserialiseSimple('1,2', spec({ name: 'a', in: 'path', required: true, schema: { type: 'array' } })), ['1', '2']);
  assert.deepEqual(plain(deserialiseSimple('k,v,k2,v2', spec({ name: 'o', in: 'header', schema: { type: 'object' } }))), { k: 'v', k2: 'v2' });
  assert.deepEqual(plain(deserialiseSimple('k=v,k2=v2', spec({ name: 'o', in: 'header', explode: true, schema: { type: 'object' } }))), { k: 'v', k2: 'v2' });
  assert.equal(deserialiseSimple('.5', spec({ name: 'id', in: 'path', required: true, style: 'label', schema: { type: 'integer' } })), '5');
  assert.equal(deserialiseSimple(';id=5', spec({ name: 'id', in: 'path', required: true, style: 'matrix', schema: { type: 'integer' } })), '5');
});

test('Accept, Content-Type and Authorization header parameters are ignored', () => {
  assert.equal(paramSpec({ name: 'Authorization', in: 'header' }), null);
  assert.equal(spec({ name: 'X-Trace', in: 'header' }).key, 'x-trace');
});

test('parses cookies, first value wins, quoted and percent-encoded values decoded', () => {
  assert.deepEqual(plain(parseCookies('a=1; b="two"; a=3; c=%41; bad; =x')), { a: '1', b: 'two', c: 'A' });
});
