import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DnError, certificateNames, dnKey, formatDn, lastValue, OID_CN, parseDn, type Ava, type DistinguishedName } from './dn.js';

// --- a tiny DER encoder for test certificates ---------------------------------------------------
function der(tag: number, ...parts: Buffer[]): Buffer {
  const body = Buffer.concat(parts);
  const n = body.length;
  const len = n < 0x80 ? Buffer.from([n]) : n < 0x100 ? Buffer.from([0x81, n]) : Buffer.from([0x82, n >> 8, n & 0xff]);
  return Buffer.concat([Buffer.from([tag]), len, body]);
}
function oid(dotted: string): Buffer {
  const [a, b, ...rest] = dotted.split('.').map(Number) as [number, number, ...number[]];
  const bytes = [40 * a + b];
  for (const arc of rest) {
    const enc = [arc & 0x7f];
    for (let v = Math.floor(arc / 128); v > 0; v = Math.floor(v / 128)) enc.unshift((v & 0x7f) | 0x80);
    bytes.push(...enc);
  }
  return der(0x06, Buffer.from(bytes));
}
const utf8s = (s: string): Buffer => der(0x0c, Buffer.from(s, 'utf8'));
const printable = (s: string): Buffer => der(0x13, Buffer.from(s, 'latin1'));
type RdnSpec = [string, Buffer][];
const name = (rdns: RdnSpec[]): Buffer => der(0x30, ...rdns.map((r) => der(0x31, ...r.map(([o, v]) => der(0x30, oid(o), v)))));
/** A certificate shell: only the fields before the subject are read. */
const certOf = (issuer: Buffer, subject: Buffer): Buffer =>
  der(
    0x30,
    der(
      0x30,
      der(0xa0, der(0x02, Buffer.from([2]))),
      der(0x02, Buffer.from([1])),
      der(0x30, oid('1.2.840.10045.4.3.2')),
      issuer,
      der(0x30),
      subject,
      der(0x30),
    ),
    der(0x30, oid('1.2.840.10045.4.3.2')),
    der(0x03, Buffer.from([0])),
  );

const CN = '2.5.4.3';
const O = '2.5.4.10';
const C = '2.5.4.6';
const issuer = name([[[O, printable('Acme CA')]]]);

describe('distinguished names from certificates', () => {
  it('keeps a multi-valued RDN as one RDN, apart from the same attributes in two RDNs', () => {
    const multi = certificateNames(
      certOf(
        issuer,
        name([
          [
            [O, utf8s('Acme')],
            [CN, utf8s('billing')],
          ],
        ]),
      ),
    ).subject;
    const two = certificateNames(certOf(issuer, name([[[O, utf8s('Acme')]], [[CN, utf8s('billing')]]]))).subject;
    assert.equal(formatDn(multi), 'CN=billing+O=Acme');
    assert.equal(formatDn(two), 'CN=billing,O=Acme');
    assert.notEqual(dnKey(multi), dnKey(two));
    assert.equal(dnKey(multi), dnKey(parseDn('CN=billing+O=Acme')));
    assert.equal(dnKey(multi), dnKey(parseDn('O=Acme+CN=billing')), 'a set: order inside the RDN does not count');
    assert.notEqual(dnKey(multi), dnKey(parseDn('CN=billing,O=Acme')));
    assert.equal(dnKey(two), dnKey(parseDn('CN=billing,O=Acme')));
    assert.notEqual(dnKey(two), dnKey(parseDn('O=Acme,CN=billing')), 'RDN order counts');
  });

  it('keeps repeated attributes in their certificate order (no grouping by type)', () => {
    const dn = certificateNames(certOf(issuer, name([[[O, utf8s('a')]], [[C, printable('DE')]], [[O, utf8s('b')]], [[CN, utf8s('x')]]]))).subject;
    assert.equal(formatDn(dn), 'CN=x,O=b,C=DE,O=a');
    assert.equal(lastValue(dn, OID_CN), 'x');
  });

  it('decodes the string types and keeps other types as BER hex', () => {
    const bmp = Buffer.from('Zoë', 'utf16le').swap16();
    const universal = Buffer.alloc(8);
    universal.writeUInt32BE(0x1f600, 0);
    universal.writeUInt32BE(0x41, 4);
    const dn = certificateNames(
      certOf(
        issuer,
        name([
          [[CN, der(0x1e, bmp)]],
          [[CN, der(0x1c, universal)]],
          [[CN, der(0x14, Buffer.from([0x63, 0x61, 0x66, 0xe9]))]],
          [['1.2.3.4', der(0x02, Buffer.from([1]))]],
        ]),
      ),
    ).subject;
    assert.deepEqual(
      dn.map((r) => r[0]?.value),
      ['Zoë', '😀A', 'café', '020101'],
    );
    assert.equal(formatDn(dn), '1.2.3.4=#020101,CN=café,CN=😀A,CN=Zoë');
    assert.equal(dnKey(dn), dnKey(parseDn('1.2.3.4=#020101,CN=café,CN=😀A,CN=Zoë')));
    assert.equal(dnKey(parseDn('CN=#0c0462696c6c')), dnKey(parseDn('CN=bill')), 'a #hex string value equals its text');
  });

  it('reads the issuer too', () => {
    assert.equal(formatDn(certificateNames(certOf(issuer, name([[[CN, utf8s('x')]]]))).issuer), 'O=Acme CA');
  });

  it('refuses malformed DER with DnError and nothing else', () => {
    assert.throws(() => certificateNames(Buffer.from([0x30, 0x05, 0x30])), DnError);
    assert.throws(() => certificateNames(Buffer.from([0x30, 0x80, 0x00, 0x00])), DnError);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), (bytes) => {
        try {
          certificateNames(Buffer.from(bytes));
        } catch (e) {
          assert.ok(e instanceof DnError, String(e));
        }
      }),
      { numRuns: 3000 },
    );
  });
});

