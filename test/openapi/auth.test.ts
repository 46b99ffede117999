/**
 * Security requirements from the OpenAPI document enforced by the real auth stage: OR across
 * requirement objects, scopes from oauth2 requirements, `security: []` public; validation runs
 * after authentication.
 */
import { test, after } from 'node:test';
import { strict as assert } from 'node:assert';
import { SignJWT } from 'jose';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { startUpstream } from '../helpers/upstream.js';
import { validateStage } from '../../src/stages/validate/index.js';
import type { StageModule } from '../../src/core/stage.js';
import { SHOP } from './fixtures.js';

let authStage: StageModule | null = null;
try {
  authStage = ((await import('../../src/stages/auth/index.js')) as { authStage?: StageModule }).authStage ?? null;
} catch {
  authStage = null;
}

const CORP = 'corp-secret-for-tests-0123456789abcdef';
const MAIN = 'main-secret-for-tests-0123456789abcdef';

async function token(secret: string, issuer: string, scope?: string): Promise<string> {
  return new SignJWT(scope ? { scope } : {})
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuer(issuer)
    .setSubject('client-1')
    .setIssuedAt()
    .setExpirationTime('5m')
    .sign(new TextEncoder().encode(secret));
}

const up = await startUpstream();
let gw: TestGateway | null = null;
after(async () => {
  await gw?.close();
  await up.close();
});

test('OpenAPI security requirements are enforced by the auth stage before validation', {
  skip: authStage === null ? 'auth stage not available' : false,
}, async () => {
  gw = await startGateway(
    `
version: 1
listeners:
  - port: 0
upstreams:
  shop:
    targets:
      - url: ${up.url}
routes: []
auth:
  jwt:
    providers:
      corp: { issuer: https://corp.example, secret: ${CORP}, algorithms: [HS256] }
      main: { issuer: https://main.example, secret: ${MAIN}, algorithms: [HS256] }
apis:
  - id: shop
    spec: ${SHOP}
    upstream: shop
    auth_provider: main
`,
    { modules: [authStage as StageModule, validateStage] },
  );
  const url = gw.url;
  const post = (path: string, body: string, headers: Record<string, string> = {}) =>
    fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
  const before = up.count();
  // createItem: bearer (corp) OR apiKey
  assert.equal((await post('/api/items', '{"name":"x","price":1}')).status, 401);
  const corp = { authorization: `Bearer ${await token(CORP, 'https://corp.example')}` };
  const mainNoScope = { authorization: `Bearer ${await token(MAIN, 'https://main.example')}` };
  assert.equal(
    (await post('/api/items', '{"name":"x","price":1}', mainNoScope)).status,
    401,
    'a token of another provider does not satisfy the bearer requirement',
  );
  assert.equal(up.count(), before);
  const invalid = await post('/api/items', '{"name":"x","price":', corp);
  assert.equal(invalid.status, 400, 'authenticated, then validated');
  assert.equal(up.count(), before);
  assert.equal((await post('/api/items', '{"name":"x","price":1}', corp)).status, 200);
  assert.equal(up.count(), before + 1);
  // getItem: security: [] (public)
  assert.equal((await fetch(`${url}/api/items/7`)).status, 200);
  // replaceItem: oauth2 with scope items:write, provider from auth_provider (main)
  const put = (headers: Record<string, string>) =>
    fetch(`${url}/api/items/7`, { method: 'PUT', headers: { 'content-type': 'application/json', ...headers }, body: '{"name":"x","price":2}' });
  const noScope = await put(mainNoScope);
  assert.ok(noScope.status === 401 || noScope.status === 403, `missing scope refused (${noScope.status})`);
  assert.equal((await put({ authorization: `Bearer ${await token(MAIN, 'https://main.example', 'items:write')}` })).status, 200);
  assert.equal(up.count(), before + 3);
});
