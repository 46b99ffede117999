import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { formatHttpDate, parseHttpDate } from './http-date.js';

const NOW = Date.UTC(2026, 11, 7, 17, 0, 0);

test('the three HTTP-date forms are read, names case-insensitively (table)', () => {
  const cases: [string, number][] = [
    ['Sun, 06 Nov 1994 08:49:37 GMT', Date.UTC(1994, 10, 6, 8, 49, 37)],
    ['Sunday, 06-Nov-94 08:49:37 GMT', Date.UTC(1994, 10, 6, 8, 49, 37)],
    ['Sun Nov  6 08:49:37 1994', Date.UTC(1994, 10, 6, 8, 49, 37)],
    ['Thu Aug  8 02:01:18 2050', Date.UTC(2050, 7, 8, 2, 1, 18)],
    ['Tue, 19 Jan 2038 14:14:08 GMT', Date.UTC(2038, 0, 19, 14, 14, 8)],
    ['Sun, 21 Nov 2286 04:46:39 GMT', Date.UTC(2286, 10, 21, 4, 46, 39)],
    ['THU, 18 Aug 2050 02:01:18 GMT', Date.UTC(2050, 7, 18, 2, 1, 18)],
    ['Thu, 18 AUG 2050 02:01:18 GMT', Date.UTC(2050, 7, 18, 2, 1, 18)],
    ['Thu, 18 Aug 2050 02:01:18 gMT', Date.UTC(2050, 7, 18, 2, 1, 18)],
    ['  Thu, 18 Aug 2050 02:01:18 GMT  ', Date.UTC(2050, 7, 18, 2, 1, 18)],
    ['Wed, 29 Feb 2028 00:00:00 GMT', Date.UTC(2028, 1, 29)],
    ['Thu, 01 Jan 1970 00:00:00 GMT', 0],
  ];
  for (const [v, want] of cases) assert.equal(parseHttpDate(v, NOW), want, v);
});

test('RFC 850 two-digit years: more than 50 years ahead means the past century', () => {
  assert.equal(parseHttpDate('Thursday, 18-Aug-50 02:01:18 GMT', NOW), Date.UTC(2050, 7, 18, 2, 1, 18));
  assert.equal(parseHttpDate('Thursday, 18-Aug-76 02:01:18 GMT', NOW), Date.UTC(2076, 7, 18, 2, 1, 18), '2076 is 50 years ahead: kept');
  assert.equal(parseHttpDate('Thursday, 18-Aug-77 02:01:18 GMT', NOW), Date.UTC(1977, 7, 18, 2, 1, 18), '2077 is 51 years ahead: 1977');
  assert.equal(parseHttpDate('Thursday, 18-Aug-80 02:01:18 GMT', NOW), Date.UTC(1980, 7, 18, 2, 1, 18));
  assert.equal(parseHttpDate('Thursday, 18-Aug-26 02:01:18 GMT', NOW), Date.UTC(2026, 7, 18, 2, 1, 18));
});

test('anything else is not a date (table)', () => {
  const bad = [
    undefined,
    '',
    '0',
    '-1',
    'foo',
    '1700000000',
    'Thu, 18 Aug 2050 02:01:18 UTC',
    'Thu, 18 Aug 2050 02:01:18 AEST',
    'Thu, 18 Aug 2050 02:01:18 +0000',
    'Thu, 18 Aug 50 02:01:18 GMT',
    'Thu 18 Aug 2050 02:01:18 GMT',
    'Thu, 18  Aug  2050 02:01:18 GMT',
    'Thu, 18-Aug-2050 02:01:18 GMT',
    'Thu, 18 Aug 2050 02.01.18 GMT',
    'Thu, 18 Aug 2050 2:01:18 GMT',
    'Thu, 8 Aug 2050 02:01:18 GMT',
    'Thu, 31 Feb 2050 02:01:18 GMT',
    'Thu, 00 Aug 2050 02:01:18 GMT',
    'Thu, 18 Aug 2050 24:00:00 GMT',
    'Thu, 18 Aug 2050 23:60:00 GMT',
    'Thu, 18 Aug 2050 23:59:61 GMT',
    'Xyz, 18 Aug 2050 02:01:18 GMT',
    'Thu, 18 Foo 2050 02:01:18 GMT',
    'Thu, 18 Aug 0050 02:01:18 GMT',
    'Thu, 18 Aug 2050 02:01:18 GMT, Fri, 19 Aug 2050 02:01:18 GMT',
    `Thu, 18 Aug 2050 02:01:18 GMT${' '.repeat(100)}`,
    'Thu, １８ Aug 2050 02:01:18 GMT',
    'Thu, 18 Aug 2050 02:01:18 GMT\u0000',
  ];
  for (const v of bad) assert.equal(parseHttpDate(v, NOW), null, String(v));
});

test('formatHttpDate writes an IMF-fixdate that parses back', () => {
  assert.equal(formatHttpDate(Date.UTC(1994, 10, 6, 8, 49, 37)), 'Sun, 06 Nov 1994 08:49:37 GMT');
  assert.equal(parseHttpDate(formatHttpDate(NOW), NOW), NOW);
});

test('property: every IMF-fixdate written parses back; random strings never throw', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 253402300799 }), (s) => {
      assert.equal(parseHttpDate(formatHttpDate(s * 1000), NOW), s * 1000);
    }),
    { numRuns: 500 },
  );
  fc.assert(
    fc.property(fc.string({ maxLength: 80 }), (s) => {
      const t = parseHttpDate(s, NOW);
      assert.ok(t === null || Number.isFinite(t));
    }),
    { numRuns: 500 },
  );
});
