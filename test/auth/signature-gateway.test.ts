/**
 * HTTP Message Signatures (RFC 9421, hmac-sha256) through a real gateway: a signed request passes;
 * a tampered body, path or method, a stale `created` and a replayed nonce are refused before the
 * upstream. Nonces are accepted once across instances sharing one Redis.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import pino from 'pino';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { AUTH_MODULES, pastStartSecond, rawRequest } from './support.js';
import { signRequest, type SignOptions } from '../../src/stages/auth/verifiers/signature-sign.js';
import { consumeNonce, signatureSettings, verifySignedRequest } from '../../src/stages/auth/verifiers/signature.js';
import { messageViewFor } from '../../src/stages/auth/verifiers/signature-sign.js';
import { buildDirectory } from '../../src/stages/auth/consumers.js';
import { RedisStore } from '../../src/store/redis.js';
import { redisUrl } from '../helpers/redis.js';

const SECRET = randomBytes(32).toString('base64url');
const ENV = 'PC_TEST_SIGNATURE_SECRET';

describe('signed requests through the gateway', () => {
  let up: TestUpstream;
  let gw: TestGateway;

  before(async () => {
    process.env[ENV] = SECRET;
    up = await startUpstream();
    gw = await startGateway(
      `
version: 1
listeners:
  - port: 0
upstreams:
  up: { targets: [{ url: "{{UP}}" }] }
auth:
  signature:
    skew_seconds: 30
consumers:
  - id: partner
    tenant: acme
    credentials:
      signature_keys:
        - { key_id: partner-2026, secret: "\${env:${ENV}}" }
routes:
  - id: signed
    match: { prefix: /signed }
    upstream: up
    auth:
      mode: enforce
      replay: { jti: false, max_ttl_s: 86400 }
      any_of:
        - signature: {}
`,
      { vars: { UP: up.url }, modules: AUTH_MODULES },
    );
    await pastStartSecond(); // signatures created in the start's second predate the memory store
  });

  after(async () => {
    await gw.close();
    await up.close();
    delete process.env[ENV];
  });

  interface Prepared {
    url: string;
    method: string;
    headers: [string, string][];
    body: string;
  }

  function prepare(o: Partial<SignOptions> = {}, method = 'POST', path = '/signed/orders?id=7', body = '{"item":"keyboard","qty":2}'): Prepared {
    const url = `${gw.url}${path}`;
    const h = signRequest({ method, url, body, keyId: 'partner-2026', secret: SECRET, headers: { 'content-type': 'application/json' }, ...o });
    const headers: [string, string][] = [['content-type', 'application/json']];
    for (const [k, v] of Object.entries(h)) if (v !== undefined) headers.push([k, v]);
    return { url, method, headers, body };
  }

  const send = (p: Prepared) => rawRequest(p.url, { method: p.method, headers: p.headers, body: p.body });

  it('passes a valid signed request and identifies the consumer upstream', async () => {
    const before = up.count();
    const r = await send(prepare());
    assert.equal(r.status, 200, r.body);
    assert.equal(up.count(), before + 1);
    const seen = up.seen.at(-1);
    assert.equal(seen?.headers['x-consumer-id'], 'partner');
    assert.equal(seen?.body.toString(), '{"item":"keyboard","qty":2}');
  });

  for (const path of ['/signed/%C3%BC/x', '/signed/x?', '/signed/x?a=1&a=2&b=%20+', '/signed/x?q=a%3Bb&empty=', '/signed/ü?ä=ö']) {
    it(`agrees with the client signer on the target ${path}`, async () => {
      const r = await send(prepare({}, 'POST', path));
      assert.equal(r.status, 200, r.body);
    });
  }

  it('passes a signed GET without a body', async () => {
    const r = await send(prepare({}, 'GET', '/signed/orders/7', ''));
    assert.equal(r.status, 200, r.body);
  });

  const refused: [string, () => Prepared, string][] = [
    ['a tampered body', () => ({ ...prepare(), body: '{"item":"keyboard","qty":200}' }), 'PC_ERR_AUTH_DIGEST_MISMATCH'],
    ['a tampered path', () => ({ ...prepare(), url: `${gw.url}/signed/admin?id=7` }), 'PC_ERR_AUTH_SIGNATURE_INVALID'],
    ['a tampered query', () => ({ ...prepare(), url: `${gw.url}/signed/orders?id=8` }), 'PC_ERR_AUTH_SIGNATURE_INVALID'],
    ['a tampered method', () => ({ ...prepare(), method: 'PUT' }), 'PC_ERR_AUTH_SIGNATURE_INVALID'],
    ['a stale created time', () => prepare({ created: Math.floor(Date.now() / 1000) - 120 }), 'PC_ERR_AUTH_SIGNATURE_STALE'],
    ['a created time far in the future', () => prepare({ created: Math.floor(Date.now() / 1000) + 120 }), 'PC_ERR_AUTH_SIGNATURE_STALE'],
    ['a signature by another key', () => prepare({ secret: randomBytes(32) }), 'PC_ERR_AUTH_SIGNATURE_INVALID'],
    ['a signature without a nonce', () => prepare({ nonce: false }), 'PC_ERR_AUTH_SIGNATURE_INVALID'],
    ['a signature that does not cover the body digest', () => prepare({ components: ['@method', '@target-uri'] }), 'PC_ERR_AUTH_SIGNATURE_INVALID'],
  ];
  for (const [name, make, code] of refused) {
    it(`refuses ${name} with 401 ${code} before the upstream`, async () => {
      const before = up.count();
      const r = await send(make());
      assert.equal(r.status, 401, r.body);
      assert.equal(r.json()['code'], code);
      assert.equal(up.count(), before);
    });
  }

  it('refuses a replayed request (same nonce) with 401 PC_ERR_AUTH_SIGNATURE_REPLAYED', async () => {
    const p = prepare();
    const first = await send(p);
    assert.equal(first.status, 200, first.body);
    const before = up.count();
    const again = await send(p);
    assert.equal(again.status, 401, again.body);
    assert.equal(again.json()['code'], 'PC_ERR_AUTH_SIGNATURE_REPLAYED');
    assert.equal(up.count(), before);
  });

  it('does not burn a nonce on a request whose signature fails', async () => {
    const p = prepare({ nonce: 'fixed-nonce-1' });
    const forged = prepare({ nonce: 'fixed-nonce-1', secret: randomBytes(32) });
    assert.equal((await send(forged)).status, 401);
    assert.equal((await send(p)).status, 200);
  });

  it('requires no signature headers to be answered with 401 PC_ERR_AUTH_REQUIRED', async () => {
    const r = await rawRequest(`${gw.url}/signed/orders`, { method: 'POST', body: '{}', headers: [['content-type', 'application/json']] });
    assert.equal(r.status, 401);
    assert.match(String(r.json()['code']), /^PC_ERR_AUTH_(REQUIRED|SIGNATURE_MISSING)$/);
  });
});

describe('signature nonces across instances sharing Redis', () => {
  const prefix = `pc-test-sig-${randomBytes(6).toString('hex')}:`;
  const stores: RedisStore[] = [];
  const make = (): RedisStore => {
    const s = new RedisStore({
      url: redisUrl(),
      keyPrefix: prefix,
      connectTimeoutMs: 2000,
      commandTimeoutMs: 2000,
      reconnectMaxDelayMs: 1000,
      logger: pino({ level: 'silent' }),
    });
    stores.push(s);
    return s;
  };
  after(async () => {
    for (const s of stores) await s.close();
  });

  it('accepts a nonce on one instance and refuses its replay on the other', async () => {
    const a = make();
    const b = make();
    for (let i = 0; i < 100 && !(a.healthy() && b.healthy()); i++) await new Promise((r) => setTimeout(r, 20));
    assert.ok(a.healthy() && b.healthy(), 'both instances connected to Redis');
    const dir = buildDirectory([{ id: 'partner', credentials: { signature_keys: [{ key_id: 'k', secret: SECRET, disabled: false }] } }]);
    const settings = signatureSettings({});
    const url = 'https://api.example.com/orders';
    const h = signRequest({ method: 'POST', url, body: '{}', keyId: 'k', secret: SECRET });
    const res = verifySignedRequest(
      {
        signatureInput: h['signature-input'],
        signature: h.signature,
        contentDigest: h['content-digest'],
        body: Buffer.from('{}'),
        message: messageViewFor('POST', new URL(url), h as Record<string, string>),
      },
      dir,
      settings,
      Date.now(),
    );
    assert.ok(res.kind === 'verified', JSON.stringify(res));
    assert.equal((await consumeNonce(res.sig, a, settings)).kind, 'ok');
    const replay = await consumeNonce(res.sig, b, settings);
    assert.equal(replay.kind === 'fail' && replay.deny.code, 'PC_ERR_AUTH_SIGNATURE_REPLAYED');
  });
});
