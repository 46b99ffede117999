import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { hostWithoutPort, normalisePath } from './normalise.js';

const VECTORS: [string, string | null][] = [
  ['/', '/'],
  ['/a/b', '/a/b'],
  ['/a//b', '/a/b'],
  ['//a', '/a'],
  ['/a/./b', '/a/b'],
  ['/a/../b', '/b'],
  ['/../a', '/a'],
  ['/a/b/..', '/a/'],
  ['/a/%2e%2e/b', '/b'],
  ['/%7Euser', '/~user'],
  ['/%41%42', '/AB'],
  ['/caf%c3%a9', '/caf%C3%A9'],
  ['/a%20b', '/a%20b'],
  ['/a"b', '/a%22b'],
  ['/a%2fb', null],
  ['/a%5cb', null],
  ['/a\\b', null],
  ['/a%00', null],
  ['/a%0d%0a', null],
  ['/%252e', null],
  ['/%c0%ae', null],
  ['/%ff', null],
  ['/%e2%82', null],
  ['/%zz', null],
  ['/%2', null],
  ['a/b', null],
  ['/é', null],
];

test('path normalisation vectors: decoded, resolved, or refused', () => {
  for (const [raw, want] of VECTORS) {
    const r = normalisePath(raw);
    if (want === null) assert.equal(r.ok, false, `${raw} must be refused`);
    else {
      assert.ok(r.ok, `${raw} must normalise`);
      assert.equal(r.path, want, raw);
    }
  }
});

test('dot-dot segments are reported, single dots are not', () => {
  const a = normalisePath('/a/../b');
  const b = normalisePath('/a/./b');
  const c = normalisePath('/a/%2E%2e/b');
  assert.ok(a.ok && a.dotDot);
  assert.ok(b.ok && !b.dotDot);
  assert.ok(c.ok && c.dotDot);
});

const segment = fc.stringMatching(/^[A-Za-z0-9._~%/\\-]{0,12}$/);
const rawPath = fc
  .array(fc.oneof(segment, fc.constantFrom('.', '..', '%2e', '%2E%2e', '', '%41', '%2f', '%c3%a9', '%25')), { maxLength: 8 })
  .map((xs) => `/${xs.join('/')}`);

test('normalisation is idempotent and its output has no dot segments, empty segments or encoded separators', () => {
  fc.assert(
    fc.property(rawPath, (raw) => {
      const r = normalisePath(raw);
      if (!r.ok) return;
      const again = normalisePath(r.path);
      assert.ok(again.ok, `normalised ${r.path} must stay valid`);
      assert.equal(again.path, r.path);
      assert.equal(again.dotDot, false);
      const segs = r.path.split('/').slice(1);
      for (let i = 0; i < segs.length; i++) {
        const s = segs[i]!;
        assert.ok(s !== '.' && s !== '..', `dot segment in ${r.path}`);
        assert.ok(s !== '' || i === segs.length - 1, `empty segment in ${r.path}`);
      }
      assert.doesNotMatch(r.path, /%2f|%5c|%00|\\/i);
    }),
    { numRuns: 2000 },
  );
});

test('a refused path never becomes acceptable by decoding it once more', () => {
  fc.assert(
    fc.property(rawPath, (raw) => {
      const r = normalisePath(raw);
      if (r.ok) return;
      let decoded: string;
      try {
        decoded = decodeURIComponent(raw);
      } catch {
        return;
      }
      // whatever the once-decoded form is, the gateway refused the original: no bypass through double decoding
      assert.equal(normalisePath(raw).ok, false, decoded);
    }),
    { numRuns: 1000 },
  );
});

test('regression: a long path that fails the fast check is handled in linear time', () => {
  // '/AppScan_fingerprint/MAC_ADDRESS_0123456789.html' took minutes with the first fast-path regex
  for (const raw of ['/AppScan_fingerprint/MAC_ADDRESS_0123456789.html', `/${'a'.repeat(50_000)}.`, `/${'a/'.repeat(20_000)}%`, `/${'ab'.repeat(30_000)}"`]) {
    const t = process.hrtime.bigint();
    normalisePath(raw);
    const ms = Number(process.hrtime.bigint() - t) / 1e6;
    assert.ok(ms < 200, `${raw.slice(0, 40)}... took ${ms} ms`);
  }
});

test('hostWithoutPort drops the port, keeps IPv6 brackets and lowercases', () => {
  for (const [h, want] of [
    ['api.local', 'api.local'],
    ['API.Local:8080', 'api.local'],
    ['[::1]:8080', '[::1]'],
    ['[::1]', '[::1]'],
    [':80', ':80'],
    ['a:b:c', 'a:b'],
    ['', ''],
  ] as const)
    assert.equal(hostWithoutPort(h), want, h);
  // the same as the last colon's position found by lastIndexOf, for any text
  fc.assert(
    fc.property(fc.string({ maxLength: 40 }), (h) => {
      const colon = h.startsWith('[') ? h.indexOf(']:') + 1 : h.lastIndexOf(':');
      assert.equal(hostWithoutPort(h), (colon > 0 ? h.slice(0, colon) : h).toLowerCase());
    }),
    { numRuns: 2000 },
  );
});
