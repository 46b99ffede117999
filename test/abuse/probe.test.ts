/**
 * `portcullis probe`: its checks against a scripted peer that behaves like a correct gateway (and
 * like broken ones), and against the real gateway.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHmac, randomUUID } from 'node:crypto';
import { copyFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { probeCommand, traversalPath } from '../../src/cli/probe.js';
import { startGateway } from '../helpers/gateway.js';
import { demoApi } from '../helpers/quickstart.js';
import { startUpstream } from '../helpers/upstream.js';
import { ABUSE_ADMIN_HANDLERS } from '../../src/admin/bans.js';
import { testPki } from '../helpers/pki.js';

interface Flaws {
  banned?: boolean;
  authOff?: boolean;
  noRateLimit?: boolean;
  traversalPasses?: boolean;
  noAlert?: boolean;
  /** forwards a Content-Type with two charsets */
  ambiguousContentType?: boolean;
}

/** A peer answering like a gateway with every protection on, unless `flaws` says otherwise. */
async function scriptedGateway(flaws: Flaws = {}): Promise<{ url: string; admin: string; paths: string[]; close(): Promise<void> }> {
  const denials: { request_id: string; time: number }[] = [];
  const paths: string[] = [];
  let hits = 0;
  const deny = (res: http.ServerResponse, status: number, code: string, headers: Record<string, string> = {}): void => {
    const id = randomUUID();
    denials.push({ request_id: id, time: Date.now() });
    res.writeHead(status, { 'content-type': 'application/problem+json', 'x-request-id': id, ...headers });
    res.end(JSON.stringify({ status, code, request_id: id }));
  };
  const gw = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = req.url ?? '/';
      paths.push(url);
      if (flaws.banned) return deny(res, 403, 'PC_ERR_CLIENT_BANNED', { 'retry-after': '600' });
      if (!flaws.authOff && req.headers.authorization !== 'Bearer good-token') return deny(res, 401, 'PC_ERR_AUTH_REQUIRED');
      if (url.includes('../') && !flaws.traversalPasses) return deny(res, 403, 'PC_ERR_WAF_BLOCKED');
      if (/UNION|%27/i.test(url)) return deny(res, 403, 'PC_ERR_WAF_BLOCKED');
      if (req.method === 'POST') {
        const ct = req.headers['content-type'] ?? '';
        if (!flaws.ambiguousContentType && (ct.match(/charset/gi) ?? []).length > 1) return deny(res, 400, 'PC_ERR_MEDIA_TYPE_INVALID');
        try {
          JSON.parse(Buffer.concat(chunks).toString('utf8'));
        } catch {
          return deny(res, 400, 'PC_ERR_BODY_MALFORMED');
        }
      }
      if (!flaws.noRateLimit && ++hits > 20) return deny(res, 429, 'PC_ERR_RATE_LIMITED', { 'retry-after': '1' });
      res.writeHead(200, { 'content-type': 'application/json' }).end('[]');
    });
  });
  const admin = http.createServer((req, res) => {
    const body = req.url?.startsWith('/admin/events')
      ? { denials }
      : { active: flaws.noAlert ? [] : [{ name: 'waf_blocks', since: new Date().toISOString() }], recent: [] };
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  });
  await new Promise<void>((r) => gw.listen(0, '127.0.0.1', r));
  await new Promise<void>((r) => admin.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(gw.address() as AddressInfo).port}`,
    admin: `http://127.0.0.1:${(admin.address() as AddressInfo).port}`,
    paths,
    close: async () => {
      gw.closeAllConnections();
      admin.closeAllConnections();
      await Promise.all([new Promise((r) => gw.close(r)), new Promise((r) => admin.close(r))]);
    },
  };
}

async function probe(args: string[]): Promise<{ code: number; out: string }> {
  const lines: string[] = [];
  const code = await probeCommand(
    args,
    (s) => lines.push(s),
    (s) => lines.push(s),
  );
  return { code, out: lines.join('\n') };
}

const row = (out: string, name: string): string => out.split('\n').find((l) => l.startsWith(name)) ?? '';

test('the probe passes and exits 0 against a gateway that enforces every step', async () => {
  const g = await scriptedGateway();
  try {
    const r = await probe([g.url, '--admin', g.admin, '--token', 'good-token', '--alert-wait-ms', '500']);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /all steps passed/);
    assert.match(row(r.out, 'mTLS'), /SKIP$/);
    assert.ok(g.paths.includes(traversalPath('/api/items')), 'the traversal path reached the peer exactly as written');
  } finally {
    await g.close();
  }
});

