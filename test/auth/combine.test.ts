/**
 * Combining methods through a real gateway: alternatives (OR), a presented-but-bad credential is
 * never skipped, default methods for routes without `auth`, monitor mode, disabled consumers.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { startGateway, waitForLogLines, type TestGateway } from '../helpers/gateway.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { generateApiKey, hashApiKey } from '../../src/stages/auth/verifiers/api-key.js';
import { AUTH_MODULES, bearer, jwt, nowS, rawRequest } from './support.js';

const ISS = 'https://issuer.test';

describe('combining authentication methods', () => {
  let up: TestUpstream;
  let gw: TestGateway;
  const secret = randomBytes(48).toString('base64url');
  const pepper = randomBytes(32).toString('hex');
  const key = generateApiKey('k1');
  const disabledKey = generateApiKey('k2');
  const token = (sub: string, extra: Record<string, unknown> = {}): string =>
    jwt({ alg: 'HS256', typ: 'JWT' }, { iss: ISS, sub, iat: nowS(), exp: nowS() + 300, ...extra }, Buffer.from(secret));

  before(async () => {
    up = await startUpstream();
    gw = await startGateway(
      `
version: 1
listeners: [{ port: 0 }]
upstreams:
  up: { targets: [{ url: "{{UP}}" }] }
auth:
  default: [api_key]
  api_keys: { secret: "{{PEPPER}}" }
  jwt:
    providers:
      main: { issuer: ${ISS}, algorithms: [HS256], secret: "{{SECRET}}" }
      strict: { issuer: https://strict.test, algorithms: [HS256], secret: "{{SECRET}}", require_consumer: true }
consumers:
  - id: svc
    plan: gold
    credentials:
      api_keys: [{ id: k1, hash: "{{HASH}}" }]
      jwt: [{ provider: main, sub: svc }]
  - id: gone
    disabled: true
    credentials:
      api_keys: [{ id: k2, hash: "{{HASH2}}" }]
      jwt: [{ provider: main, sub: gone }]
routes:
  - id: either
    match: { prefix: /either }
    upstream: up
    auth: { any_of: [{ jwt: {} }, { api_key: {} }] }
  - id: both
    match: { prefix: /both }
    upstream: up
    auth: { any_of: [{ jwt: {}, api_key: {} }] }
  - { id: default, match: { prefix: /default }, upstream: up }
  - id: strict-only
    match: { prefix: /strict-only }
    upstream: up
    auth: { any_of: [{ jwt: { provider: strict } }] }
  - id: watch-authorize
    match: { prefix: /watch-authorize }
    upstream: up
    auth: { any_of: [{ jwt: {} }] }
    authorize: { roles: [admin], mode: monitor }
  - id: watch
    match: { prefix: /watch }
    upstream: up
    auth: { any_of: [{ jwt: {} }], mode: monitor }
`,
      { vars: { UP: up.url, SECRET: secret, PEPPER: pepper, HASH: hashApiKey(key, pepper), HASH2: hashApiKey(disabledKey, pepper) }, modules: AUTH_MODULES },
    );
  });

  after(async () => {
    await gw.close();
    await up.close();
  });

  const get = (path: string, headers: [string, string][] = []): ReturnType<typeof rawRequest> => rawRequest(`${gw.url}${path}`, { headers });

  test('either alternative alone passes, and verified credentials are forwarded by default', async () => {
    assert.equal((await get('/either', bearer(token('svc')))).status, 200);
    assert.match(String(up.seen.at(-1)?.headers.authorization), /^Bearer /);
    assert.equal((await get('/either', [['x-api-key', key]])).status, 200);
    assert.equal(up.seen.at(-1)?.headers['x-auth-method'], 'api_key');
    assert.equal(up.seen.at(-1)?.headers['x-consumer-id'], 'svc');
    assert.equal(up.seen.at(-1)?.headers['x-api-key'], key);
  });

  test('a bad token is refused even when a valid API key would satisfy another alternative', async () => {
    const r = await get('/either', [...bearer(token('svc', { exp: nowS() - 3600 })), ['x-api-key', key]]);
    assert.equal(r.status, 401);
    assert.equal(r.json().code, 'PC_ERR_AUTH_TOKEN_EXPIRED');
  });

  test('no credential on a route with alternatives gets one challenge per scheme', async () => {
    const r = await get('/either');
    assert.equal(r.status, 401);
    assert.equal(r.headers['www-authenticate'], 'Bearer realm="portcullis", ApiKey realm="portcullis"');
  });

  test('a set of two methods needs both, and both must name the same consumer', async () => {
    assert.equal((await get('/both', bearer(token('svc')))).json().code, 'PC_ERR_AUTH_REQUIRED');
    assert.equal((await get('/both', [...bearer(token('svc')), ['x-api-key', key]])).status, 200);
    assert.equal(up.seen.at(-1)?.headers['x-auth-method'], 'jwt,api_key');
    const r = await get('/both', [...bearer(token('someone-else')), ['x-api-key', key]]);
    assert.equal(r.status, 401);
    assert.equal(r.json().code, 'PC_ERR_AUTH_INVALID');
  });

  test('a route without auth takes the default methods only', async () => {
    assert.equal((await get('/default', [['x-api-key', key]])).status, 200);
    const r = await get('/default', bearer(token('svc')));
    assert.equal(r.status, 401);
    assert.equal(r.json().code, 'PC_ERR_AUTH_REQUIRED');
    assert.equal(r.headers['www-authenticate'], 'ApiKey realm="portcullis"');
  });

  test('a disabled consumer is refused with its token and its key', async () => {
    assert.equal((await get('/either', bearer(token('gone')))).json().code, 'PC_ERR_AUTH_INVALID');
    assert.equal((await get('/either', [['x-api-key', disabledKey]])).status, 401);
  });

  test('a route restricted to one provider refuses another provider token, also when that token is cached', async () => {
    const t = token('svc');
    assert.equal((await get('/either', bearer(t))).status, 200); // now cached
    const r = await get('/strict-only', bearer(t));
    assert.equal(r.status, 401);
    assert.equal(r.json().code, 'PC_ERR_AUTH_TOKEN_CLAIMS');
  });

  test('require_consumer refuses a token that maps to no configured consumer', async () => {
    const strict = (sub: string): string =>
      jwt({ alg: 'HS256', typ: 'JWT' }, { iss: 'https://strict.test', sub, iat: nowS(), exp: nowS() + 300 }, Buffer.from(secret));
    assert.equal((await get('/strict-only', bearer(strict('nobody')))).json().code, 'PC_ERR_AUTH_INVALID');
  });

  test('authorize in monitor mode lets a principal without the role through', async () => {
    assert.equal((await get('/watch-authorize', bearer(token('svc')))).status, 200);
  });

  test('monitor mode lets a request without credentials through and logs what it would have refused', async () => {
    const before = up.count();
    assert.equal((await get('/watch/x')).status, 200);
    assert.equal(up.count(), before + 1);
    let line: Record<string, unknown> | undefined;
    for (let i = 0; i < 50 && line === undefined; i++) {
      const lines = await waitForLogLines(gw, 1, 100);
      line = lines.find((l) => JSON.stringify(l).includes('/watch/x') && JSON.stringify(l).includes('PC_ERR_AUTH_REQUIRED'));
    }
    assert.ok(line, 'the access log names the monitored denial');
  });
});
