/** `portcullis token --dev` prints a token that the quickstart's `dev` provider accepts. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { startGateway } from '../helpers/gateway.js';
import { startUpstream } from '../helpers/upstream.js';
import { DEFAULT_DEV_KEY_FILE, devToken, devTokenCommand, type DevKeyFile } from '../../src/stages/auth/dev-token.js';
import { AUTH_MODULES, bearer, rawRequest } from './support.js';

test('a dev token passes a route protected by the quickstart dev provider, and no token gets 401', async () => {
  const doc = JSON.parse(readFileSync(DEFAULT_DEV_KEY_FILE, 'utf8')) as DevKeyFile;
  const up = await startUpstream();
  const gw = await startGateway(
    `
version: 1
listeners: [{ port: 0 }]
upstreams:
  demo: { targets: [{ url: "{{UP}}" }] }
auth:
  jwt:
    providers:
      dev:
        issuer: ${doc.issuer}
        audiences: [${doc.audience}]
        algorithms: [ES256]
        jwks_file: ${DEFAULT_DEV_KEY_FILE}
routes:
  - id: items
    match: { prefix: /api/items }
    upstream: demo
`,
    { vars: { UP: up.url }, modules: AUTH_MODULES },
  );
  try {
    assert.equal((await rawRequest(`${gw.url}/api/items/1`)).status, 401);
    const t = devToken({ file: DEFAULT_DEV_KEY_FILE, sub: 'dev-user', scopes: ['items:read'], ttlS: 60, tenant: null, now: Date.now() });
    const r = await rawRequest(`${gw.url}/api/items/1`, { headers: bearer(t) });
    assert.equal(r.status, 200, r.body);
    assert.equal(up.seen.at(-1)?.headers['x-consumer-id'], 'jwt/dev/sub/dev-user');
  } finally {
    await gw.close();
    await up.close();
  }
});

test('the token command refuses to run without --dev', async () => {
  const write = process.stderr.write;
  process.stderr.write = (() => true) as typeof process.stderr.write;
  try {
    assert.equal(await devTokenCommand([]), 2);
    assert.equal(await devTokenCommand(['--dev', '--ttl', 'forever']), 2);
  } finally {
    process.stderr.write = write;
  }
});
