/**
 * Issue 18, item 14: credentials in the query string never reach a log. The parameters the auth
 * config reads (`auth.jwt.query`, `auth.api_keys.query.name`, an OpenAPI `apiKey` scheme `in: query`)
 * and the default list are redacted on every route, whatever their spelling, in the access log
 * and in WAF matches; problem replies, gateway events, the audit log and alert webhooks never
 * carry the query at all.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { startGateway, waitForLogLines } from '../helpers/gateway.js';
import { startUpstream } from '../helpers/upstream.js';

const SPEC = `
openapi: 3.0.3
info: { title: shop, version: '1' }
paths:
  /items:
    get:
      operationId: listItems
      security: []
      responses: { '200': { description: ok } }
components:
  securitySchemes:
    subscription: { type: apiKey, in: query, name: subscription_code }
`;

const CONFIG = `
version: 1
listeners: [{ port: 0 }]
upstreams: { u: { targets: [{ url: '{{UP}}' }] } }
auth:
  jwt:
    query: tok
    providers:
      p: { issuer: 'https://issuer.example', algorithms: [HS256], secret: 'a-test-secret-of-at-least-32-bytes-0123' }
  api_keys:
    query: { name: k3y }
apis:
  - { id: shop, spec: openapi.yaml, upstream: u, base_path: /shop }
routes:
  - { id: pub, match: { prefix: /pub }, upstream: u, auth: none }
  - { id: priv, match: { prefix: /priv }, upstream: u, auth: { any_of: [{ jwt: {} }] } }
audit: { enabled: true, path: audit.jsonl }
alerts:
  evaluate_interval_ms: 100
  rules:
    - { name: any_denial, metric: denials, by: route, window_ms: 2000, threshold: 1, min_requests: 1, cooldown_ms: 0 }
  sinks:
    webhooks:
      - { url: '{{HOOK}}', secret: 'webhook-secret-0123456789abcdef', backoff_ms: 50 }
`;

/** Values that must never be logged (alphanumeric: no WAF rule reacts to them). */
const S = Array.from({ length: 12 }, (_, i) => `Zq${i}x7SecretValue${i}k9`);

async function hookReceiver(): Promise<{ url: string; bodies: string[]; close(): Promise<void> }> {
  const bodies: string[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      bodies.push(Buffer.concat(chunks).toString('utf8'));
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    bodies,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}

async function until(what: string, ok: () => boolean, timeoutMs = 8000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

test('credential query parameters of the config and the default list are redacted in every log, whatever their spelling and route', async () => {
  const up = await startUpstream();
  const hook = await hookReceiver();
  const dir = mkdtempSync(join(tmpdir(), 'portcullis-redact-'));
  writeFileSync(join(dir, 'openapi.yaml'), SPEC);
  const gw = await startGateway(CONFIG, { dir, vars: { UP: up.url, HOOK: hook.url } }).catch(async (e: unknown) => {
    await Promise.all([up.close(), hook.close()]);
    throw e;
  });
  const replies: string[] = [];
  const get = async (path: string): Promise<number> => {
    const r = await request(`${gw.url}${path}`);
    const text = await r.body.text();
    if (r.statusCode >= 400) replies.push(text); // local problem replies (a 200 is the upstream's echo)
    return r.statusCode;
  };
  try {
    // a public route: the configured credential names are redacted there too
    const pub =
      `/pub?tok=${S[0]}&K3Y=${S[1]}&Refresh_Token=${S[2]}&client_secret=${S[3]}&password[0]=${S[4]}&Access%5FToken=${S[5]}` +
      `&user[password]=${S[6]}&%2570assword=${S[7]}&session=${S[8]}&subscription_code=${S[9]}&page=2`;
    assert.equal(await get(pub), 200);
    assert.equal(up.seen.at(-1)?.url, pub, 'the upstream still receives the query as sent');
    // the route that reads the token: a token in the query is refused, and logged redacted
    assert.equal(await get(`/priv/x?tok=${S[10]}`), 401);
    // the OpenAPI route declaring the apiKey scheme
    assert.equal(await get(`/shop/items?subscription_code=${S[11]}`), 200);
    // a WAF match on a secret parameter: the matched value is the secret
    const attack = encodeURIComponent("' OR 1=1--");
    assert.equal(await get(`/pub?password=${attack}`), 403);

    const lines = await waitForLogLines(gw, 4);
    await until('the alert webhook', () => hook.bodies.length > 0);
    gw.gateway.accessLog()?.flush();

    const paths = lines.map((l) => String(l.path));
    const first = paths.find((p) => p.startsWith('/pub?tok='));
    assert.equal(
      first,
      '/pub?tok=[REDACTED]&K3Y=[REDACTED]&Refresh_Token=[REDACTED]&client_secret=[REDACTED]&password[0]=[REDACTED]&Access%5FToken=[REDACTED]' +
        '&user[password]=[REDACTED]&%2570assword=[REDACTED]&session=[REDACTED]&subscription_code=[REDACTED]&page=2',
    );
    assert.ok(paths.includes('/priv/x?tok=[REDACTED]'), paths.join('\n'));
    assert.ok(paths.includes('/shop/items?subscription_code=[REDACTED]'), paths.join('\n'));

    const waf = lines.find((l) => String(l.path).startsWith('/pub?password='));
    assert.equal(waf?.path, '/pub?password=[REDACTED]');
    const matches = (waf?.waf as { matches: { target: string; matched: string }[] } | undefined)?.matches ?? [];
    assert.ok(matches.length > 0, 'the WAF matched');
    for (const m of matches) if (m.target === 'query:password' || m.target === 'uri') assert.equal(m.matched, '[redacted]', JSON.stringify(m));
    assert.ok(
      matches.some((m) => m.target === 'query:password'),
      JSON.stringify(matches),
    );

    const auditFile = join(dir, 'audit.jsonl');
    assert.ok(existsSync(auditFile), 'the audit log was written');
    assert.equal(replies.length, 2, 'the 401 and the 403 are problem replies');
    const sinks: [string, string][] = [
      ['access log', readFileSync(gw.gateway.config.access_log.path, 'utf8')],
      ['gateway events', JSON.stringify(gw.eventLines())],
      ['problem replies', replies.join('\n')],
      ['alert webhooks', hook.bodies.join('\n')],
      ['audit log', readFileSync(auditFile, 'utf8')],
    ];
    for (const [where, text] of sinks) {
      for (const s of S) assert.ok(!text.includes(s), `${where} holds ${s}`);
      assert.ok(!text.includes("' OR 1=1") && !text.includes(attack) && !text.includes('OR 1=1'), `${where} holds the attacked password`);
    }
  } finally {
    await gw.close();
    await up.close();
    await hook.close();
  }
});
