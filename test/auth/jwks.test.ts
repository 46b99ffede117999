/** Remote key sets against a real JWKS server on loopback: last good set kept, refetch rate limit, discovery checks. */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { RemoteKeySet, urlAllowed } from '../../src/stages/auth/jwt/jwks.js';
import { makeKey } from './support.js';

describe('remote key set', () => {
  let server: http.Server;
  let base: string;
  let jwksBody = '';
  let jwksStatus = 200;
  let discovery: Record<string, unknown> = {};
  let fetches = 0;
  const k1 = makeKey('ES256', 'k1');
  const k2 = makeKey('ES256', 'k2');

  before(async () => {
    server = http.createServer((req, res) => {
      if (req.url === '/.well-known/openid-configuration') {
        res.writeHead(200, { 'content-type': 'application/json' });
        return res.end(JSON.stringify(discovery));
      }
      fetches++;
      res.writeHead(jwksStatus, { 'content-type': 'application/json' });
      res.end(jwksBody);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    await new Promise<void>((r) => {
      server.close(() => r());
      server.closeAllConnections();
    });
  });

  const set = (minRefetchMs = 0): RemoteKeySet =>
    new RemoteKeySet({ issuer: base, jwksUri: `${base}/jwks`, timeoutMs: 2000, refreshMs: 3_600_000, minRefetchMs });

  test('keeps the last good key set when the server fails, serves garbage or an empty set', async () => {
    jwksStatus = 200;
    jwksBody = JSON.stringify({ keys: [k1.jwk] });
    const s = set();
    assert.equal(await s.ready(), true);
    assert.deepEqual(
      s.current()?.map((k) => k.kid),
      ['k1'],
    );
    for (const [status, body] of [
      [500, 'oops'],
      [200, '{not json'],
      [200, JSON.stringify({ keys: [] })],
      [200, JSON.stringify({ keys: [{ kty: 'EC', crv: 'P-256', x: 'bad', y: 'bad' }] })],
      [200, JSON.stringify({ nokeys: true })],
    ] as const) {
      jwksStatus = status;
      jwksBody = body;
      assert.equal(await s.refresh(), false, body);
      assert.deepEqual(
        s.current()?.map((k) => k.kid),
        ['k1'],
      );
    }
    jwksStatus = 200;
    jwksBody = JSON.stringify({ keys: [k2.jwk, k1.jwk, { kty: 'RSA', use: 'enc', n: 'x', e: 'AQAB' }] });
    assert.equal(await s.refresh(), true);
    assert.deepEqual(
      s.current()?.map((k) => k.kid),
      ['k2', 'k1'],
    );
  });

  test('refetches for an unknown kid at most once per interval', async () => {
    jwksStatus = 200;
    jwksBody = JSON.stringify({ keys: [k1.jwk] });
    const s = set(60_000);
    await s.ready();
    const before = fetches;
    assert.equal(await s.refetchForUnknownKid(Date.now()), false);
    assert.equal(await s.refetchForUnknownKid(Date.now()), false);
    assert.equal(fetches, before, 'no fetch inside the interval');
    assert.equal(await s.refetchForUnknownKid(Date.now() + 61_000), true);
    assert.equal(fetches, before + 1);
  });

  test('refuses a discovery document naming another issuer or lacking jwks_uri', async () => {
    jwksBody = JSON.stringify({ keys: [k1.jwk] });
    discovery = { issuer: 'https://evil.test', jwks_uri: `${base}/jwks` };
    const fresh = (): RemoteKeySet => new RemoteKeySet({ issuer: base, jwksUri: null, timeoutMs: 2000, refreshMs: 3_600_000, minRefetchMs: 0 });
    assert.equal(await fresh().ready(), false);
    discovery = { issuer: base };
    assert.equal(await fresh().ready(), false);
    discovery = { issuer: base, jwks_uri: `${base}/jwks` };
    assert.equal(await fresh().ready(), true);
  });

  test('refuses a discovery document pointing jwks_uri at plain http off loopback', async () => {
    discovery = { issuer: base, jwks_uri: 'http://169.254.169.254/latest/meta-data' };
    const s = new RemoteKeySet({ issuer: base, jwksUri: null, timeoutMs: 2000, refreshMs: 3_600_000, minRefetchMs: 0 });
    assert.equal(await s.ready(), false);
    assert.equal(s.current(), null);
  });

  test('with no key ever loaded, a down IdP is not asked again for every request', async () => {
    jwksStatus = 500;
    jwksBody = 'down';
    const s = set(0);
    const before = fetches;
    assert.equal(await s.ready(), false);
    assert.equal(await s.ready(), false);
    assert.equal(await s.ready(), false);
    assert.equal(fetches, before + 1);
    jwksStatus = 200;
  });

  test('refuses a JWKS document over 1 MiB', async () => {
    jwksBody = JSON.stringify({ keys: [k1.jwk], pad: 'x'.repeat(1024 * 1024 + 10) });
    assert.equal(await set().ready(), false);
  });

  test('allows https anywhere and plain http on loopback only', () => {
    assert.equal(urlAllowed('https://login.example.com/jwks'), true);
    assert.equal(urlAllowed('http://127.0.0.1:8080/jwks'), true);
    assert.equal(urlAllowed('http://login.example.com/jwks'), false);
    assert.equal(urlAllowed('file:///etc/passwd'), false);
  });
});
