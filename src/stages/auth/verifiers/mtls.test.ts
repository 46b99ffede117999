import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { buildDirectory } from '../consumers.js';
import { CERT_HEADERS, certHeaderNames, certHeaders, decideMtls, headerSafe, mtlsSettings, parseSubjectAltName, type CertInfo } from './mtls.js';
import { dnKey, parseDn } from './dn.js';

const NOW = Date.parse('2026-06-01T00:00:00Z');
const cert = (over: Partial<CertInfo> = {}): CertInfo => ({
  authorized: true,
  authorizationError: null,
  subject: 'CN=billing,O=Acme',
  subjectKey: 'subjectKey' in over ? (over.subjectKey ?? null) : dnKey(parseDn(over.subject ?? 'CN=billing,O=Acme')),
  issuer: 'CN=Intermediate,O=Acme',
  commonName: 'billing',
  sans: ['URI:spiffe://acme/billing', 'DNS:billing.acme.test'],
  fingerprint256: 'ab'.repeat(32),
  x5tS256: 'q6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6s',
  serial: '0A1B',
  der: Buffer.from([0x30, 0x03, 0x02, 0x01, 0x01]),
  notBefore: Date.parse('2026-01-01T00:00:00Z'),
  notAfter: Date.parse('2027-01-01T00:00:00Z'),
  ...over,
});

const dir = buildDirectory([
  { id: 'by-fp', tenant: 't1', credentials: { certificates: [{ fingerprint: `${'CD:'.repeat(31)}CD` }] } },
  { id: 'by-san', tenant: 't2', credentials: { certificates: [{ san: 'URI:spiffe://acme/billing' }] } },
  { id: 'by-subject', tenant: 't3', credentials: { certificates: [{ subject: 'CN=reports,O=Acme' }] } },
]);
const settings = mtlsSettings({});
const consumerOf = (r: ReturnType<typeof decideMtls>): string | null | undefined =>
  r.kind === 'ok' ? r.identity.consumer : r.kind === 'fail' ? r.deny.code : 'absent';

describe('mTLS identity mapping', () => {
  it('maps a certificate by fingerprint, SAN or subject', () => {
    assert.equal(consumerOf(decideMtls(cert({ fingerprint256: 'cd'.repeat(32), sans: [] }), dir, settings, NOW)), 'by-fp');
    assert.equal(consumerOf(decideMtls(cert(), dir, settings, NOW)), 'by-san');
    assert.equal(consumerOf(decideMtls(cert({ sans: [], subject: 'CN=reports,O=Acme' }), dir, settings, NOW)), 'by-subject');
    assert.equal(
      consumerOf(decideMtls(cert({ sans: [], subject: 'CN=reports , o=Acme' }), dir, settings, NOW)),
      'by-subject',
      'spaces and attribute name case',
    );
  });

  it('never maps a subject with a multi-valued RDN to a consumer configured with those RDNs apart, or the reverse', () => {
    assert.equal(consumerOf(decideMtls(cert({ sans: [], subject: 'CN=reports+O=Acme' }), dir, settings, NOW)), 'PC_ERR_AUTH_CERT_UNKNOWN');
    assert.equal(consumerOf(decideMtls(cert({ sans: [], subject: 'O=Acme,CN=reports' }), dir, settings, NOW)), 'PC_ERR_AUTH_CERT_UNKNOWN', 'RDN order counts');
    const multi = buildDirectory([{ id: 'multi', credentials: { certificates: [{ subject: 'CN=reports+O=Acme' }] } }]);
    assert.equal(consumerOf(decideMtls(cert({ sans: [], subject: 'CN=reports,O=Acme' }), multi, settings, NOW)), 'PC_ERR_AUTH_CERT_UNKNOWN');
    assert.equal(consumerOf(decideMtls(cert({ sans: [], subject: 'O=Acme+CN=reports' }), multi, settings, NOW)), 'multi', 'order inside an RDN does not count');
  });

  it('matches no subject when the certificate names could not be read', () => {
    assert.equal(consumerOf(decideMtls(cert({ sans: [], subject: '', subjectKey: null }), dir, settings, NOW)), 'PC_ERR_AUTH_CERT_UNKNOWN');
  });

  it('ignores identity fields that are not listed in match', () => {
    const onlyFp = mtlsSettings({ match: ['fingerprint'] });
    assert.equal(consumerOf(decideMtls(cert(), dir, onlyFp, NOW)), 'PC_ERR_AUTH_CERT_UNKNOWN');
  });

  it('refuses a verified certificate that maps to no consumer, unless allowed', () => {
    const c = cert({ sans: [], subject: 'CN=stranger' });
    assert.equal(consumerOf(decideMtls(c, dir, settings, NOW)), 'PC_ERR_AUTH_CERT_UNKNOWN');
    const r = decideMtls(c, dir, mtlsSettings({ allow_unmapped: true }), NOW);
    assert.ok(r.kind === 'ok');
    assert.equal(r.identity.consumer, null);
    assert.equal(r.identity.subject, 'billing');
  });

  it('refuses a certificate the handshake did not verify', () => {
    assert.equal(consumerOf(decideMtls(cert({ authorized: false, authorizationError: 'CERT_REVOKED' }), dir, settings, NOW)), 'PC_ERR_AUTH_CERT_INVALID');
  });

  it('refuses a certificate that expired while its keep-alive connection stayed open', () => {
    assert.equal(consumerOf(decideMtls(cert(), dir, settings, Date.parse('2027-01-01T00:00:01Z'))), 'PC_ERR_AUTH_CERT_INVALID');
  });

  it('reports no certificate as absent', () => {
    assert.equal(consumerOf(decideMtls(null, dir, settings, NOW)), 'absent');
  });

  it('puts the certificate details and x5t#S256 into the identity claims', () => {
    const r = decideMtls(cert(), dir, settings, NOW);
    assert.ok(r.kind === 'ok');
    assert.equal(r.identity.claims['x5t#S256'], cert().x5tS256);
    assert.equal(r.identity.claims['cert_fingerprint_sha256'], 'ab'.repeat(32));
    assert.equal(r.identity.tenant, 't2');
  });
});