describe('RFC 4514 strings', () => {
  it('parses names, case-insensitive types, OIDs, escapes and spaces around separators', () => {
    const want = dnKey(parseDn('CN=billing,O=Acme\\, Inc.,C=DE'));
    assert.equal(dnKey(parseDn(' cn = billing , o=Acme\\, Inc. ,  C=DE ')), want);
    assert.equal(dnKey(parseDn('2.5.4.3=billing,OID.2.5.4.10=Acme\\2C Inc.,countryName=DE')), want);
    assert.equal(formatDn(parseDn('emailAddress=a@b.test+CN=x')), 'emailAddress=a@b.test+CN=x');
    assert.equal(parseDn('CN=\\ a\\ ')[0]?.[0]?.value, ' a ');
    assert.equal(parseDn('CN=\\#1')[0]?.[0]?.value, '#1');
    assert.equal(parseDn('CN=a=b#c')[0]?.[0]?.value, 'a=b#c', '= and a # inside a value need no escape (RFC 4514, as openssl prints)');
  });

  const bad: [string, string, RegExp][] = [
    ['empty', '', /empty/],
    ['no =', 'CN', /missing '='/],
    ['an unknown type', 'XX=1', /unknown attribute type 'XX'/],
    ['a quoted value', 'CN="a,b"', /quoted/],
    ['an unescaped ;', 'CN=a;O=b', /';' must be escaped/],
    ['a bad escape', 'CN=a\\zz', /bad escape/],
    ['bad hex', 'CN=#0g', /bad hex/],
    ['not UTF-8', 'CN=\\ff', /not UTF-8/],
  ];
  for (const [what, text, re] of bad) {
    it(`refuses ${what}`, () =>
      assert.throws(
        () => parseDn(text),
        (e: unknown) => e instanceof DnError && re.test(e.message),
      ));
  }

  it('formats every name into text that parses back to the same name', () => {
    const special = fc.constantFrom(',', '+', '"', '\\', '<', '>', ';', '=', '#', ' ', '\n', '\u0000', 'é', '😀');
    const value = fc.array(fc.oneof(special, fc.string({ unit: 'grapheme', maxLength: 4 })), { maxLength: 6 }).map((a) => a.join(''));
    const type = fc.constantFrom(CN, O, C, '2.5.4.11', '0.9.2342.19200300.100.1.25', '1.2.840.113549.1.9.1', '1.3.6.1.4.1.99999.1');
    const ava = fc.record({ oid: type, value, ber: fc.constant(false) }) as fc.Arbitrary<Ava>;
    const dnArb: fc.Arbitrary<DistinguishedName> = fc.array(fc.array(ava, { minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: 5 });
    fc.assert(
      fc.property(dnArb, (dn) => {
        const text = formatDn(dn);
        assert.equal(dnKey(parseDn(text)), dnKey(dn), text);
        assert.equal(formatDn(parseDn(text)), text);
      }),
      { numRuns: 2000 },
    );
  });
});
