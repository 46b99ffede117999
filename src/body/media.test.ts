import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import contentType from 'content-type';
import { parseMediaType, readRequestContentType, requestMedia } from './media.js';

const READ: [string, string][] = [
  ['application/json', 'application/json'],
  ['Application/JSON', 'application/json'],
  ['application/json;charset=UTF-8', 'application/json; charset=utf-8'],
  ['application/json; charset="utf-8"', 'application/json; charset=utf-8'],
  ['application/json; charset=utf8', 'application/json; charset=utf-8'],
  ['application/json ; charset=utf-8', 'application/json; charset=utf-8'],
  ['application/json;', 'application/json'],
  ['application/json;;charset=utf-8', 'application/json; charset=utf-8'],
  ['  text/plain  ', 'text/plain'],
  ['multipart/form-data; boundary="a b"', 'multipart/form-data; boundary="a b"'],
  ['application/json; charset="utf\\-8"', 'application/json; charset=utf-8'],
  ['text/plain; Format=Flowed', 'text/plain; format=Flowed'],
];

const REFUSED = [
  'application/json; charset     =utf-7',
  'application/json; charset= utf-8',
  'application/json; charset=utf-8; charset="utf\\-7"',
  'application/json; charset=utf-8; CHARSET=utf-8',
  'application/json, text/plain',
  'json',
  '',
  'application/',
  '/json',
  'application/json; charset',
  'application/json; charset=',
  'application/json; charset="utf-8',
  'application/json; charset="ut\u00e9"',
  'application/json; a=1 b=2',
  'application/json x',
];

test('media types are read to the RFC 9110 grammar and serialised in one canonical form', () => {
  for (const [raw, canonical] of READ) {
    const r = parseMediaType(raw);
    assert.ok(r.ok, `${raw}: ${!r.ok ? r.reason : ''}`);
    assert.equal(r.media.canonical, canonical, raw);
  }
});

test('whitespace around =, repeated parameters and text outside the grammar are refused', () => {
  for (const raw of REFUSED) assert.equal(parseMediaType(raw).ok, false, raw);
});

test('a request body is read only as UTF-8 text: another charset is refused as unsupported, us-ascii is sent on as utf-8', () => {
  for (const raw of [
    'application/json; charset=utf-16',
    'application/json; charset=utf-7',
    'text/plain; charset=iso-8859-1',
    'application/x-www-form-urlencoded; charset=latin1',
  ]) {
    const r = readRequestContentType(raw);
    assert.ok(!r.ok && r.unsupported === true, raw);
  }
  const ascii = readRequestContentType('application/json; charset=US-ASCII');
  assert.ok(ascii.ok);
  assert.equal(ascii.media.canonical, 'application/json; charset=utf-8');
  const bin = readRequestContentType('application/octet-stream; charset=utf-16');
  assert.ok(bin.ok, 'the charset of an opaque body is not read');
  const m = parseMediaType('application/json');
  assert.ok(m.ok && requestMedia(m.media).ok);
});

const token = fc.stringMatching(/^[A-Za-z0-9!#$&^_.+-]{1,8}$/);
const ows = fc.constantFrom('', ' ', '  ', '\t');
const value = fc.oneof(
  token,
  fc.stringMatching(/^[ -~]{0,8}$/).map((s) => `"${s.replace(/(["\\])/g, '\\$1')}"`),
);
const param = fc.tuple(ows, token, fc.constantFrom('=', ' =', '= '), value).map(([w, n, eq, v]) => `;${w}${n}${eq}${v}`);
const header = fc.tuple(token, token, fc.array(param, { maxLength: 4 }), ows).map(([t, s, ps, w]) => `${t}/${s}${ps.join('')}${w}`);

test('whatever it accepts, the content-type package (Express, body-parser) reads the same type and parameters (property)', () => {
  fc.assert(
    fc.property(header, (raw) => {
      const ours = parseMediaType(raw);
      if (!ours.ok) return;
      const theirs = contentType.parse(raw);
      assert.equal(theirs.type, ours.media.essence);
      const params: Record<string, string> = {};
      for (const [k, v] of Object.entries(theirs.parameters)) params[k] = k === 'charset' ? (v.toLowerCase() === 'utf8' ? 'utf-8' : v.toLowerCase()) : v;
      assert.deepEqual(params, Object.fromEntries(ours.media.params));
      // and the canonical form reads back to itself, here and there
      const again = parseMediaType(ours.media.canonical);
      assert.ok(again.ok);
      assert.equal(again.media.canonical, ours.media.canonical);
      assert.equal(contentType.parse(ours.media.canonical).type, ours.media.essence);
    }),
    { numRuns: 3000 },
  );
});

test('every spelling the content-type package reads differently from the first parameter of a name is refused (property)', () => {
  fc.assert(
    fc.property(header, (raw) => {
      const names = [...raw.matchAll(/;[ \t]*([^=; \t]+)[ \t]*=/g)].map((m) => (m[1] as string).toLowerCase());
      if (new Set(names).size !== names.length) assert.equal(parseMediaType(raw).ok, false, raw);
      if (/[ \t]=|=[ \t]/.test(raw.replace(/"[^"]*"/g, '""'))) assert.equal(parseMediaType(raw).ok, false, raw);
    }),
    { numRuns: 3000 },
  );
});
