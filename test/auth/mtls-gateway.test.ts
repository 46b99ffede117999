/**
 * mTLS through a real gateway with a test PKI: optional mode (routes decide), certificate identity
 * mapped to consumers, certificate details forwarded upstream (incoming copies stripped),
 * certificate-bound tokens (RFC 8705), and required mode (handshake refused).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { testPki, type KeyPair } from '../helpers/pki.js';
import { AUTH_MODULES, makeKey, nowS, tlsRequest as request, tokenFor, type TestKey } from './support.js';

const listener = (clientAuth: string): string => `
listeners:
  - port: 0
    tls:
      cert: {{CERT}}
      key: {{KEY}}
      client_auth: ${clientAuth}
      ca: {{CA}}
      crl: [{{CRL_ROOT}}, {{CRL_INT}}]
`;

function vars(up: TestUpstream, extra: Record<string, string> = {}): Record<string, string> {
  const pki = testPki();
  return {
    UP: up.url,
    CERT: pki.server.certPath,
    KEY: pki.server.keyPath,
    CA: pki.caBundlePath,
    CRL_ROOT: pki.crlPaths[0] as string,
    CRL_INT: pki.crlPaths[1] as string,
    ...extra,
  };
}

describe('mTLS through the gateway, client_auth: optional', () => {
  let up: TestUpstream;
  let gw: TestGateway;
  let key: TestKey;

  before(async () => {
    const pki = testPki();
    key = makeKey('ES256');
    up = await startUpstream();
    gw = await startGateway(
      `
version: 1
${listener('optional')}
upstreams:
  up: { targets: [{ url: "{{UP}}" }] }
auth:
  mtls:
    headers: { cert: Client-Cert }
  jwt:
    providers:
      main:
        issuer: https://issuer.test
        audiences: [api]
        algorithms: [ES256]
        keys: {{KEYS}}
consumers:
  - id: client-a
    tenant: acme
    credentials:
      certificates:
        - { san: "URI:spiffe://test/client-a" }
  - id: client-b
    tenant: globex
    credentials:
      certificates:
        - { fingerprint: "${pki.clients.valid2.fingerprint256}" }
routes:
  - id: mtls
    match: { prefix: /mtls }
    upstream: up
    auth:
      mode: enforce
      replay: { jti: false, max_ttl_s: 86400 }
      any_of:
        - mtls: {}
  - id: bound
    match: { prefix: /bound }
    upstream: up
    auth:
      mode: enforce
      replay: { jti: false, max_ttl_s: 86400 }
      any_of:
        - jwt: { cert_bound: true }
`,
      { vars: vars(up, { KEYS: JSON.stringify([key.jwk]) }), modules: AUTH_MODULES },
    );
  });

  after(async () => {
    await gw.close();
    await up.close();
  });

  it('answers 401 on an mTLS route without a certificate, without contacting the upstream', async () => {
    const before = up.count();
    const r = await request(`${gw.url}/mtls/x`, null);
    assert.equal(r.status, 401, r.body);
    // the verifier reports the certificate absent; the auth stage names the missing credential
    assert.match(String(r.json()['code']), /^PC_ERR_AUTH_(CERT_)?REQUIRED$/);
    assert.equal(up.count(), before);
  });

  it('maps a valid certificate to its consumer by SAN and forwards its details, replacing spoofed copies', async () => {
    const pki = testPki();
    const r = await request(`${gw.url}/mtls/x`, pki.clients.valid, {
      'x-client-cert-subject': 'CN=admin',
      'x-client-cert-fingerprint': '00'.repeat(32),
      'x-consumer-id': 'root',
    });
    assert.equal(r.status, 200, r.body);
    const h = up.seen.at(-1)?.headers ?? {};
    assert.equal(h['x-consumer-id'], 'client-a');
    assert.equal(h['x-tenant-id'], 'acme');
    assert.equal(h['x-client-cert-subject'], 'CN=client-a,O=Portcullis Test');
    assert.equal(h['x-client-cert-fingerprint'], pki.clients.valid.fingerprint256);
    assert.equal(h['x-client-cert-san'], 'URI:spiffe://test/client-a, DNS:client-a.test');
    assert.equal(h['client-cert'], `:${new X509Certificate(pki.clients.valid.cert).raw.toString('base64')}:`);
  });

  it('maps another certificate by its fingerprint', async () => {
    const r = await request(`${gw.url}/mtls/x`, testPki().clients.valid2);
    assert.equal(r.status, 200, r.body);
    assert.equal(up.seen.at(-1)?.headers['x-consumer-id'], 'client-b');
  });

  const refused: [string, () => KeyPair, string][] = [
    ['a valid certificate that maps to no consumer', () => testPki().clients.unlisted, 'PC_ERR_AUTH_CERT_UNKNOWN'],
    ['a certificate from another CA with the same subject and SANs', () => testPki().clients.wrongCa, 'PC_ERR_AUTH_CERT_INVALID'],
    ['an expired certificate', () => testPki().clients.expired, 'PC_ERR_AUTH_CERT_INVALID'],
    ['a revoked certificate', () => testPki().clients.revoked, 'PC_ERR_AUTH_CERT_INVALID'],
  ];
  for (const [name, client, code] of refused) {
    it(`refuses ${name} with 401 ${code}`, async () => {
      const before = up.count();
      const r = await request(`${gw.url}/mtls/x`, client());
      assert.equal(r.status, 401, r.body);
      assert.equal(r.json()['code'], code);
      assert.equal(up.count(), before);
    });
  }

  const bound = (x5t: string): string =>
    tokenFor(key, { iss: 'https://issuer.test', aud: 'api', sub: 'svc', iat: nowS(), exp: nowS() + 300, cnf: { 'x5t#S256': x5t } });

  it('accepts a certificate-bound token presented with its certificate, and strips certificate headers on a non-mTLS route', async () => {
    const pki = testPki();
    const r = await request(`${gw.url}/bound/x`, pki.clients.valid, {
      authorization: `Bearer ${bound(pki.clients.valid.x5tS256)}`,
      'x-client-cert-subject': 'CN=admin',
      'client-cert': ':AAAA:',
    });
    assert.equal(r.status, 200, r.body);
    assert.equal(up.seen.at(-1)?.headers['x-client-cert-subject'], undefined);
    assert.equal(up.seen.at(-1)?.headers['client-cert'], undefined);
  });

  it('refuses a certificate-bound token presented with another valid certificate', async () => {
    const pki = testPki();
    const before = up.count();
    const r = await request(`${gw.url}/bound/x`, pki.clients.valid2, { authorization: `Bearer ${bound(pki.clients.valid.x5tS256)}` });
    assert.equal(r.status, 401, r.body);
    assert.equal(r.json()['code'], 'PC_ERR_AUTH_TOKEN_CERT_BINDING');
    assert.equal(up.count(), before);
  });

  it('refuses a certificate-bound token presented without a certificate', async () => {
    const pki = testPki();
    const r = await request(`${gw.url}/bound/x`, null, { authorization: `Bearer ${bound(pki.clients.valid.x5tS256)}` });
    assert.equal(r.status, 401, r.body);
  });
});

describe('mTLS through the gateway, client_auth: required', () => {
  let up: TestUpstream;
  let gw: TestGateway;

  before(async () => {
    up = await startUpstream();
    gw = await startGateway(
      `
version: 1
${listener('required')}
upstreams:
  up: { targets: [{ url: "{{UP}}" }] }
consumers:
  - id: client-a
    credentials:
      certificates:
        - { subject: "CN=client-a,O=Portcullis Test" }
routes:
  - id: mtls
    match: { prefix: /mtls }
    upstream: up
    auth:
      mode: enforce
      replay: { jti: false, max_ttl_s: 86400 }
      any_of:
        - mtls: {}
`,
      { vars: vars(up), modules: AUTH_MODULES },
    );
  });

  after(async () => {
    await gw.close();
    await up.close();
  });

  it('refuses the handshake without a certificate and with expired, wrong-CA or revoked ones', async () => {
    const pki = testPki();
    for (const client of [null, pki.clients.expired, pki.clients.wrongCa, pki.clients.revoked]) {
      await assert.rejects(request(`${gw.url}/mtls/x`, client), `handshake must fail for ${client?.subject ?? 'no certificate'}`);
    }
    assert.equal(up.count(), 0);
  });

  it('serves a valid certificate, mapped by subject', async () => {
    const r = await request(`${gw.url}/mtls/x`, testPki().clients.valid);
    assert.equal(r.status, 200, r.body);
    assert.equal(up.seen.at(-1)?.headers['x-consumer-id'], 'client-a');
  });
});
