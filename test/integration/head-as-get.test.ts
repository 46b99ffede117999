/**
 * HEAD on an API described by OpenAPI (issue 18, item 7): a HEAD request on a path whose API
 * declares GET is authenticated, authorized and validated as that GET operation, since the
 * upstream runs its GET handler for it; a `head` operation declared beside the `get` one does not
 * open a laxer way in.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import { request } from 'undici';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { startUpstream } from '../helpers/upstream.js';
import { STAGES } from '../../src/stages/index.js';

const SECRET = 'head-as-get-secret-0123456789abcdef';
const up = await startUpstream();
const gateways: TestGateway[] = [];
after(async () => {
  for (const g of gateways) await g.close();
  await up.close();
});

async function token(scope: string): Promise<string> {
  return new SignJWT({ scope })
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuer('https://idp.example')
    .setSubject('client-1')
    .setIssuedAt()
    .setExpirationTime('5m')
    .sign(new TextEncoder().encode(SECRET));
}

async function api(paths: string): Promise<TestGateway> {
  const dir = mkdtempSync(join(tmpdir(), 'pc-head-'));
  writeFileSync(
    join(dir, 'api.yaml'),
    `openapi: 3.0.3
info: { title: items, version: '1' }
components:
  securitySchemes:
    oauth:
      type: oauth2
      flows: { clientCredentials: { tokenUrl: https://idp.example/token, scopes: { items:read: read items } } }
security: [ { oauth: [items:read] } ]
paths:
${paths}`,
  );
  const g = await startGateway(
    `
version: 1
listeners: [{ port: 0 }]
upstreams: { api: { targets: [{ url: "${up.url}" }] } }
routes: []
auth:
  jwt:
    providers:
      idp: { issuer: https://idp.example, secret: ${SECRET}, algorithms: [HS256] }
apis:
  - { id: items, spec: api.yaml, upstream: api }
`,
    { dir, modules: STAGES },
  );
  gateways.push(g);
  return g;
}

const LIST = `  /items:
    get:
      operationId: listItems
      parameters:
        - { name: limit, in: query, schema: { type: integer, maximum: 10 } }
      responses: { '200': { description: ok } }
`;

async function head(url: string, auth?: string): Promise<number> {
  const r = await request(url, { method: 'HEAD', headers: auth ? { authorization: `Bearer ${auth}` } : {} });
  await r.body.dump();
  return r.statusCode;
}

test('a HEAD request on a GET-only operation is authenticated, authorized and validated as the GET operation', async () => {
  const g = await api(LIST);
  const reader = await token('items:read');
  const before = up.count();
  assert.equal(await head(`${g.url}/items`), 401, 'no token');
  assert.equal(await head(`${g.url}/items`, await token('other')), 403, "a token without the GET operation's scope");
  assert.equal(await head(`${g.url}/items?limit=99`, reader), 400, 'a query the GET operation refuses');
  assert.equal(up.count(), before, 'nothing refused reached the upstream');
  assert.equal(await head(`${g.url}/items?limit=3`, reader), 200);
  assert.equal(up.seen.at(-1)?.method, 'HEAD');
  const r = await request(`${g.url}/items`, { method: 'POST' });
  await r.body.dump();
  assert.equal(r.statusCode, 405, 'HEAD does not open other methods');
});

test('a public head operation declared beside a protected get operation does not let HEAD past the GET checks', async () => {
  const g = await api(`${LIST}    head:
      operationId: probeItems
      security: []
      responses: { '200': { description: ok } }
`);
  assert.equal(await head(`${g.url}/items`), 401);
  assert.equal(await head(`${g.url}/items?limit=99`, await token('items:read')), 400);
  assert.equal(await head(`${g.url}/items?limit=3`, await token('items:read')), 200);
});
