/**
 * Issue 18 item 10: a verified JWT that maps to no configured consumer gets a namespaced consumer
 * id (`jwt/<provider>/sub/<sub>`), so a token whose `sub` is a configured consumer's id shares
 * nothing of that consumer: not its X-Consumer-Id, rate-limit bucket, allow-list entry or bans,
 * and two providers' equal subjects stay apart. Real gateway (all stages), real upstream.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { startGateway, waitForLogLines, type TestGateway } from '../helpers/gateway.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { bearer, jwt, nowS, rawRequest } from './support.js';

const CORP = randomBytes(32).toString('base64url');
const PARTNER = randomBytes(32).toString('base64url');
const ADMIN = randomBytes(24).toString('base64url');

const token = (secret: string, iss: string, claims: Record<string, unknown>): string =>
  jwt({ alg: 'HS256', typ: 'JWT' }, { iss, iat: nowS(), exp: nowS() + 300, ...claims }, Buffer.from(secret));
const corp = (claims: Record<string, unknown>): string => token(CORP, 'https://corp.test', claims);
const partner = (claims: Record<string, unknown>): string => token(PARTNER, 'https://partner.test', claims);

describe('JWT principals that map to no consumer', () => {
  let up: TestUpstream;
  let gw: TestGateway;

  before(async () => {
    up = await startUpstream();
    gw = await startGateway(
      `
version: 1
listeners: [{ port: 0 }]
admin: { port: 0, token: "${ADMIN}" }
upstreams:
  up: { targets: [{ url: "{{UP}}" }] }
auth:
  jwt:
    providers:
      corp: { issuer: "https://corp.test", algorithms: [HS256], secret: "${CORP}" }
      partner: { issuer: "https://partner.test", algorithms: [HS256], secret: "${PARTNER}" }
consumers:
  - id: acme-svc
    credentials:
      jwt: [{ provider: corp, client_id: acme-client }]
abuse:
  allow: { consumers: [acme-svc] }
routes:
  - id: limited
    match: { prefix: /limited }
    upstream: up
    rate_limit:
      - { name: per-consumer, key: [consumer], rate: 1/m, burst: 2 }
  - id: api
    match: { prefix: /api }
    upstream: up
`,
      { vars: { UP: up.url } },
    );
  });

  after(async () => {
    await gw.close();
    await up.close();
  });

  const get = (path: string, t: string) => rawRequest(`${gw.url}${path}`, { headers: bearer(t) });

  test("a token whose sub is a configured consumer's id reaches the upstream with a namespaced X-Consumer-Id, never that consumer's", async () => {
    const r = await get('/api/a', corp({ sub: 'acme-svc' }));
    assert.equal(r.status, 200, r.body);
    assert.equal(up.seen.at(-1)?.headers['x-consumer-id'], 'jwt/corp/sub/acme-svc');
    // the configured consumer, through its own credential, keeps its id
    assert.equal((await get('/api/b', corp({ client_id: 'acme-client' }))).status, 200);
    assert.equal(up.seen.at(-1)?.headers['x-consumer-id'], 'acme-svc');
    // without sub, the client id is namespaced apart from subjects
    assert.equal((await get('/api/c', corp({ client_id: 'acme-svc' }))).status, 200);
    assert.equal(up.seen.at(-1)?.headers['x-consumer-id'], 'jwt/corp/client/acme-svc');
  });

  test('two providers with the same subject get two consumer ids', async () => {
    assert.equal((await get('/api/p1', corp({ sub: 'alice' }))).status, 200);
    assert.equal(up.seen.at(-1)?.headers['x-consumer-id'], 'jwt/corp/sub/alice');
    assert.equal((await get('/api/p2', partner({ sub: 'alice' }))).status, 200);
    assert.equal(up.seen.at(-1)?.headers['x-consumer-id'], 'jwt/partner/sub/alice');
  });

  test('a subject made to look like a namespaced id or a path is percent-encoded into one segment', async () => {
    assert.equal((await get('/api/s', corp({ sub: 'jwt/partner/sub/alice' }))).status, 200);
    assert.equal(up.seen.at(-1)?.headers['x-consumer-id'], 'jwt/corp/sub/jwt%2Fpartner%2Fsub%2Falice');
    assert.equal((await get('/api/u', corp({ sub: 'zoë 100%' }))).status, 200);
    assert.equal(up.seen.at(-1)?.headers['x-consumer-id'], 'jwt/corp/sub/zo%C3%AB%20100%25');
  });

  test("the configured consumer's rate-limit bucket is not spent or shared by a token whose sub names it", async () => {
    const real = corp({ client_id: 'acme-client' });
    assert.equal((await get('/limited/1', real)).status, 200);
    assert.equal((await get('/limited/2', real)).status, 200);
    assert.equal((await get('/limited/3', real)).status, 429);
    const impostor = corp({ sub: 'acme-svc' });
    assert.equal((await get('/limited/4', impostor)).status, 200, 'its own bucket, not acme-svc');
    assert.equal((await get('/limited/5', impostor)).status, 200);
    assert.equal((await get('/limited/6', impostor)).status, 429);
    // and the other provider's alice is a third bucket
    assert.equal((await get('/limited/7', partner({ sub: 'acme-svc' }))).status, 200);
  });

  test('the abuse allow-list entry of a configured consumer does not cover a token whose sub names it, and bans apply by the namespaced id', async () => {
    const ban = async (client: string): Promise<number> =>
      (
        await rawRequest(`${gw.adminUrl}/admin/bans`, {
          method: 'POST',
          headers: [
            ['authorization', `Bearer ${ADMIN}`],
            ['content-type', 'application/json'],
          ],
          body: JSON.stringify({ client, duration_ms: 60_000, reason: 'test' }),
        })
      ).status;
    assert.equal(await ban('consumer:jwt/corp/sub/acme-svc'), 201);
    const r = await get('/api/banned', corp({ sub: 'acme-svc' }));
    assert.equal(r.status, 403, r.body);
    assert.equal(r.json().code, 'PC_ERR_CLIENT_BANNED');
    // the configured consumer is untouched by that ban
    assert.equal((await get('/api/ok', corp({ client_id: 'acme-client' }))).status, 200);
  });

  test('the access log names the namespaced consumer', async () => {
    await get('/api/logged', corp({ sub: 'acme-svc' }));
    const lines = await waitForLogLines(gw, (l) => l.path === '/api/logged');
    const line = lines.find((l) => l.path === '/api/logged');
    assert.equal(line?.consumer, 'jwt/corp/sub/acme-svc');
  });
});
