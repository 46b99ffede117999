import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DELTA_MAX, deltaSeconds, parseCacheControl, parseDelta, parseTargeted } from './cache-control.js';

const entries = (v: string | readonly string[] | undefined): [string, string | null][] => [...parseCacheControl(v).values];

test('directives are lowercased, values unquoted, whitespace and empty members tolerated (table)', () => {
  const cases: [string | readonly string[] | undefined, [string, string | null][]][] = [
    [undefined, []],
    ['', []],
    [' , ,, ', []],
    ['max-age=60', [['max-age', '60']]],
    [
      'MaX-aGe=60, No-StOrE',
      [
        ['max-age', '60'],
        ['no-store', null],
      ],
    ],
    [
      '  public ,  max-age=5  ',
      [
        ['public', null],
        ['max-age', '5'],
      ],
    ],
    ['max-age="3600"', [['max-age', '3600']]],
    [
      'ext="a, b", max-age=1',
      [
        ['ext', 'a, b'],
        ['max-age', '1'],
      ],
    ],
    [
      'ext="max-age=3600", max-age=1',
      [
        ['ext', 'max-age=3600'],
        ['max-age', '1'],
      ],
    ],
    [
      'max-age=1, ext="max-age=3600"',
      [
        ['max-age', '1'],
        ['ext', 'max-age=3600'],
      ],
    ],
    [
      'ext="say \\"hi\\", \\\\ok", no-cache',
      [
        ['ext', 'say "hi", \\ok'],
        ['no-cache', null],
      ],
    ],
    ['no-cache="set-cookie, a"', [['no-cache', 'set-cookie, a']]],
    [
      ['max-age=1', 's-maxage=2'],
      [
        ['max-age', '1'],
        ['s-maxage', '2'],
      ],
    ],
    ["max-age='3600'", [['max-age', "'3600'"]]],
    [
      'foobar, max-age=3600',
      [
        ['foobar', null],
        ['max-age', '3600'],
      ],
    ],
    ['=5, max-age=7', [['max-age', '7']]],
    ['"quoted", max-age=7', [['max-age', '7']]],
    ['ünïcode, max-age=7', [['max-age', '7']]],
  ];
  for (const [input, want] of cases) assert.deepEqual(entries(input), want, JSON.stringify(input));
});

test('the first of a repeated directive is kept and the repeat recorded, on one line or several', () => {
  for (const input of ['max-age=1800, max-age=1', ['max-age=1800', 'max-age=1']]) {
    const d = parseCacheControl(input);
    assert.equal(d.values.get('max-age'), '1800');
    assert.ok(d.repeated.has('max-age'));
  }
});

test('malformed members keep their name with no value, so restrictive directives still apply (table)', () => {
  const cases: [string, string][] = [
    ['max-age =3600', 'max-age'],
    ['max-age= 3600', 'max-age'],
    ['max-age="3600', 'max-age'],
    ['max-age="36"00', 'max-age'],
    ['no-store =x', 'no-store'],
    ['max-age=', 'max-age'],
    ['private junk', 'private'],
  ];
  for (const [input, name] of cases) {
    const d = parseCacheControl(input);
    assert.ok(d.values.has(name), input);
    assert.equal(d.values.get(name), null, input);
    assert.ok(d.malformed.has(name), input);
    assert.equal(deltaSeconds(d, name), 'invalid', input);
  }
  // the next member after a malformed one is still read
  assert.equal(parseCacheControl('max-age =1, no-store').values.has('no-store'), true);
  assert.equal(parseCacheControl('a="unterminated, no-store').values.has('no-store'), false, 'a comma inside an open quote does not split');
});

test('over the bounds (8 KiB, 64 members) the field is unparseable and yields no directives', () => {
  const long = parseCacheControl(`max-age=5, x="${'a'.repeat(9000)}"`);
  assert.equal(long.unparseable, true);
  assert.equal(long.values.size, 0);
  const many = parseCacheControl(Array.from({ length: 65 }, (_, i) => `x${i}`).join(', '));
  assert.equal(many.unparseable, true);
  assert.equal(parseCacheControl(Array.from({ length: 64 }, (_, i) => `x${i}`).join(', ')).unparseable, false);
  assert.equal(parseCacheControl(Array.from({ length: 100 }, () => 'max-age=1')).unparseable, true, 'repeated lines count too');
});

