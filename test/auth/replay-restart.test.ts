/**
 * Issue 18 item 15: the memory state store forgets seen jti and signature nonces on restart, so a
 * replay-checked credential created before the gateway started is refused
 * (PC_ERR_AUTH_PREDATES_START), with no clock-skew allowance; with Redis nothing changes. Real
 * gateways restarted on the same port (a signature covers host and port), real upstream.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { stablePort } from '../helpers/net.js';
import { signRequest } from '../../src/stages/auth/verifiers/signature-sign.js';
import { bearer, jwt, nowS, pastStartSecond, rawRequest, type RawResponse } from './support.js';
import { redisUrl } from '../helpers/redis.js';

const ISS = 'https://issuer.test';
const JWT_SECRET = randomBytes(32).toString('base64url');
const SIG_SECRET = randomBytes(32).toString('base64url');

const token = (claims: Record<string, unknown> = {}): string =>
  jwt({ alg: 'HS256', typ: 'JWT' }, { iss: ISS, sub: 'svc', iat: nowS(), exp: nowS() + 120, jti: randomUUID(), ...claims }, Buffer.from(JWT_SECRET));

const config = (port: number, state: string): string => `
version: 1
listeners: [{ port: ${port} }]
upstreams:
  up: { targets: [{ url: "{{UP}}" }] }
${state}
auth:
  jwt:
    providers:
      main: { issuer: "${ISS}", algorithms: [HS256], secret: "${JWT_SECRET}" }
  signature:
    skew_seconds: 30
consumers:
  - id: partner
    credentials:
      signature_keys:
        - { key_id: partner-1, secret: "${SIG_SECRET}" }
routes:
  - id: once
    match: { prefix: /once }
    upstream: up
    auth:
      any_of: [{ jwt: {} }]
      replay: { jti: true }
  - id: signed
    match: { prefix: /signed }
    upstream: up
    auth:
      any_of: [{ signature: {} }]
`;

interface Signed {
  readonly url: string;
  readonly headers: [string, string][];
}

function signed(url: string, created?: number): Signed {
  const h = signRequest({ method: 'GET', url, keyId: 'partner-1', secret: SIG_SECRET, ...(created !== undefined ? { created } : {}) });
  return { url, headers: Object.entries(h).filter((e): e is [string, string] => e[1] !== undefined) };
}
const send = (s: Signed): Promise<RawResponse> => rawRequest(s.url, { headers: s.headers });
const code = (r: RawResponse): unknown => (r.status === 200 ? 200 : r.json().code);

describe('replay protection across a restart, memory store', () => {
  let up: TestUpstream;
  let port: number;
  let gw: TestGateway | null = null;
  const start = async (): Promise<{ gw: TestGateway; before: number }> => {
    const before = Date.now();
    gw = await startGateway(config(port, ''), { vars: { UP: up.url }, keepPorts: true });
    return { gw, before };
  };

  before(async () => {
    up = await startUpstream();
    port = await stablePort();
  });
  after(async () => {
    await gw?.close();
    await up.close();
  });

  test('a jti token and a signed request accepted before a restart are refused after it with PC_ERR_AUTH_PREDATES_START', async () => {
    const first = await start();
    await pastStartSecond();
    const t = token();
    const s = signed(`${first.gw.url}/signed/x`);
    assert.equal((await rawRequest(`${first.gw.url}/once`, { headers: bearer(t) })).status, 200);
    assert.equal((await send(s)).status, 200);
    assert.equal(code(await rawRequest(`${first.gw.url}/once`, { headers: bearer(t) })), 'PC_ERR_AUTH_TOKEN_REPLAYED');
    assert.equal(code(await send(s)), 'PC_ERR_AUTH_SIGNATURE_REPLAYED');
    await first.gw.close();

    const second = await start();
    assert.equal(second.gw.url, first.gw.url, 'same port: the signature covers the authority');
    const rt = await rawRequest(`${second.gw.url}/once`, { headers: bearer(t) });
    assert.equal(rt.status, 401, 'the restarted gateway forgot the jti');
    assert.equal(rt.json().code, 'PC_ERR_AUTH_PREDATES_START');
    assert.match(String(rt.headers['www-authenticate']), /error="invalid_token"/);
    assert.equal(up.seen.filter((x) => x.url === '/once').length, 1);
    const rs = await send(s);
    assert.equal(rs.status, 401);
    assert.equal(rs.json().code, 'PC_ERR_AUTH_PREDATES_START');

    // credentials made after the start pass, once
    await pastStartSecond();
    const fresh = token();
    const ok = await rawRequest(`${second.gw.url}/once`, { headers: bearer(fresh) });
    assert.equal(ok.status, 200, `${JSON.stringify(ok.json())} iat ${nowS()}`);
    assert.equal(code(await rawRequest(`${second.gw.url}/once`, { headers: bearer(fresh) })), 'PC_ERR_AUTH_TOKEN_REPLAYED');
    assert.equal((await send(signed(`${second.gw.url}/signed/y`))).status, 200);
    await second.gw.close();
    gw = null;
  });

  test('a signature or token created one second before the start is refused, not let in by the skew allowance', async () => {
    const { gw: g, before: startedAfter } = await start();
    const justBefore = Math.floor(startedAfter / 1000) - 1;
    const r = await send(signed(`${g.url}/signed/early`, justBefore));
    assert.equal(r.status, 401);
    assert.equal(r.json().code, 'PC_ERR_AUTH_PREDATES_START');
    const rt = await rawRequest(`${g.url}/once`, { headers: bearer(token({ iat: justBefore })) });
    assert.equal(rt.status, 401);
    assert.equal(rt.json().code, 'PC_ERR_AUTH_PREDATES_START');
    // a token without iat cannot show when it was issued: refused on a jti route
    const ni = await rawRequest(`${g.url}/once`, { headers: bearer(token({ iat: undefined })) });
    assert.equal(ni.status, 401);
    assert.equal(ni.json().code, 'PC_ERR_AUTH_TOKEN_CLAIMS');
    await g.close();
    gw = null;
  });
});

describe('replay protection across a restart, Redis store', () => {
  const prefix = `pc-test-replay-restart:${randomBytes(4).toString('hex')}:`;
  let up: TestUpstream;
  let gw: TestGateway;
  let startedAt: number;

  before(async () => {
    up = await startUpstream();
    startedAt = Date.now();
    gw = await startGateway(config(0, `state:\n  store: redis\n  redis: { url: "${redisUrl()}", key_prefix: "${prefix}", command_timeout_ms: 2000 }`), {
      vars: { UP: up.url },
    });
    for (let i = 0; i < 100 && !gw.gateway.services.store.healthy(); i++) await new Promise((r) => setTimeout(r, 20));
  });
  after(async () => {
    await gw.close();
    await up.close();
  });

  test('a signature and a jti token created before the start are accepted (Redis remembers across restarts)', async () => {
    const before = Math.floor(startedAt / 1000) - 5;
    assert.equal((await send(signed(`${gw.url}/signed/x`, before))).status, 200);
    assert.equal((await rawRequest(`${gw.url}/once`, { headers: bearer(token({ iat: before })) })).status, 200);
  });
});