test('the probe reports each missing protection as a failed step and exits 1', async () => {
  const cases: [Flaws, string][] = [
    [{ authOff: true }, 'call without a token'],
    [{ noRateLimit: true }, 'quick requests beyond the burst'],
    [{ traversalPasses: true }, 'path with ../'],
    [{ noAlert: true }, 'an alert was raised'],
    [{ ambiguousContentType: true }, 'Content-Type read two ways'],
  ];
  for (const [flaws, step] of cases) {
    const g = await scriptedGateway(flaws);
    try {
      const r = await probe([g.url, '--admin', g.admin, '--token', 'good-token', '--alert-wait-ms', '300', '--max-burst', '40']);
      assert.equal(r.code, 1, `${step}: ${r.out}`);
      assert.match(row(r.out, step), /FAIL$/, r.out);
      assert.equal(r.out.split('\n').filter((l) => l.endsWith('FAIL')).length, 1, r.out);
    } finally {
      await g.close();
    }
  }
});

test('a probe client banned by the gateway is told why its steps fail', async () => {
  const g = await scriptedGateway({ banned: true });
  try {
    const r = await probe([g.url, '--admin', g.admin, '--token', 'good-token', '--alert-wait-ms', '300', '--max-burst', '20']);
    assert.equal(r.code, 1);
    assert.match(r.out, /abuse detection banned or throttled this client/);
  } finally {
    await g.close();
  }
});

test('the probe refuses non-loopback targets unless --allow-remote', async () => {
  const r = await probe(['http://192.0.2.10:8080']);
  assert.equal(r.code, 2);
  assert.match(r.out, /not a loopback address/);
  const a = await probe(['http://127.0.0.1:8080', '--admin', 'http://example.com:9090']);
  assert.equal(a.code, 2);
  assert.equal((await probe([])).code, 2);
});

test('the traversal path climbs out of the route with ../ and back into it', () => {
  assert.equal(traversalPath('/api/items'), '/api/items/../../api/items');
  assert.equal(traversalPath('/x'), '/x/../x');
});

test('against a real gateway with authentication off on the probed route, the probe reports that step failed and exits 1', async () => {
  const up = await startUpstream();
  const gw = await startGateway(
    `
version: 1
listeners: [{ port: 0 }]
admin: { port: 0 }
upstreams: { app: { targets: [{ url: '{{UP}}' }] } }
routes: [{ id: items, match: { prefix: /api/items }, upstream: app, auth: none }]
`,
    { vars: { UP: up.url }, adminHandlers: ABUSE_ADMIN_HANDLERS },
  );
  try {
    const r = await probe([gw.url, '--admin', gw.adminUrl ?? '', '--token', 'x', '--alert-wait-ms', '300', '--max-burst', '20']);
    assert.equal(r.code, 1, r.out);
    assert.match(row(r.out, 'call without a token'), /200 +FAIL$/, r.out);
  } finally {
    await gw.close();
    await up.close();
  }
});

const JWT_SECRET = 'probe-test-secret-0123456789abcdefghijklmnop';
const ADMIN = 'probe-admin-token-0123456789';

function hs256(payload: Record<string, unknown>): string {
  const enc = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');
  const input = `${enc({ alg: 'HS256', typ: 'JWT' })}.${enc(payload)}`;
  return `${input}.${createHmac('sha256', JWT_SECRET).update(input).digest('base64url')}`;
}

/** The quickstart's API (its OpenAPI document and demo API) behind every protection. */
function fullStack(itemsAuth: string, listeners = 'listeners: [{ port: 0 }]'): string {
  return `
version: 1
${listeners}
admin: { port: 0, token: ${ADMIN} }
auth:
  jwt:
    providers:
      main: { issuer: 'https://issuer.test', algorithms: [HS256], secret: '${JWT_SECRET}' }
apis:
  - id: demo
    spec: openapi.yaml
    upstream: demo
    auth_provider: main
    overrides:
      listItems:
        rate_limit: [{ name: burst, key: [ip], rate: 5/s, burst: 10 }]
${itemsAuth}
upstreams: { demo: { targets: [{ url: '{{UP}}' }] } }
routes: []
`;
}