test('delta-seconds: digits only, leading zeros fine, capped at 2^31, everything else invalid (table)', () => {
  const cases: [string, number | 'invalid'][] = [
    ['0', 0],
    ['3600', 3600],
    ['003600', 3600],
    ['2147483647', 2147483647],
    ['2147483648', DELTA_MAX],
    ['2147483649', DELTA_MAX],
    ['99999999999', DELTA_MAX],
    ['9'.repeat(400), DELTA_MAX],
    ['0000000000000000000042', 42],
    ['-1', 'invalid'],
    ['-3600', 'invalid'],
    ['1.5', 'invalid'],
    ['3600.0', 'invalid'],
    ['abc', 'invalid'],
    ['a3600', 'invalid'],
    ['3600a', 'invalid'],
    ['', 'invalid'],
    ['+5', 'invalid'],
    ['1e3', 'invalid'],
    ['0x10', 'invalid'],
    ['٣٦٠٠', 'invalid'],
  ];
  for (const [v, want] of cases) assert.equal(parseDelta(v), want, v);
  assert.equal(deltaSeconds(parseCacheControl('no-store'), 'max-age'), undefined);
  assert.equal(deltaSeconds(parseCacheControl('max-age'), 'max-age'), 'invalid');
  assert.equal(deltaSeconds(parseCacheControl('max-age="60"'), 'max-age'), 60);
});

test('property: any input parses without throwing, within the bounds, names lowercase tokens', () => {
  fc.assert(
    fc.property(fc.oneof(fc.string({ maxLength: 200 }), fc.array(fc.string({ maxLength: 50 }), { maxLength: 5 })), (input) => {
      const d = parseCacheControl(input);
      assert.ok(d.values.size <= 64);
      for (const name of d.values.keys()) assert.match(name, /^[!#$%&'*+\-.^_`|~0-9a-z]+$/);
      for (const name of d.values.keys()) {
        const v = deltaSeconds(d, name);
        assert.ok(v === 'invalid' || (Number.isInteger(v) && v! >= 0 && v! <= DELTA_MAX));
      }
    }),
    { numRuns: 500 },
  );
});

test('property: a serialised directive list parses back to the same names and values', () => {
  const token = fc.stringMatching(/^[a-z][a-z0-9-]{0,10}$/);
  const value = fc.oneof(
    fc.constant(null),
    fc.stringMatching(/^[a-z0-9]{1,8}$/),
    fc.string({ maxLength: 12 }).filter((s) => /^[\x20-\x7e]*$/.test(s)),
  );
  fc.assert(
    fc.property(fc.uniqueArray(fc.tuple(token, value), { selector: ([n]) => n, maxLength: 10 }), (pairs) => {
      const text = pairs.map(([n, v]) => (v === null ? n : `${n}="${v.replace(/["\\]/g, (c) => `\\${c}`)}"`)).join(' ,  ');
      assert.deepEqual([...parseCacheControl(text).values], pairs);
    }),
    { numRuns: 300 },
  );
});

test('a targeted field (CDN-Cache-Control) is an RFC 8941 Dictionary: Integers are values, other types malformed, invalid fields null (table)', () => {
  const cases: [string | readonly string[] | undefined, [string, string | null][] | null, string[]][] = [
    [undefined, null, []],
    ['', null, []],
    ['max-age=60', [['max-age', '60']], []],
    [
      'no-store, private',
      [
        ['no-store', null],
        ['private', null],
      ],
      [],
    ],
    [
      'max-age=60;x=1, foo',
      [
        ['max-age', '60'],
        ['foo', null],
      ],
      [],
    ],
    [['max-age=1', 'max-age=60'], [['max-age', '60']], []],
    ['max-age="60"', [['max-age', null]], ['max-age']],
    ['max-age=6.5', [['max-age', null]], ['max-age']],
    ['private=?0', [['private', null]], ['private']],
    [
      'a=(1 2), max-age=5',
      [
        ['a', null],
        ['max-age', '5'],
      ],
      ['a'],
    ],
    ['max-age=-5', [['max-age', '-5']], []],
    ['MaX-aGe=60', null, []],
    ['max-age =60', null, []],
    ['max-age= 60', null, []],
    ['max-age=60, &&&', null, []],
    ['max-age=60,', null, []],
    ['max-age=1234567890123456', null, []],
    ['a="unterminated', null, []],
  ];
  for (const [v, want, malformed] of cases) {
    const d = parseTargeted(v);
    if (want === null) assert.equal(d, null, JSON.stringify(v));
    else {
      assert.deepEqual([...(d?.values ?? [])], want, JSON.stringify(v));
      assert.deepEqual([...(d?.malformed ?? [])], malformed, JSON.stringify(v));
      assert.equal(d?.targeted, true);
    }
  }
  assert.equal(deltaSeconds(parseTargeted('max-age=-5')!, 'max-age'), 'invalid');
  assert.equal(deltaSeconds(parseTargeted('max-age="5"')!, 'max-age'), 'invalid');
});

test('the targeted-field parser never throws and stays bounded on arbitrary input', () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 300 }), (v) => {
      const d = parseTargeted(v);
      assert.ok(d === null || d.values.size > 0);
    }),
  );
});
