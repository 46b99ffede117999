/**
 * Issue 18 item 17: client certificate subjects are compared as structures (sequence of RDNs, each
 * a set of attribute type/value pairs), not as flattened text. Certificates with a multi-valued
 * RDN (`CN=billing+O=Acme`) and with repeated attribute types are made at test time with openssl
 * and presented in real TLS handshakes to the gateway.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { testPki, type KeyPair } from '../helpers/pki.js';
import { AUTH_MODULES, tlsRequest } from './support.js';

const get = (url: string, client: KeyPair) => tlsRequest(url, client);

describe('mTLS subjects compared structurally', () => {
  let up: TestUpstream;
  let gw: TestGateway;
  let multi: KeyPair;
  let flat: KeyPair;
  let multiOnly: KeyPair;
  let repeated: KeyPair;

  before(async () => {
    const pki = testPki();
    multi = pki.issueClient('rdn-multi', '/CN=billing+O=Acme');
    flat = pki.issueClient('rdn-flat', '/O=Acme/CN=billing');
    multiOnly = pki.issueClient('rdn-multi-only', '/CN=reports+O=Acme');
    repeated = pki.issueClient('rdn-repeated', '/O=a/OU=x/O=b/CN=rep');
    up = await startUpstream();
    gw = await startGateway(
      `
version: 1
listeners:
  - port: 0
    tls:
      cert: {{CERT}}
      key: {{KEY}}
      client_auth: required
      ca: {{CA}}
      crl: [{{CRL_ROOT}}, {{CRL_INT}}]
upstreams:
  up: { targets: [{ url: "{{UP}}" }] }
auth:
  mtls: { match: [subject] }
consumers:
  - id: flat-billing
    credentials: { certificates: [{ subject: "CN=billing,O=Acme" }] }
  - id: multi-billing
    credentials: { certificates: [{ subject: "O=Acme+CN=billing" }] }
  - id: flat-reports
    credentials: { certificates: [{ subject: "CN=reports,O=Acme" }] }
  - id: ordered
    credentials: { certificates: [{ subject: "CN=rep,O=b,OU=x,O=a" }] }
routes:
  - id: mtls
    match: { prefix: /mtls }
    upstream: up
    auth:
      any_of:
        - mtls: {}
  - id: flat-only
    match: { prefix: /flat-only }
    upstream: up
    auth:
      any_of:
        - mtls: {}
    authorize:
      claims: [{ claim: cert_subject, equals: "CN=billing,O=Acme" }]
  - id: multi-only
    match: { prefix: /multi-only }
    upstream: up
    auth:
      any_of:
        - mtls: {}
    authorize:
      claims: [{ claim: cert_subject, in: ["O=Acme+CN=billing", "CN=nobody"] }]
`,
      {
        vars: {
          UP: up.url,
          CERT: pki.server.certPath,
          KEY: pki.server.keyPath,
          CA: pki.caBundlePath,
          CRL_ROOT: pki.crlPaths[0] as string,
          CRL_INT: pki.crlPaths[1] as string,
        },
        modules: AUTH_MODULES,
      },
    );
  });

  after(async () => {
    await gw.close();
    await up.close();
  });

  test('the certificates carry what they should (openssl prints the multi-valued RDN with +)', () => {
    assert.equal(multi.subject, 'CN=billing+O=Acme');
    assert.equal(flat.subject, 'CN=billing,O=Acme');
    assert.equal(repeated.subject, 'CN=rep,O=b,OU=x,O=a');
  });

  test('a certificate whose subject is the multi-valued RDN CN=billing+O=Acme maps to the consumer configured with it, never to CN=billing,O=Acme', async () => {
    const r = await get(`${gw.url}/mtls/a`, multi);
    assert.equal(r.status, 200, r.body);
    const h = up.seen.at(-1)?.headers ?? {};
    assert.equal(h['x-consumer-id'], 'multi-billing');
    assert.equal(h['x-client-cert-subject'], 'CN=billing+O=Acme');
  });

  test('a certificate with the two RDNs CN=billing,O=Acme maps to that consumer, not to the multi-valued one', async () => {
    const r = await get(`${gw.url}/mtls/b`, flat);
    assert.equal(r.status, 200, r.body);
    const h = up.seen.at(-1)?.headers ?? {};
    assert.equal(h['x-consumer-id'], 'flat-billing');
    assert.equal(h['x-client-cert-subject'], 'CN=billing,O=Acme');
  });

  test('a multi-valued RDN certificate with no consumer of that structure is refused with PC_ERR_AUTH_CERT_UNKNOWN', async () => {
    const n = up.seen.length;
    const r = await get(`${gw.url}/mtls/c`, multiOnly);
    assert.equal(r.status, 401);
    assert.equal(r.json().code, 'PC_ERR_AUTH_CERT_UNKNOWN');
    assert.equal(up.seen.length, n, 'never reached the upstream');
  });

  test('authorize matchers on cert_subject compare structures: the multi-valued RDN never passes for the two-RDN name, nor the reverse', async () => {
    assert.equal((await get(`${gw.url}/flat-only/x`, flat)).status, 200);
    const r = await get(`${gw.url}/flat-only/x`, multi);
    assert.equal(r.status, 403);
    assert.equal(r.json().code, 'PC_ERR_ROLE_REQUIRED');
    assert.equal((await get(`${gw.url}/multi-only/x`, multi)).status, 200, 'attribute order inside the RDN does not count');
    assert.equal((await get(`${gw.url}/multi-only/x`, flat)).status, 403);
  });

  test('repeated attribute types keep their certificate order in matching and in the forwarded subject', async () => {
    const r = await get(`${gw.url}/mtls/d`, repeated);
    assert.equal(r.status, 200, r.body);
    const h = up.seen.at(-1)?.headers ?? {};
    assert.equal(h['x-consumer-id'], 'ordered');
    assert.equal(h['x-client-cert-subject'], 'CN=rep,O=b,OU=x,O=a');
  });
});