describe('certificate detail headers', () => {
  it('uses the default names, which CERT_HEADERS lists for stripping with the RFC 9440 ones', () => {
    const h = certHeaders(cert(), settings);
    assert.deepEqual(Object.keys(h).sort(), CERT_HEADERS.filter((n) => !n.startsWith('client-cert')).sort());
    assert.ok(CERT_HEADERS.includes('client-cert') && CERT_HEADERS.includes('client-cert-chain'));
    assert.equal(h['x-client-cert-subject'], 'CN=billing,O=Acme');
    assert.equal(h['x-client-cert-san'], 'URI:spiffe://acme/billing, DNS:billing.acme.test');
    assert.equal(h['x-client-cert-fingerprint'], 'ab'.repeat(32));
  });

  it('uses configured names and lists them for stripping with the defaults', () => {
    const s = mtlsSettings({ headers: { subject: 'X-SSL-Subject' } });
    assert.ok('x-ssl-subject' in certHeaders(cert(), s));
    const names = certHeaderNames({ headers: { subject: 'X-SSL-Subject' } });
    assert.ok(names.includes('x-ssl-subject') && names.includes('x-client-cert-subject'));
  });

  it('sends the whole certificate as an RFC 9440 byte sequence only when configured', () => {
    assert.ok(!('client-cert' in certHeaders(cert(), settings)));
    const s = mtlsSettings({ headers: { cert: 'Client-Cert' } });
    assert.equal(certHeaders(cert(), s)['client-cert'], ':MAMCAQE=:');
  });

  it('percent-encodes control characters, non-ASCII and % in values', () => {
    assert.equal(headerSafe('CN=a\r\nX-Evil: 1'), 'CN=a%0D%0AX-Evil: 1');
    assert.equal(headerSafe('CN=Zoë 100%'), 'CN=Zo%C3%AB 100%25');
    fc.assert(fc.property(fc.string(), (s) => /^[\x20-\x7e]*$/.test(headerSafe(s))));
  });
});

describe('certificate names', () => {
  const sans: [string, string, string[]][] = [
    [
      'plain entries',
      'DNS:a.test, URI:spiffe://x/y, IP Address:127.0.0.1, email:a@b.test',
      ['DNS:a.test', 'URI:spiffe://x/y', 'IP Address:127.0.0.1', 'email:a@b.test'],
    ],
    ['a JSON-quoted value with a comma (no forged entry)', 'DNS:"a.test, DNS:evil.test", DNS:b.test', ['DNS:a.test, DNS:evil.test', 'DNS:b.test']],
    ['a quoted value with an escaped quote', 'URI:"x\\"y"', ['URI:x"y']],
    ['an empty string', '', []],
    ['an unterminated quote', 'DNS:ok, DNS:"broken', ['DNS:ok']],
  ];
  for (const [name, input, want] of sans) {
    it(`parses subjectAltName with ${name}`, () => assert.deepEqual(parseSubjectAltName(input), want));
  }

  it('never throws on arbitrary subjectAltName strings', () => {
    fc.assert(fc.property(fc.string({ maxLength: 100 }), (s) => Array.isArray(parseSubjectAltName(s))));
  });
});
