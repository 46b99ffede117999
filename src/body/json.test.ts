import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { parseJsonSafe, DEFAULT_JSON_LIMITS, type JsonLimits } from './json.js';

const L: JsonLimits = { ...DEFAULT_JSON_LIMITS };
const p = (s: string, limits: JsonLimits = L) => parseJsonSafe(Buffer.from(s, 'utf8'), limits);

test('parses ordinary JSON into the same value as JSON.parse', () => {
  const r = p('{"name":"x","price":1.5,"tags":["a","b"],"n":null,"o":{"k":[1,{"z":true}]}}');
  assert.equal(r.ok, true);
  assert.deepEqual(r.ok && r.value, { name: 'x', price: 1.5, tags: ['a', 'b'], n: null, o: { k: [1, { z: true }] } });
});

test('accepts top-level scalars and strings containing structural characters', () => {
  assert.deepEqual(p('"a{[:,]}\\"b"'), { ok: true, value: 'a{[:,]}"b' });
  assert.deepEqual(p('42'), { ok: true, value: 42 });
  assert.deepEqual(p('{"a:b":"c,d","e":"{"}'), { ok: true, value: { 'a:b': 'c,d', e: '{' } });
});

test('rejects malformed JSON, empty bodies and invalid UTF-8 without throwing', () => {
  for (const s of ['{', '{"a":}', "{'a':1}", '[1,]', '', 'nul', '{"a":1}x']) {
    const r = p(s);
    assert.equal(r.ok, false, s);
    assert.equal(!r.ok && r.code, 'malformed', s);
  }
  const r = parseJsonSafe(Buffer.from([0x22, 0xff, 0xfe, 0x22]), L);
  assert.equal(!r.ok && r.code, 'malformed');
});

test('rejects a body larger than maxBytes before parsing', () => {
  const r = p('[1,2,3]', { ...L, maxBytes: 4 });
  assert.equal(!r.ok && r.code, 'too_large');
});

test('rejects nesting deeper than maxDepth, at exactly one level over', () => {
  const deep = (n: number) => '['.repeat(n) + ']'.repeat(n);
  assert.equal(p(deep(5), { ...L, maxDepth: 5 }).ok, true);
  const r = p(deep(6), { ...L, maxDepth: 5 });
  assert.equal(!r.ok && r.code, 'too_deep');
  const r2 = p(`${'{"a":'.repeat(6)}1${'}'.repeat(6)}`, { ...L, maxDepth: 5 });
  assert.equal(!r2.ok && r2.code, 'too_deep');
});

test('rejects JSON nested 100,000 deep without recursion', () => {
  const r = p('['.repeat(100000) + ']'.repeat(100000));
  assert.equal(!r.ok && r.code, 'too_deep');
});

test('rejects objects with more keys than maxKeys and arrays longer than maxArrayLength', () => {
  const obj = (n: number) => `{${Array.from({ length: n }, (_, i) => `"k${i}":${i}`).join(',')}}`;
  assert.equal(p(obj(10), { ...L, maxKeys: 10 }).ok, true);
  const r = p(obj(11), { ...L, maxKeys: 10 });
  assert.equal(!r.ok && r.code, 'too_many_keys');
  const arr = (n: number) => `[${Array.from({ length: n }, (_, i) => i).join(',')}]`;
  assert.equal(p(arr(10), { ...L, maxArrayLength: 10 }).ok, true);
  const r2 = p(arr(11), { ...L, maxArrayLength: 10 });
  assert.equal(!r2.ok && r2.code, 'array_too_long');
});

test('counts keys per object, not across sibling objects', () => {
  const r = p('[{"a":1,"b":2},{"c":3,"d":4}]', { ...L, maxKeys: 2 });
  assert.equal(r.ok, true);
  const r2 = p('{"x":{"a":1,"b":2},"y":1}', { ...L, maxKeys: 2 });
  assert.equal(r2.ok, true);
});

test('rejects strings longer than maxStringLength, keys included', () => {
  assert.equal(p(`"${'a'.repeat(8)}"`, { ...L, maxStringLength: 8 }).ok, true);
  const r = p(`{"a":"${'a'.repeat(9)}"}`, { ...L, maxStringLength: 8 });
  assert.equal(!r.ok && r.code, 'string_too_long');
  const r2 = p(`{"${'k'.repeat(9)}":1}`, { ...L, maxStringLength: 8 });
  assert.equal(!r2.ok && r2.code, 'string_too_long');
});

test('rejects duplicate keys at any depth', () => {
  for (const s of ['{"a":1,"a":2}', '{"x":[{"b":1,"c":2,"b":3}]}', '{"a":{"k":1},"b":{"k":1,"k":1}}']) {
    const r = p(s);
    assert.equal(!r.ok && r.code, 'duplicate_key', s);
  }
  assert.equal(p('{"a":{"a":{"a":1}}}').ok, true);
});

test('rejects __proto__, constructor and prototype keys at any depth, also when escaped', () => {
  for (const s of [
    '{"__proto__":{"admin":true}}',
    '{"a":[{"b":{"__proto__":{"admin":true}}}]}',
    '{"constructor":{"prototype":{"admin":true}}}',
    '{"x":{"prototype":1}}',
    '{"\\u005f_proto__":{"admin":true}}',
  ]) {
    const r = p(s);
    assert.equal(!r.ok && r.code, 'forbidden_key', s);
  }
  assert.equal(({} as Record<string, unknown>)['admin'], undefined);
  assert.equal(p('{"proto":1,"constructors":2}').ok, true);
});

test('agrees with JSON.parse on every JSON value within limits (property)', () => {
  fc.assert(
    fc.property(fc.jsonValue({ maxDepth: 6 }), (v) => {
      const text = JSON.stringify(v);
      const r = p(text, { ...L, maxDepth: 64 });
      const hasForbidden = /"(__proto__|constructor|prototype)":/.test(text);
      if (hasForbidden) return !r.ok;
      return r.ok && JSON.stringify(r.value) === text;
    }),
    { numRuns: 300 },
  );
});

test('never throws on arbitrary bytes (property)', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
      const r = parseJsonSafe(Buffer.from(bytes), L);
      return typeof r.ok === 'boolean';
    }),
    { numRuns: 500 },
  );
});
