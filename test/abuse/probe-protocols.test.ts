/**
 * `portcullis probe` over HTTP/2 and WebSocket (issue 22 part 5): the protected route without a
 * token over HTTP/2 (ALPN h2 on https, h2c with --h2c), and a WebSocket handshake without a token
 * (401, never a 101), against real gateways that enforce them, one whose WebSocket route is open,
 * and a peer that answers HTTP/2 requests without checking anything.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { createHmac } from 'node:crypto';
import { probeCommand } from '../../src/cli/probe.js';
import { startGateway } from '../helpers/gateway.js';
import { demoApi } from '../helpers/quickstart.js';
import { testPki } from '../helpers/pki.js';

const SECRET = 'probe-protocols-secret-0123456789abcdefghijkl';
function hs256(payload: Record<string, unknown>): string {
  const enc = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');
  const input = `${enc({ alg: 'HS256', typ: 'JWT' })}.${enc(payload)}`;
  return `${input}.${createHmac('sha256', SECRET).update(input).digest('base64url')}`;
}
const token = (): string => hs256({ iss: 'https://issuer.test', sub: 'probe', exp: Math.floor(Date.now() / 1000) + 300 });

async function probe(args: string[]): Promise<{ code: number; out: string }> {
  const lines: string[] = [];
  const code = await probeCommand(
    [...args, '--max-burst', '20', '--alert-wait-ms', '200', '--no-dev-token'],
    (s) => lines.push(s),
    (s) => lines.push(s),
  );
  return { code, out: lines.join('\n') };
}

const row = (out: string, name: string): string => out.split('\n').find((l) => l.startsWith(name)) ?? '';

/** The quickstart's demo API (items and a WebSocket echo at /ws/echo). */

function config(listeners: string, wsAuth = ''): string {
  return `
version: 1
${listeners}
auth:
  jwt:
    providers:
      main: { issuer: 'https://issuer.test', algorithms: [HS256], secret: '${SECRET}' }
upstreams: { demo: { targets: [{ url: '{{UP}}' }] } }
routes:
  - { id: items, match: { prefix: /api/items }, upstream: demo }
  - id: echo
    match: { path: /ws/echo }
    upstream: demo
    websocket: {}
${wsAuth}
`;
}

test('on an https listener that offers h2 by ALPN, the probe gets 401 over HTTP/2 and 401 (no 101) for a WebSocket handshake without a token', async () => {
  const pki = testPki();
  const api = await demoApi();
  const gw = await startGateway(
    config(`listeners: [{ port: 0, protocols: [http/1.1, h2], tls: { cert: '${pki.server.certPath}', key: '${pki.server.keyPath}' } }]`),
    {
      vars: { UP: api.url },
    },
  );
  try {
    const r = await probe([gw.url, '--ca', pki.caBundlePath, '--token', token(), '--admin', gw.adminUrl ?? '']);
    assert.match(row(r.out, 'HTTP/2 call without a token'), /401 PC_ERR_AUTH_REQUIRED +PASS$/, r.out);
    assert.match(row(r.out, 'WebSocket without a token'), /401 PC_ERR_AUTH_REQUIRED +PASS$/, r.out);
    // the refusals over both protocols are in the access trail with the others
    assert.match(row(r.out, 'refusals in the access trail'), /PASS$/, r.out);
  } finally {
    await gw.close();
    await api.close();
  }
});

test('on an h2c listener the probe asks over HTTP/2 only with --h2c, and skips the WebSocket step (no HTTP/1.1 there)', async () => {
  const api = await demoApi();
  const gw = await startGateway(config('listeners: [{ port: 0, protocols: [h2] }]'), { vars: { UP: api.url } });
  try {
    const without = await probe([gw.url, '--token', token(), '--admin', gw.adminUrl ?? '']);
    assert.match(row(without.out, 'HTTP/2 call without a token'), /not run \(http target\) +SKIP$/, without.out);
    const r = await probe([gw.url, '--h2c', '--token', token(), '--admin', gw.adminUrl ?? '']);
    assert.match(row(r.out, 'HTTP/2 call without a token'), /401 PC_ERR_AUTH_REQUIRED +PASS$/, r.out);
    assert.match(row(r.out, 'WebSocket without a token'), /not offered \(error HPE_INVALID_CONSTANT\) +SKIP$/, r.out);
  } finally {
    await gw.close();
    await api.close();
  }
});

test('a gateway whose WebSocket route opens without a token fails the WebSocket step (101) and the probe exits 1', async () => {
  const api = await demoApi();
  const gw = await startGateway(config('listeners: [{ port: 0 }]', '    auth: none\n    public: true'), { vars: { UP: api.url } });
  try {
    const r = await probe([gw.url, '--token', token(), '--admin', gw.adminUrl ?? '']);
    assert.equal(r.code, 1, r.out);
    assert.match(row(r.out, 'WebSocket without a token'), /101 Switching Protocols +FAIL$/, r.out);
    assert.match(row(r.out, 'call without a token'), /401 .*PASS$/, r.out);
  } finally {
    await gw.close();
    await api.close();
  }
});

test('a route without WebSocket is skipped, not failed', async () => {
  const api = await demoApi();
  const gw = await startGateway(config('listeners: [{ port: 0 }]'), { vars: { UP: api.url } });
  try {
    const r = await probe([gw.url, '--token', token(), '--admin', gw.adminUrl ?? '', '--ws-route', '/api/items']);
    assert.match(row(r.out, 'WebSocket without a token'), /not offered \(400 PC_ERR_UPGRADE_NOT_ALLOWED\) +SKIP$/, r.out);
  } finally {
    await gw.close();
    await api.close();
  }
});

test('a peer that answers HTTP/2 requests without a token with 200 fails the HTTP/2 step', async () => {
  const server = http2.createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('[]'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on('session', (s) => sessions.add(s));
  try {
    const port = (server.address() as AddressInfo).port;
    const r = await probe([`http://127.0.0.1:${port}`, '--h2c', '--admin', 'http://127.0.0.1:1']);
    assert.equal(r.code, 1, r.out);
    assert.match(row(r.out, 'HTTP/2 call without a token'), /200 +FAIL$/, r.out);
  } finally {
    for (const s of sessions) s.destroy();
    await new Promise((r) => server.close(r));
  }
});