async function fullStackGateway(itemsAuth: string, listeners?: string): Promise<{ gw: Awaited<ReturnType<typeof startGateway>>; close(): Promise<void> }> {
  const api = await demoApi();
  const dir = mkdtempSync(join(tmpdir(), 'pc-probe-'));
  copyFileSync(join(dirname(fileURLToPath(import.meta.url)), '../../../examples/quickstart/openapi.yaml'), join(dir, 'openapi.yaml'));
  const gw = await startGateway(fullStack(itemsAuth, listeners), { vars: { UP: api.url }, dir, adminHandlers: ABUSE_ADMIN_HANDLERS });
  return {
    gw,
    close: async () => {
      await gw.close();
      await api.close();
    },
  };
}

test('the probe passes every step and exits 0 against a real gateway with auth, validation, limits and the WAF', async (t) => {
  const { gw, close } = await fullStackGateway('');
  try {
    const token = hs256({ iss: 'https://issuer.test', sub: 'probe', exp: Math.floor(Date.now() / 1000) + 300 });
    const r = await probe([gw.url, '--admin', gw.adminUrl ?? '', '--admin-token', ADMIN, '--token', token]);
    t.diagnostic(r.out);
    assert.equal(r.code, 0, r.out);
  } finally {
    await close();
  }
});

test('against a real gateway whose config turns authentication off on the probed route, the probe fails that step and exits 1', async () => {
  const { gw, close } = await fullStackGateway('    defaults: { auth: none }');
  try {
    const token = hs256({ iss: 'https://issuer.test', sub: 'probe', exp: Math.floor(Date.now() / 1000) + 300 });
    const r = await probe([gw.url, '--admin', gw.adminUrl ?? '', '--admin-token', ADMIN, '--token', token]);
    assert.equal(r.code, 1, r.out);
    assert.match(row(r.out, 'call without a token'), /FAIL$/, r.out);
    assert.equal(r.out.split('\n').filter((l) => l.endsWith('FAIL')).length, 1, r.out);
  } finally {
    await close();
  }
});

test('without the admin token, the probe fails its admin steps against a gateway whose admin API needs one, and says how to pass it', async () => {
  const { gw, close } = await fullStackGateway('');
  const saved = process.env.PORTCULLIS_ADMIN_TOKEN;
  delete process.env.PORTCULLIS_ADMIN_TOKEN;
  try {
    const token = hs256({ iss: 'https://issuer.test', sub: 'probe', exp: Math.floor(Date.now() / 1000) + 300 });
    const r = await probe([gw.url, '--admin', gw.adminUrl ?? '', '--token', token, '--alert-wait-ms', '300']);
    assert.equal(r.code, 1, r.out);
    for (const step of ['refusals in the access trail', 'an alert was raised'])
      assert.match(row(r.out, step), /401: pass --admin-token or set PORTCULLIS_ADMIN_TOKEN +FAIL$/, r.out);
  } finally {
    if (saved !== undefined) process.env.PORTCULLIS_ADMIN_TOKEN = saved;
    await close();
  }
});

function mtlsListeners(clientAuth: 'required' | 'none'): string {
  const pki = testPki();
  return `listeners:
  - port: 0
  - name: mtls
    port: 0
    tls: { cert: '${pki.server.certPath}', key: '${pki.server.keyPath}', ca: '${pki.caBundlePath}', client_auth: ${clientAuth} }`;
}

test('on an mTLS listener the probe sees the handshake refused without a client certificate and a 2xx with one', async () => {
  const pki = testPki();
  for (const clientAuth of ['required', 'none'] as const) {
    const { gw, close } = await fullStackGateway('', mtlsListeners(clientAuth));
    try {
      const token = hs256({ iss: 'https://issuer.test', sub: 'probe', exp: Math.floor(Date.now() / 1000) + 300 });
      const c = pki.clients.valid;
      const r = await probe([
        gw.url,
        '--admin',
        gw.adminUrl ?? '',
        '--admin-token',
        ADMIN,
        '--token',
        token,
        '--mtls-url',
        `https://127.0.0.1:${gw.ports[1]}`,
        '--cert',
        c.certPath,
        '--key',
        c.keyPath,
        '--ca',
        pki.caBundlePath,
      ]);
      if (clientAuth === 'required') {
        assert.equal(r.code, 0, r.out);
        assert.match(row(r.out, 'mTLS: no client certificate'), /PASS$/, r.out);
        assert.match(row(r.out, 'mTLS: with client certificate'), /200 +PASS$/, r.out);
      } else {
        // a TLS listener that does not ask for certificates: the probe notices
        assert.equal(r.code, 1, r.out);
        assert.match(row(r.out, 'mTLS: no client certificate'), /FAIL$/, r.out);
      }
    } finally {
      await close();
    }
  }
});
