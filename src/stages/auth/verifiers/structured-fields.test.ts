import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { SfError, parseDictionary, parseItem, serializeDictionary, serializeInnerList, type Member } from './structured-fields.js';

const simple = (m: Member | undefined): unknown => {
  if (m === undefined) return undefined;
  const p = (params: ReadonlyMap<string, { t: string; v: unknown }>): unknown =>
    Object.fromEntries([...params].map(([k, v]) => [k, v.t === 'bin' ? (v.v as Buffer).toString('hex') : v.v]));
  if (m.kind === 'item') return { v: m.value.t === 'bin' ? m.value.v.toString('hex') : m.value.v, t: m.value.t, p: p(m.params) };
  return { list: m.items.map((i) => ({ v: i.value.v, t: i.value.t, p: p(i.params) })), p: p(m.params) };
};

describe('structured field dictionaries (RFC 8941)', () => {
  const valid: [string, string, Record<string, unknown>][] = [
    [
      'a signature input with parameters',
      'sig1=("@method" "@target-uri");created=1618884473;keyid="k1"',
      {
        sig1: {
          list: [
            { v: '@method', t: 'str', p: {} },
            { v: '@target-uri', t: 'str', p: {} },
          ],
          p: { created: 1618884473, keyid: 'k1' },
        },
      },
    ],
    ['an empty inner list', 'x=()', { x: { list: [], p: {} } }],
    ['a byte sequence', 'sig=:AQID:', { sig: { v: '010203', t: 'bin', p: {} } }],
    ['a bare key as true', 'a, b;q=1', { a: { v: true, t: 'bool', p: {} }, b: { v: true, t: 'bool', p: { q: 1 } } }],
    [
      'tokens, booleans, decimals and negatives',
      'a=tok/en:x, b=?0, c=-1.5, d=-7',
      {
        a: { v: 'tok/en:x', t: 'tok', p: {} },
        b: { v: false, t: 'bool', p: {} },
        c: { v: -1.5, t: 'dec', p: {} },
        d: { v: -7, t: 'int', p: {} },
      },
    ],
    ['escaped quotes and backslashes in strings', 'a="x\\"y\\\\z"', { a: { v: 'x"y\\z', t: 'str', p: {} } }],
    [
      'optional whitespace around commas and a component parameter',
      'a=1 ,\tb=("@query-param";name="Pet")',
      {
        a: { v: 1, t: 'int', p: {} },
        b: { list: [{ v: '@query-param', t: 'str', p: { name: 'Pet' } }], p: {} },
      },
    ],
    ['a duplicate key, the last value winning', 'a=1, a=2', { a: { v: 2, t: 'int', p: {} } }],
  ];
  for (const [name, input, want] of valid) {
    it(`parses ${name}`, () => {
      const d = parseDictionary(input);
      assert.deepEqual(Object.fromEntries([...d].map(([k, m]) => [k, simple(m)])), want);
    });
  }

  const hostile: [string, string][] = [
    ['an uppercase key', 'Sig1=()'],
    ['a trailing comma', 'a=1,'],
    ['a missing comma', 'a=1 b=2'],
    ['an unterminated string', 'a="abc'],
    ['an unterminated inner list', 'a=("x" "y"'],
    ['an unterminated byte sequence', 'a=:AQID'],
    ['a non-base64 byte sequence', 'a=:AQ*D:'],
    ['padding in the middle of base64', 'a=:AQ=D:'],
    ['a bad escape', 'a="\\n"'],
    ['a control character in a string', 'a="x\u0001"'],
    ['non-ASCII input', 'a="é"'],
    ['a 16-digit integer', 'a=1234567890123456'],
    ['a decimal with 4 fraction digits', 'a=1.2345'],
    ['a decimal without fraction', 'a=1.'],
    ['a lone minus', 'a=-'],
    ['a bad boolean', 'a=?2'],
    ['items without a separator in an inner list', 'a=("x""y")'],
    ['an empty key after a semicolon', 'a=1;'],
    ['too many members', Array.from({ length: 17 }, (_, i) => `k${i}=1`).join(', ')],
    ['too many inner-list items', `a=(${Array.from({ length: 33 }, () => '"x"').join(' ')})`],
    ['too many parameters', `a=1${Array.from({ length: 17 }, (_, i) => `;p${i}`).join('')}`],
    ['a newline', 'a=1\nb=2'],
  ];
  for (const [name, input] of hostile) {
    it(`refuses ${name}`, () => {
      assert.throws(() => parseDictionary(input), SfError);
    });
  }

  it('parses a single item and refuses trailing characters', () => {
    assert.equal(parseItem('"@method"').value.v, '@method');
    assert.throws(() => parseItem('"@method" x'), SfError);
  });

  it('serializes an inner list the way RFC 9421 prints signature parameters', () => {
    const d = parseDictionary('sig1=( "@method"   "content-digest");created=1;keyid="a\\"b";alg="hmac-sha256"');
    const m = d.get('sig1');
    assert.ok(m && m.kind === 'list');
    assert.equal(serializeInnerList(m), '("@method" "content-digest");created=1;keyid="a\\"b";alg="hmac-sha256"');
  });

  it('never throws anything but SfError on arbitrary input', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (s) => {
        try {
          parseDictionary(s);
        } catch (e) {
          if (!(e instanceof SfError)) throw e;
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('round-trips: serializing a parsed dictionary and parsing it again gives the same value', () => {
    const key = fc.stringMatching(/^[a-z][a-z0-9-]{0,6}$/);
    const bare = fc.oneof(
      fc.integer({ min: -1e6, max: 1e6 }).map((n) => String(n)),
      fc.stringMatching(/^[ -!#-[\]-~]{0,10}$/).map((s) => `"${s}"`),
      fc.uint8Array({ maxLength: 12 }).map((b) => `:${Buffer.from(b).toString('base64')}:`),
      fc.constantFrom('?0', '?1', 'tok', 'a/b:c'),
    );
    const member = fc.oneof(
      bare,
      fc.array(bare, { maxLength: 4 }).map((xs) => `(${xs.join(' ')})`),
    );
    fc.assert(
      fc.property(fc.array(fc.tuple(key, member, fc.option(fc.tuple(key, bare), { nil: undefined })), { minLength: 1, maxLength: 5 }), (entries) => {
        const text = entries.map(([k, m, p]) => `${k}=${m}${p ? `;${p[0]}=${p[1]}` : ''}`).join(', ');
        const once = parseDictionary(text);
        const again = parseDictionary(serializeDictionary(once));
        assert.deepEqual(
          [...again].map(([k, m]) => [k, simple(m)]),
          [...once].map(([k, m]) => [k, simple(m)]),
        );
      }),
      { numRuns: 500 },
    );
  });
});
