/**
 * OIDC with a real OpenID provider (oidc-provider on 127.0.0.1) issuing client-credentials JWT
 * access tokens: discovery and JWKS, key rotation without restarting the gateway, old-key tokens
 * valid while published, and cached keys when the provider is down.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { createServer, type Server } from 'node:net';
import type { AddressInfo } from 'node:net';
import type { Server as HttpServer } from 'node:http';
// @ts-expect-error oidc-provider ships no type declarations
import Provider from 'oidc-provider';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { AUTH_MODULES, bearer, makeKey, nowS, rawRequest, tokenFor } from './support.js';

const CLIENT_SECRET = 'secret-a-0123456789abcdef0123456789abcdef';
const AUDIENCE = 'https://api.test';

const ecJwk = (kid: string): Record<string, unknown> => ({
  ...(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' }) as Record<string, unknown>),
  kid,
  alg: 'ES256',
  use: 'sig',
});

async function freePort(): Promise<number> {
  const s: Server = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

async function startIdp(port: number, keys: Record<string, unknown>[]): Promise<HttpServer> {
  const provider = new Provider(`http://127.0.0.1:${port}`, {
    clients: [
      {
        client_id: 'svc-a',
        client_secret: CLIENT_SECRET,
        grant_types: ['client_credentials'],
        redirect_uris: [],
        response_types: [],
        token_endpoint_auth_method: 'client_secret_post',
        id_token_signed_response_alg: 'ES256',
      },
    ],
    jwks: { keys: keys as never },
    features: {
      clientCredentials: { enabled: true },
      devInteractions: { enabled: false },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => AUDIENCE,
        getResourceServerInfo: () => ({
          scope: 'orders:read orders:write',
          audience: AUDIENCE,
          accessTokenFormat: 'jwt',
          accessTokenTTL: 300,
          jwt: { sign: { alg: 'ES256' } },
        }),
      },
    },
    ttl: { ClientCredentials: 300 },
  });
  return new Promise((resolve) => {
    const s = provider.listen(port, '127.0.0.1', () => resolve(s)) as HttpServer;
  });
}

async function stopIdp(s: HttpServer): Promise<void> {
  await new Promise<void>((r) => {
    s.close(() => r());
    s.closeAllConnections();
  });
}

async function clientCredentialsToken(port: number, scope = 'orders:read'): Promise<string> {
  const r = await rawRequest(`http://127.0.0.1:${port}/token`, {
    method: 'POST',
    headers: [['content-type', 'application/x-www-form-urlencoded']],
    body: new URLSearchParams({ grant_type: 'client_credentials', client_id: 'svc-a', client_secret: CLIENT_SECRET, scope }).toString(),
  });
  assert.equal(r.status, 200, r.body);
  return String(r.json().access_token);
}

const kidOf = (t: string): string => String((JSON.parse(Buffer.from(t.split('.')[0] as string, 'base64url').toString()) as { kid: string }).kid);

describe('OIDC provider on loopback', () => {
  let port: number;
  let idp: HttpServer | null = null;
  let up: TestUpstream;
  let gw: TestGateway;
  const k1 = ecJwk('k1');
  const k2 = ecJwk('k2');

  before(async () => {
    port = await freePort();
    idp = await startIdp(port, [k1]);
    up = await startUpstream();
    gw = await startGateway(
      `
version: 1
listeners: [{ port: 0 }]
upstreams:
  up: { targets: [{ url: "{{UP}}" }] }
auth:
  jwt:
    providers:
      idp:
        issuer: http://127.0.0.1:{{PORT}}
        audiences: [${AUDIENCE}]
        algorithms: [ES256]
        typ: at+jwt
        min_refetch_s: 0
        refresh_s: 3600
routes:
  - id: read
    match: { prefix: /orders }
    upstream: up
    auth:
      any_of:
        - jwt: { provider: idp, scopes: [orders:read] }
  - id: write
    match: { prefix: /admin }
    upstream: up
    auth:
      any_of:
        - jwt: { provider: idp, scopes: [orders:write] }
`,
      { vars: { UP: up.url, PORT: port }, modules: AUTH_MODULES },
    );
  });

  after(async () => {
    if (idp) await stopIdp(idp);
    await gw.close();
    await up.close();
  });

  test('discovery and JWKS let a client-credentials token through, with identity headers upstream', async () => {
    const t = await clientCredentialsToken(port);
    const r = await rawRequest(`${gw.url}/orders/1`, { headers: [...bearer(t), ['x-consumer-id', 'spoofed']] });
    assert.equal(r.status, 200, `${r.body} ${JSON.stringify(gw.eventLines().filter((l) => Number(l.level) >= 40))}`);
    const seen = up.seen.at(-1);
    // a client-credentials token maps to no configured consumer: its namespaced id (consumers.ts)
    assert.equal(seen?.headers['x-consumer-id'], 'jwt/idp/sub/svc-a');
    assert.equal(seen?.headers['x-auth-method'], 'jwt');
  });

  test('a token without the route requirement scope gets 403 insufficient_scope', async () => {
    const t = await clientCredentialsToken(port, 'orders:read');
    const r = await rawRequest(`${gw.url}/admin/x`, { headers: bearer(t) });
    assert.equal(r.status, 403);
    assert.equal(r.json().code, 'PC_ERR_INSUFFICIENT_SCOPE');
    assert.match(String(r.headers['www-authenticate']), /error="insufficient_scope",.* scope="orders:write"/);
  });

  test('after the provider rotates its key, new tokens pass without a gateway restart and old-key tokens still pass while published', async () => {
    const oldKeyToken = await clientCredentialsToken(port); // issued before rotation, first presented after it
    assert.equal(kidOf(oldKeyToken), 'k1');
    await stopIdp(idp as HttpServer);
    idp = await startIdp(port, [k2, k1]);
    const newKeyToken = await clientCredentialsToken(port);
    assert.equal(kidOf(newKeyToken), 'k2');
    assert.equal((await rawRequest(`${gw.url}/orders/2`, { headers: bearer(newKeyToken) })).status, 200);
    assert.equal((await rawRequest(`${gw.url}/orders/3`, { headers: bearer(oldKeyToken) })).status, 200);
  });

  test('with the provider stopped, cached keys keep working and unknown keys are refused', async () => {
    const a = await clientCredentialsToken(port);
    const b = await clientCredentialsToken(port);
    await stopIdp(idp as HttpServer);
    idp = null;
    assert.equal((await rawRequest(`${gw.url}/orders/4`, { headers: bearer(a) })).status, 200);
    const stranger = makeKey('ES256', 'k9');
    const forged = tokenFor(
      stranger,
      { iss: `http://127.0.0.1:${port}`, aud: AUDIENCE, sub: 'svc-a', scope: 'orders:read', iat: nowS(), exp: nowS() + 60 },
      { typ: 'at+jwt' },
    );
    const r = await rawRequest(`${gw.url}/orders/5`, { headers: bearer(forged) });
    assert.equal(r.status, 401);
    assert.equal(r.json().code, 'PC_ERR_AUTH_TOKEN_KEY_UNKNOWN');
    // the failed refetch kept the last good key set
    assert.equal((await rawRequest(`${gw.url}/orders/6`, { headers: bearer(b) })).status, 200);
    // a config reload builds a new verifier (empty token cache) that reuses the kept key set
    assert.equal(await gw.reload(), true);
    assert.equal((await rawRequest(`${gw.url}/orders/7`, { headers: bearer(a) })).status, 200);
  });
});
