/** API keys through a real gateway: header and query sources, expiry, disabling, rotation, spoofing. */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { AUTH_MODULES, rawRequest } from './support.js';
import { generateApiKey, hashApiKey } from '../../src/stages/auth/verifiers/api-key.js';

const ENV = 'PC_TEST_APIKEY_SECRET_GW';
const SECRET = 'gateway-apikey-pepper-0123456789abcdef0123';

describe('API keys through the gateway', () => {
  let up: TestUpstream;
  let gw: TestGateway;
  const keys = {
    current: generateApiKey('k2026'),
    previous: generateApiKey('k2025'),
    expired: generateApiKey('k2024'),
    disabled: generateApiKey('kbad'),
    other: generateApiKey('kother'),
  };

  before(async () => {
    process.env[ENV] = SECRET;
    up = await startUpstream();
    const entry = (id: string, key: string, extra = ''): string => `{ id: ${id}, hash: ${hashApiKey(key, SECRET)}${extra} }`;
    gw = await startGateway(
      `
version: 1
listeners:
  - port: 0
upstreams:
  up: { targets: [{ url: "{{UP}}" }] }
auth:
  api_keys:
    secret: \${env:${ENV}}
    query: { enabled: true, name: api_key }
consumers:
  - id: billing
    tenant: acme
    credentials:
      api_keys:
        - ${entry('k2026', keys.current)}
        - ${entry('k2025', keys.previous, ', expires: "2099-01-01T00:00:00Z"')}
        - ${entry('k2024', keys.expired, ', expires: "2024-01-01T00:00:00Z"')}
        - ${entry('kbad', keys.disabled, ', disabled: true')}
  - id: reports
    tenant: globex
    credentials:
      api_keys:
        - ${entry('kother', keys.other)}
routes:
  - id: keyed
    match: { prefix: /keyed }
    upstream: up
    auth:
      mode: enforce
      replay: { jti: false, max_ttl_s: 86400 }
      any_of:
        - api_key: {}
`,
      { vars: { UP: up.url }, modules: AUTH_MODULES },
    );
  });

  after(async () => {
    await gw.close();
    await up.close();
    delete process.env[ENV];
  });

  it('lets a valid key through and sends the consumer upstream instead of a spoofed one', async () => {
    const before = up.count();
    const r = await rawRequest(`${gw.url}/keyed/a`, {
      headers: [
        ['x-api-key', keys.current],
        ['x-consumer-id', 'admin'],
        ['x-tenant-id', 'root'],
      ],
    });
    assert.equal(r.status, 200, r.body);
    assert.equal(up.count(), before + 1);
    const seen = up.seen.at(-1);
    assert.equal(seen?.headers['x-consumer-id'], 'billing');
    assert.equal(seen?.headers['x-tenant-id'], 'acme');
    assert.equal(seen?.headers['x-api-key'], keys.current, 'the key itself is passed through unchanged');
  });

  it('accepts both keys of a consumer during rotation, each mapping to the right consumer', async () => {
    const a = await rawRequest(`${gw.url}/keyed/a`, { headers: [['x-api-key', keys.previous]] });
    const b = await rawRequest(`${gw.url}/keyed/a`, { headers: [['x-api-key', keys.other]] });
    assert.equal(a.status, 200);
    assert.equal(b.status, 200);
    assert.equal(up.seen.at(-1)?.headers['x-consumer-id'], 'reports');
  });

  it('accepts the key from the query string where enabled', async () => {
    const r = await rawRequest(`${gw.url}/keyed/a?api_key=${keys.current}`);
    assert.equal(r.status, 200, r.body);
  });

  const refused: [string, [string, string][], string, string][] = [
    ['no key', [], '', 'PC_ERR_AUTH_REQUIRED'],
    ['an expired key', [['x-api-key', keys.expired]], '', 'PC_ERR_AUTH_APIKEY_EXPIRED'],
    ['a disabled key', [['x-api-key', keys.disabled]], '', 'PC_ERR_AUTH_APIKEY_INVALID'],
    ['a forged key with a known key id', [['x-api-key', generateApiKey('k2026')]], '', 'PC_ERR_AUTH_APIKEY_INVALID'],
    ['a malformed key', [['x-api-key', 'hunter2']], '', 'PC_ERR_AUTH_APIKEY_INVALID'],
    [
      'two key headers',
      [
        ['x-api-key', keys.current],
        ['x-api-key', keys.other],
      ],
      '',
      'PC_ERR_AUTH_APIKEY_INVALID',
    ],
    ['a key in the header and another in the query', [['x-api-key', keys.current]], `?api_key=${keys.other}`, 'PC_ERR_AUTH_APIKEY_INVALID'],
  ];
  for (const [name, headers, query, code] of refused) {
    it(`refuses ${name} with 401 ${code} without contacting the upstream`, async () => {
      const before = up.count();
      const r = await rawRequest(`${gw.url}/keyed/a${query}`, { headers });
      assert.equal(r.status, 401, r.body);
      assert.equal(r.json()['code'], code);
      assert.equal(up.count(), before);
      assert.ok(!r.body.includes(keys.current.slice(10)), 'the key is never echoed');
    });
  }

  it('never writes a key into the access log', async () => {
    await rawRequest(`${gw.url}/keyed/a`, { headers: [['x-api-key', keys.disabled]] });
    await rawRequest(`${gw.url}/keyed/a?api_key=${keys.current}`);
    const { waitForLogLines } = await import('../helpers/gateway.js');
    const lines = await waitForLogLines(gw, 2);
    const text = JSON.stringify(lines) + JSON.stringify(gw.eventLines());
    for (const k of Object.values(keys)) assert.ok(!text.includes(k.slice(-43)), 'no key material in logs');
  });
});
