/**
 * Hostile tokens through a real gateway: each is refused with 401, the right stable code and an
 * RFC 6750 challenge, and never reaches the upstream; valid tokens of every allowed algorithm pass.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createPublicKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { testProtocol } from '../helpers/protocol.js';
import { AUTH_MODULES, b64, bearer, jwt, makeKey, nowS, rawRequest, signRaw, tokenFor, type TestKey } from './support.js';

const ISS = 'https://issuer.test';
const ASYM = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];
const HS = ['HS256', 'HS384', 'HS512'];

describe('JWT verification through the gateway', () => {
  let up: TestUpstream;
  let gw: TestGateway;
  const keys = new Map<string, TestKey>();
  const secret = randomBytes(64).toString('base64url');
  let rsa: TestKey;
  // an Ed448 key in the key set: EdDSA means Ed25519 only (as in jose), so it verifies nothing
  const ed448 = generateKeyPairSync('ed448');
  const ed448Jwk = { ...(ed448.publicKey.export({ format: 'jwk' }) as Record<string, unknown>), kid: 'ed448', use: 'sig' };

  const claims = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({
    iss: ISS,
    aud: 'api',
    sub: 'user-1',
    iat: nowS(),
    exp: nowS() + 300,
    ...extra,
  });

  before(async () => {
    for (const alg of ASYM) keys.set(alg, makeKey(alg));
    rsa = keys.get('RS256') as TestKey;
    up = await startUpstream();
    gw = await startGateway(
      `
version: 1
listeners:
  - port: 0
    max_header_bytes: 65536
upstreams:
  up: { targets: [{ url: "{{UP}}" }] }
auth:
  jwt:
    providers:
      main:
        issuer: ${ISS}
        audiences: [api]
        algorithms: ${JSON.stringify(ASYM)}
        keys: {{KEYS}}
        required_claims: [exp, sub]
        max_age_s: 3600
      pem:
        issuer: https://pem.test
        algorithms: [RS256]
        pem: [{{PEM}}]
      hs:
        issuer: https://hs.test
        algorithms: ${JSON.stringify(HS)}
        secret: "{{SECRET}}"
routes:
  - id: api
    match: { prefix: /api }
    upstream: up
`,
      {
        vars: {
          UP: up.url,
          KEYS: JSON.stringify([...[...keys.values()].map((k) => k.jwk), ed448Jwk]),
          SECRET: secret,
          PEM: JSON.stringify(createPublicKey(rsa.privateKey).export({ type: 'spki', format: 'pem' })),
        },
        modules: AUTH_MODULES,
      },
    );
  });

  after(async () => {
    await gw.close();
    await up.close();
  });

  test('valid tokens of each allowed algorithm reach the upstream', async () => {
    for (const alg of ASYM) {
      const r = await rawRequest(`${gw.url}/api/x`, { headers: bearer(tokenFor(keys.get(alg) as TestKey, claims())) });
      assert.equal(r.status, 200, `${alg}: ${r.body}`);
    }
    for (const alg of HS) {
      const t = jwt({ alg, typ: 'JWT' }, claims({ iss: 'https://hs.test' }), Buffer.from(secret));
      const r = await rawRequest(`${gw.url}/api/x`, { headers: bearer(t) });
      assert.equal(r.status, 200, `${alg}: ${r.body}`);
    }
  });

  test('a PEM public key verifies tokens with or without a kid, and only for its issuer', async () => {
    const c = claims({ iss: 'https://pem.test' });
    assert.equal((await rawRequest(`${gw.url}/api/x`, { headers: bearer(jwt({ alg: 'RS256' }, c, rsa.privateKey)) })).status, 200);
    assert.equal((await rawRequest(`${gw.url}/api/x`, { headers: bearer(jwt({ alg: 'RS256', kid: 'any' }, c, rsa.privateKey)) })).status, 200);
    const other = makeKey('RS256', 'x');
    const r = await rawRequest(`${gw.url}/api/x`, { headers: bearer(jwt({ alg: 'RS256' }, c, other.privateKey)) });
    assert.equal(r.json().code, 'PC_ERR_AUTH_TOKEN_SIGNATURE');
  });

  test('a request without credentials gets 401 PC_ERR_AUTH_REQUIRED with a Bearer challenge and no error code', async () => {
    const before = up.count();
    const r = await rawRequest(`${gw.url}/api/x`);
    assert.equal(r.status, 401);
    assert.equal(r.json().code, 'PC_ERR_AUTH_REQUIRED');
    assert.match(String(r.headers['www-authenticate']), /^Bearer realm="portcullis"/);
    assert.doesNotMatch(String(r.headers['www-authenticate']), /error=/);
    assert.equal(up.count(), before);
  });

  test('at least 25 hostile tokens are each refused with 401 and their own code', async () => {
    const valid = tokenFor(rsa, claims());
    const [vh, vp, vs] = valid.split('.') as [string, string, string];
    const flipped = Buffer.from(vs, 'base64url');
    flipped[10] = (flipped[10] as number) ^ 0x01;
    const otherRsa = makeKey('RS256', rsa.kid);
    const rsaPublicPem = keys.get('RS256')!.jwk; // JWK members used as the "secret" below
    const pem = (await import('node:crypto')).createPublicKey({ key: rsaPublicPem as never, format: 'jwk' }).export({ type: 'spki', format: 'pem' });
    const none = (alg: string): string => `${b64({ alg, typ: 'JWT' })}.${b64(claims())}.`;
    const cases: { name: string; headers: [string, string][]; code: string; path?: string; error?: string | null }[] = [
      { name: 'alg none', headers: bearer(none('none')), code: 'PC_ERR_AUTH_TOKEN_ALG' },
      { name: 'alg None', headers: bearer(none('None')), code: 'PC_ERR_AUTH_TOKEN_ALG' },
      { name: 'alg NONE', headers: bearer(none('NONE')), code: 'PC_ERR_AUTH_TOKEN_ALG' },
      { name: 'alg nOnE', headers: bearer(none('nOnE')), code: 'PC_ERR_AUTH_TOKEN_ALG' },
      {
        name: 'HS256 signed with the RSA public key as secret',
        headers: bearer(jwt({ alg: 'HS256', kid: rsa.kid }, claims(), Buffer.from(pem as string))),
        code: 'PC_ERR_AUTH_TOKEN_ALG',
      },
      { name: 'stripped signature', headers: bearer(`${vh}.${vp}.`), code: 'PC_ERR_AUTH_TOKEN_SIGNATURE' },
      { name: 'flipped signature byte', headers: bearer(`${vh}.${vp}.${flipped.toString('base64url')}`), code: 'PC_ERR_AUTH_TOKEN_SIGNATURE' },
      { name: 'signed by another key with the same kid', headers: bearer(tokenFor(otherRsa, claims())), code: 'PC_ERR_AUTH_TOKEN_SIGNATURE' },
      { name: 'tampered payload', headers: bearer(`${vh}.${b64(claims({ sub: 'admin' }))}.${vs}`), code: 'PC_ERR_AUTH_TOKEN_SIGNATURE' },
      { name: 'expired', headers: bearer(tokenFor(rsa, claims({ iat: nowS() - 1000, exp: nowS() - 600 }))), code: 'PC_ERR_AUTH_TOKEN_EXPIRED' },
      { name: 'older than max age', headers: bearer(tokenFor(rsa, claims({ iat: nowS() - 7200 }))), code: 'PC_ERR_AUTH_TOKEN_EXPIRED' },
      { name: 'nbf in the future', headers: bearer(tokenFor(rsa, claims({ nbf: nowS() + 600 }))), code: 'PC_ERR_AUTH_TOKEN_NOT_YET_VALID' },
      { name: 'iat in the future beyond skew', headers: bearer(tokenFor(rsa, claims({ iat: nowS() + 600 }))), code: 'PC_ERR_AUTH_TOKEN_NOT_YET_VALID' },
      { name: 'wrong iss', headers: bearer(tokenFor(rsa, claims({ iss: 'https://evil.test' }))), code: 'PC_ERR_AUTH_TOKEN_CLAIMS' },
      { name: 'wrong aud', headers: bearer(tokenFor(rsa, claims({ aud: ['other'] }))), code: 'PC_ERR_AUTH_TOKEN_CLAIMS' },
      { name: 'missing required claim sub', headers: bearer(tokenFor(rsa, claims({ sub: undefined }))), code: 'PC_ERR_AUTH_TOKEN_CLAIMS' },
      { name: 'exp not a number', headers: bearer(tokenFor(rsa, claims({ exp: 'tomorrow' }))), code: 'PC_ERR_AUTH_TOKEN_CLAIMS' },
      { name: 'kid with path traversal', headers: bearer(tokenFor(rsa, claims(), { kid: '../../../../dev/null' })), code: 'PC_ERR_AUTH_TOKEN_HEADER' },
      { name: 'kid with SQL', headers: bearer(tokenFor(rsa, claims(), { kid: "x' UNION SELECT 'secret' --" })), code: 'PC_ERR_AUTH_TOKEN_HEADER' },
      { name: 'unknown kid', headers: bearer(tokenFor(rsa, claims(), { kid: 'no-such-key' })), code: 'PC_ERR_AUTH_TOKEN_KEY_UNKNOWN' },
      {
        name: 'jku header pointing elsewhere',
        headers: bearer(tokenFor(rsa, claims(), { jku: 'https://evil.test/jwks.json' })),
        code: 'PC_ERR_AUTH_TOKEN_HEADER',
      },
      {
        name: 'x5u header pointing elsewhere',
        headers: bearer(tokenFor(rsa, claims(), { x5u: 'https://evil.test/cert.pem' })),
        code: 'PC_ERR_AUTH_TOKEN_HEADER',
      },
      { name: 'embedded jwk header', headers: bearer(tokenFor(rsa, claims(), { jwk: otherRsa.jwk })), code: 'PC_ERR_AUTH_TOKEN_HEADER' },
      { name: 'x5c header', headers: bearer(tokenFor(rsa, claims(), { x5c: ['MIIB'] })), code: 'PC_ERR_AUTH_TOKEN_HEADER' },
      { name: 'unknown crit', headers: bearer(tokenFor(rsa, claims(), { crit: ['urn:evil'], 'urn:evil': true })), code: 'PC_ERR_AUTH_TOKEN_HEADER' },
      { name: 'malformed base64url', headers: bearer(`${vh}!.${vp}.${vs}`), code: 'PC_ERR_AUTH_TOKEN_MALFORMED' },
      { name: 'payload not JSON', headers: bearer(`${vh}.${b64('not json')}.${vs}`), code: 'PC_ERR_AUTH_TOKEN_MALFORMED' },
      { name: 'extra segments', headers: bearer(`${valid}.${vs}`), code: 'PC_ERR_AUTH_TOKEN_MALFORMED' },
      { name: 'one segment', headers: bearer(vh), code: 'PC_ERR_AUTH_TOKEN_MALFORMED' },
      { name: 'a 16 KB token', headers: bearer(tokenFor(rsa, claims({ pad: 'x'.repeat(16 * 1024) }))), code: 'PC_ERR_AUTH_TOKEN_TOO_LARGE' },
      { name: 'two Authorization headers', headers: [...bearer(valid), ...bearer(valid)], code: 'PC_ERR_AUTH_TOKEN_MULTIPLE', error: 'invalid_request' },
      {
        name: 'two tokens in one header',
        headers: [['authorization', `Bearer ${valid}, Bearer ${valid}`]],
        code: 'PC_ERR_AUTH_TOKEN_MULTIPLE',
        error: 'invalid_request',
      },
      { name: 'a query token when not enabled', headers: [], path: `/api/x?access_token=${valid}`, code: 'PC_ERR_AUTH_TOKEN_QUERY', error: 'invalid_request' },
      {
        name: 'a JWE where a JWS is expected',
        headers: bearer(`${b64({ alg: 'RSA-OAEP', enc: 'A256GCM' })}.${vs}.${vs.slice(0, 16)}.${vp}.${vs.slice(0, 22)}`),
        code: 'PC_ERR_AUTH_TOKEN_MALFORMED',
      },
      {
        name: 'JWE-shaped header in a JWS',
        headers: bearer(jwt({ alg: 'RS256', kid: rsa.kid, enc: 'A256GCM' }, claims(), rsa.privateKey)),
        code: 'PC_ERR_AUTH_TOKEN_MALFORMED',
      },
      {
        name: 'empty bearer token',
        headers: [['authorization', 'Bearer  ']],
        // over HTTP/2, nghttp2 drops a field whose value ends in whitespace (RFC 9113 8.2.1): no credentials at all
        ...(testProtocol() === 'http1' ? { code: 'PC_ERR_AUTH_TOKEN_MALFORMED' } : { code: 'PC_ERR_AUTH_REQUIRED', error: null }),
      },
    ];
    assert.ok(cases.length >= 25);
    const before = up.count();
    for (const c of cases) {
      const r = await rawRequest(`${gw.url}${c.path ?? '/api/x'}`, { headers: c.headers });
      assert.equal(r.status, 401, `${c.name}: ${r.status} ${r.body}`);
      assert.equal(r.json().code, c.code, `${c.name}`);
      const challenge = String(r.headers['www-authenticate']);
      // error: null: no credentials were read, and the challenge names no error (RFC 6750 section 3.1)
      const expected = c.error === null ? /^Bearer realm="portcullis"$/ : new RegExp(`^Bearer realm="portcullis", error="${c.error ?? 'invalid_token'}"`);
      assert.match(challenge, expected, `${c.name}: ${challenge}`);
    }
    assert.equal(up.count(), before, 'no hostile token reached the upstream');
  });

  test('a validly signed token whose header or payload is not UTF-8 is refused as malformed', async () => {
    // found by the jose oracle (jwt-oracle.test.ts): bytes that are not UTF-8 were read as U+FFFD,
    // so that two different signed subjects could read as one; jose refuses them
    const notUtf8 = (json: string): string => Buffer.concat([Buffer.from(json.slice(0, -1)), Buffer.from(',"x":"\xff\xfe"}', 'latin1')]).toString('base64url');
    const header = JSON.stringify({ alg: 'RS256', typ: 'JWT', kid: rsa.kid });
    const payload = JSON.stringify(claims());
    for (const [h, p] of [
      [notUtf8(header), b64(payload)],
      [b64(header), notUtf8(payload)],
    ] as const) {
      const input = `${h}.${p}`;
      const token = `${input}.${signRaw('RS256', rsa.privateKey, input).toString('base64url')}`;
      const r = await rawRequest(`${gw.url}/api/x`, { headers: bearer(token) });
      assert.equal(r.status, 401, r.body);
      assert.equal(r.json().code, 'PC_ERR_AUTH_TOKEN_MALFORMED');
    }
  });

  test('an Ed448 key verifies no token: EdDSA means Ed25519, as in jose', async () => {
    const input = `${b64({ alg: 'EdDSA', typ: 'JWT', kid: 'ed448' })}.${b64(claims())}`;
    const token = `${input}.${signRaw('EdDSA', ed448.privateKey, input).toString('base64url')}`;
    const r = await rawRequest(`${gw.url}/api/x`, { headers: bearer(token) });
    assert.equal(r.status, 401, r.body);
    assert.equal(r.json().code, 'PC_ERR_AUTH_TOKEN_KEY_UNKNOWN');
  });

  test('a reused token is verified once and then served from the cache', async () => {
    const t = tokenFor(keys.get('ES256') as TestKey, claims({ sub: 'cached' }));
    for (let i = 0; i < 3; i++) assert.equal((await rawRequest(`${gw.url}/api/x`, { headers: bearer(t) })).status, 200);
    // the cache holds the token itself: a flipped bit in it is a different token and fails
    const bad = `${t.slice(0, -2)}${t.endsWith('A') ? 'B' : 'A'}A`;
    assert.equal((await rawRequest(`${gw.url}/api/x`, { headers: bearer(bad) })).status, 401);
  });

  test('failures are counted by reason code in metrics', async () => {
    const res = await fetch(`${gw.adminUrl}/metrics`);
    const text = await res.text();
    assert.match(text, /portcullis_auth_failures_total\{code="PC_ERR_AUTH_TOKEN_ALG",method="jwt",route="api",consumer="",tenant=""\} [4-9]/);
  });
});
