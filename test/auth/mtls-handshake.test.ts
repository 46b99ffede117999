/**
 * mTLS at the TLS level: a real HTTPS server built with buildTlsOptions and a test PKI made with
 * openssl. Required mode refuses the handshake without a valid client certificate; optional mode
 * lets the connection through and leaves the decision to the mtls verifier.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { buildTlsOptions } from '../../src/server/tls-options.js';
import { ConfigError } from '../../src/config/errors.js';
import type { TlsConfig } from '../../src/core/config.js';
import { decideMtls, peerCertificateInfo, mtlsSettings, type CertInfo } from '../../src/stages/auth/verifiers/mtls.js';
import { buildDirectory } from '../../src/stages/auth/consumers.js';
import { testPki, type KeyPair } from '../helpers/pki.js';

interface Server {
  port: number;
  handled: number;
  tlsErrors: string[];
  lastCert: CertInfo | null;
  close(): Promise<void>;
}

async function startServer(tls: TlsConfig): Promise<Server> {
  const s: Server = { port: 0, handled: 0, tlsErrors: [], lastCert: null, close: async () => {} };
  const server = https.createServer(buildTlsOptions(tls, '/'), (req, res) => {
    s.handled++;
    const sock = req.socket as TLSSocket;
    s.lastCert = peerCertificateInfo(sock);
    res.end(JSON.stringify({ authorized: sock.authorized }));
  });
  server.on('tlsClientError', (err: Error) => s.tlsErrors.push(err.message));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  s.port = (server.address() as AddressInfo).port;
  s.close = () =>
    new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    });
  return s;
}

type Outcome = { ok: true; status: number; body: string } | { ok: false; error: string };

function get(port: number, client: KeyPair | null): Promise<Outcome> {
  const pki = testPki();
  return new Promise((resolve) => {
    const req = https.request(
      {
        host: '127.0.0.1',
        port,
        path: '/',
        servername: 'localhost',
        ca: pki.caBundle,
        agent: false,
        ...(client ? { cert: client.cert, key: client.key } : {}),
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ ok: true, status: res.statusCode ?? 0, body }));
        res.on('error', (e) => resolve({ ok: false, error: e.message }));
      },
    );
    req.on('error', (e) => resolve({ ok: false, error: `${(e as NodeJS.ErrnoException).code ?? ''} ${e.message}` }));
    req.end();
  });
}

function tlsConfig(clientAuth: TlsConfig['client_auth'], withCrl = true): TlsConfig {
  const pki = testPki();
  return {
    cert: pki.server.certPath,
    key: pki.server.keyPath,
    client_auth: clientAuth,
    ca: pki.caBundlePath,
    ...(withCrl ? { crl: [...pki.crlPaths] } : {}),
    min_version: 'TLSv1.2',
  };
}

describe('mTLS handshake, client_auth: required', () => {
  let server: Server;
  before(async () => {
    server = await startServer(tlsConfig('required'));
  });
  after(() => server.close());

  it('accepts a valid client certificate issued by the intermediate CA', async () => {
    const r = await get(server.port, testPki().clients.valid);
    assert.deepEqual(r, { ok: true, status: 200, body: '{"authorized":true}' });
    assert.equal(server.lastCert?.fingerprint256, testPki().clients.valid.fingerprint256);
  });

  // The server destroys the connection without a reason on the wire; optional mode below shows
  // the verification error of each certificate (same CA bundle and CRLs).
  const refused: [string, () => KeyPair | null][] = [
    ['without a client certificate', () => null],
    ['with an expired client certificate', () => testPki().clients.expired],
    ['with a client certificate from another CA', () => testPki().clients.wrongCa],
    ['with a client certificate revoked in the CRL', () => testPki().clients.revoked],
  ];
  for (const [name, client] of refused) {
    it(`refuses the handshake ${name}`, async () => {
      const handledBefore = server.handled;
      const errorsBefore = server.tlsErrors.length;
      const r = await get(server.port, client());
      assert.equal(r.ok, false, `request must fail, got ${JSON.stringify(r)}`);
      assert.equal(server.handled, handledBefore, 'the request handler must not run');
      await new Promise((res) => setImmediate(res));
      assert.ok(server.tlsErrors.length > errorsBefore, 'the server saw a TLS client error');
    });
  }
});

describe('mTLS handshake, client_auth: optional', () => {
  let server: Server;
  before(async () => {
    server = await startServer(tlsConfig('optional'));
  });
  after(() => server.close());

  it('completes the handshake without a certificate and the verifier reports it absent', async () => {
    const r = await get(server.port, null);
    assert.deepEqual(r, { ok: true, status: 200, body: '{"authorized":false}' });
    assert.equal(server.lastCert, null);
    assert.deepEqual(decideMtls(server.lastCert, buildDirectory([]), mtlsSettings({}), Date.now()), { kind: 'absent' });
  });

  it('lets a wrong-CA certificate connect but the verifier refuses it as invalid', async () => {
    const r = await get(server.port, testPki().clients.wrongCa);
    assert.equal(r.ok, true);
    assert.equal(server.lastCert?.authorized, false);
    const dir = buildDirectory([{ id: 'a', credentials: { certificates: [{ subject: 'CN=client-a,O=Portcullis Test' }] } }]);
    const d = decideMtls(server.lastCert, dir, mtlsSettings({}), Date.now());
    assert.equal(d.kind, 'fail');
    assert.equal(d.kind === 'fail' && d.deny.code, 'PC_ERR_AUTH_CERT_INVALID');
  });

  // a chain ending in an unknown root: OpenSSL reports the first check that fails (CRL lookup or issuer)
  const bad: [string, () => KeyPair, string][] = [
    ['an expired certificate', () => testPki().clients.expired, 'CERT_HAS_EXPIRED'],
    ['a certificate from another CA', () => testPki().clients.wrongCa, 'UNABLE_TO_GET_CRL|UNABLE_TO_GET_ISSUER_CERT_LOCALLY|SELF_SIGNED_CERT_IN_CHAIN'],
    ['a certificate revoked in the CRL', () => testPki().clients.revoked, 'CERT_REVOKED'],
  ];
  for (const [name, client, code] of bad) {
    it(`marks ${name} unverified (${code}) and the verifier refuses it even when unmapped certificates are allowed`, async () => {
      const r = await get(server.port, client());
      assert.equal(r.ok, true);
      assert.equal(server.lastCert?.authorized, false);
      assert.match(server.lastCert?.authorizationError ?? '', new RegExp(`^(${code})$`));
      const d = decideMtls(server.lastCert, buildDirectory([]), mtlsSettings({ allow_unmapped: true }), Date.now());
      assert.equal(d.kind === 'fail' && d.deny.code, 'PC_ERR_AUTH_CERT_INVALID');
    });
  }

  it('reads the identity of a valid certificate: subject, SANs, fingerprint and x5t#S256', async () => {
    const pki = testPki();
    await get(server.port, pki.clients.valid);
    const info = server.lastCert;
    assert.ok(info);
    assert.equal(info.authorized, true);
    assert.equal(info.subject, 'CN=client-a,O=Portcullis Test');
    assert.equal(info.commonName, 'client-a');
    assert.deepEqual(info.sans, ['URI:spiffe://test/client-a', 'DNS:client-a.test']);
    assert.equal(info.fingerprint256, pki.clients.valid.fingerprint256);
    assert.equal(info.x5tS256, pki.clients.valid.x5tS256);
    const dir = buildDirectory([
      { id: 'by-san', credentials: { certificates: [{ san: 'URI:spiffe://test/client-b' }] } },
      { id: 'client-a', tenant: 'acme', credentials: { certificates: [{ san: 'URI:spiffe://test/client-a' }] } },
    ]);
    const d = decideMtls(info, dir, mtlsSettings({}), Date.now());
    assert.equal(d.kind, 'ok');
    assert.equal(d.kind === 'ok' && d.identity.consumer, 'client-a');
    assert.equal(d.kind === 'ok' && d.identity.tenant, 'acme');
  });
});

describe('mTLS handshake without CRLs', () => {
  let server: Server;
  before(async () => {
    server = await startServer(tlsConfig('required', false));
  });
  after(() => server.close());

  it('accepts the revoked certificate, showing that the CRL is what refuses it above', async () => {
    const r = await get(server.port, testPki().clients.revoked);
    assert.deepEqual(r, { ok: true, status: 200, body: '{"authorized":true}' });
  });
});

describe('buildTlsOptions', () => {
  it('requests and requires certificates only in required mode', () => {
    const req = buildTlsOptions(tlsConfig('required'), '/');
    const opt = buildTlsOptions(tlsConfig('optional'), '/');
    const none = buildTlsOptions({ ...tlsConfig('none', false), ca: undefined as unknown as string }, '/');
    assert.deepEqual([req.requestCert, req.rejectUnauthorized], [true, true]);
    assert.deepEqual([opt.requestCert, opt.rejectUnauthorized], [true, false]);
    assert.deepEqual([none.requestCert, none.rejectUnauthorized], [false, false]);
    assert.equal(req.crl && (req.crl as Buffer[]).length, 2);
  });

  it('refuses client_auth without a CA bundle (never public roots)', () => {
    const { ca: _ca, crl: _crl, ...rest } = tlsConfig('optional');
    assert.throws(
      () => buildTlsOptions(rest as TlsConfig, '/'),
      (e: unknown) => e instanceof ConfigError && /tls\.ca is required/.test(e.message),
    );
  });

  it('names the key of a missing file', () => {
    assert.throws(
      () => buildTlsOptions({ ...tlsConfig('required'), cert: '/nonexistent/cert.pem' }, '/'),
      (e: unknown) => e instanceof ConfigError && e.keyPath === 'tls.cert' && /ENOENT/.test(e.message),
    );
  });

  it('refuses a key that does not match the certificate at load time', () => {
    const pki = testPki();
    assert.throws(
      () => buildTlsOptions({ ...tlsConfig('required'), key: pki.clients.valid.keyPath }, '/'),
      (e: unknown) => e instanceof ConfigError && /not usable/.test(e.message),
    );
  });
});
