import { test, before, after } from 'node:test';
// Core behaviour, with no security stages loaded (modules: []): stages have their own tests.
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { request } from 'undici';
import { startGateway, waitForLogLines, type TestGateway } from '../helpers/gateway.js';
import { rawExchange } from '../helpers/net.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';

let up: TestUpstream;
let gw: TestGateway;

before(async () => {
  up = await startUpstream((req, res, body) => {
    const text = JSON.stringify({ url: req.url, headers: req.headers, bodyBytes: body.length });
    res.writeHead(200, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(text),
      connection: 'keep-alive, x-upstream-private',
      'x-upstream-private': 'secret-hop',
      'keep-alive': 'timeout=60',
      'proxy-authenticate': 'Basic',
    });
    res.end(text);
  });
  gw = await startGateway(
    `
version: 1
listeners: [{ port: 0, headers_timeout_ms: 300, request_timeout_ms: 2000 }]
trusted_proxies: [10.0.0.0/8]
limits: { max_body_bytes: 1024, dot_segments: resolve }
upstreams:
  u: { targets: [{ url: "{{UP}}" }] }
routes:
  - { id: any, match: { prefix: /api }, upstream: u }
  - { id: admin, match: { prefix: /admin }, upstream: u }
  - { id: big, match: { prefix: /upload }, upstream: u, max_body_bytes: 4096 }
`,
    { modules: [], vars: { UP: up.url } },
  );
});

after(async () => {
  await gw.close();
  await up.close();
});

const raw = (port: number, data: string | Buffer, waitMs = 3000): Promise<string> => rawExchange(port, data, waitMs);

function statusOf(rawResponse: string): number {
  return Number(/^HTTP\/1\.1 (\d{3})/.exec(rawResponse)?.[1] ?? 0);
}

test('hop-by-hop headers and headers named in Connection are stripped both ways', async () => {
  const res = await raw(
    gw.port,
    'GET /api/h HTTP/1.1\r\nHost: x\r\nConnection: keep-alive, x-client-private\r\nX-Client-Private: a\r\nProxy-Authorization: Basic eA==\r\nTE: trailers\r\nX-Kept: 1\r\n\r\n',
    1000,
  );
  assert.equal(statusOf(res), 200);
  const [head, text] = res.split('\r\n\r\n') as [string, string];
  const body = JSON.parse(text) as { headers: Record<string, string> };
  assert.equal(body.headers['x-client-private'], undefined);
  assert.equal(body.headers['proxy-authorization'], undefined);
  assert.equal(body.headers.te, undefined);
  assert.equal(body.headers['x-kept'], '1');
  assert.doesNotMatch(head, /x-upstream-private/i);
  assert.doesNotMatch(head, /proxy-authenticate/i);
  assert.doesNotMatch(head, /timeout=60/);
});

test('X-Forwarded-For from an untrusted peer is replaced, and identity headers from the client never reach the upstream', async () => {
  const r = await request(`${gw.url}/api/xff`, {
    headers: {
      'x-forwarded-for': '6.6.6.6',
      forwarded: 'for=6.6.6.6',
      'x-consumer-id': 'admin',
      'x-tenant-id': 't1',
      'x-portcullis-anything': '1',
      'x-request-id': 'spoofed-id',
    },
  });
  const body = (await r.body.json()) as { headers: Record<string, string> };
  assert.equal(body.headers['x-forwarded-for'], '127.0.0.1');
  assert.equal(body.headers.forwarded, 'for=127.0.0.1;proto=http;host="127.0.0.1"');
  assert.equal(body.headers['x-forwarded-proto'], 'http');
  assert.equal(body.headers.host, `127.0.0.1:${up.port}`, 'the upstream sees its own host (preserve_host is off)');
  assert.equal(body.headers['x-forwarded-host'], '127.0.0.1', 'and the client-facing host in X-Forwarded-Host');
  assert.equal(body.headers['x-consumer-id'], undefined);
  assert.equal(body.headers['x-tenant-id'], undefined);
  assert.equal(body.headers['x-portcullis-anything'], undefined);
  assert.notEqual(body.headers['x-request-id'], 'spoofed-id', 'request ids are accepted only from trusted peers');
  assert.equal(body.headers['x-request-id'], r.headers['x-request-id']);
  const lines = await waitForLogLines(gw, (l) => l.request_id === r.headers['x-request-id']);
  const line = lines.find((l) => l.request_id === r.headers['x-request-id']);
  assert.equal(line?.client_ip, '127.0.0.1');
});

test('X-Forwarded-For is believed from a trusted proxy, and the upstream gets the client it resolved', async () => {
  const tg = await startGateway(
    `
version: 1
listeners: [{ port: 0 }]
trusted_proxies: [127.0.0.1/32, 10.0.0.0/8]
upstreams:
  u: { targets: [{ url: "{{UP}}" }] }
routes: [{ id: any, match: { prefix: / }, upstream: u }]
`,
    { modules: [], vars: { UP: up.url } },
  );
  try {
    const r = await request(`${tg.url}/x`, { headers: { 'x-forwarded-for': '203.0.113.9, 10.1.2.3', 'x-request-id': 'edge-42' } });
    const body = (await r.body.json()) as { headers: Record<string, string> };
    assert.equal(body.headers['x-forwarded-for'], '203.0.113.9');
    assert.equal(body.headers.forwarded, 'for=203.0.113.9;proto=http;host="127.0.0.1"');
    assert.equal(body.headers['x-request-id'], 'edge-42');
    const lines = await waitForLogLines(tg, (l) => l.request_id === 'edge-42');
    assert.equal(lines.find((l) => l.request_id === 'edge-42')?.client_ip, '203.0.113.9');
  } finally {
    await tg.close();
  }
});

test('a request-id header configured in mixed case is read, forwarded and returned', async () => {
  const tg = await startGateway(
    `
version: 1
listeners: [{ port: 0 }]
trusted_proxies: [127.0.0.1/32]
request_id: { header: X-Correlation-ID }
upstreams:
  u: { targets: [{ url: "{{UP}}" }] }
routes: [{ id: any, match: { prefix: / }, upstream: u }]
`,
    { modules: [], vars: { UP: up.url } },
  );
  try {
    const r = await request(`${tg.url}/x`, { headers: { 'x-correlation-id': 'edge-77' } });
    const body = (await r.body.json()) as { headers: Record<string, string> };
    assert.equal(body.headers['x-correlation-id'], 'edge-77');
    assert.equal(r.headers['x-correlation-id'], 'edge-77');
    const fresh = await request(`${tg.url}/x`);
    const b2 = (await fresh.body.json()) as { headers: Record<string, string> };
    assert.match(String(fresh.headers['x-correlation-id']), /^[0-9a-f-]{36}$/);
    assert.equal(b2.headers['x-correlation-id'], fresh.headers['x-correlation-id']);
  } finally {
    await tg.close();
  }
});

test('by default a dot-dot segment, raw or encoded, is refused with 403 before routing', async () => {
  const tg = await startGateway(
    `
version: 1
listeners: [{ port: 0 }]
upstreams:
  u: { targets: [{ url: "{{UP}}" }] }
routes: [{ id: any, match: { prefix: / }, upstream: u }]
`,
    { modules: [], vars: { UP: up.url } },
  );
  try {
    const before = up.count();
    for (const target of ['/api/../etc/passwd', '/a/%2e%2e/b', '/a/.%2E/b', '/a/b/..', '/../../x']) {
      const res = await raw(tg.port, `GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`, 2000);
      assert.equal(statusOf(res), 403, target);
      assert.match(res, /PC_ERR_PATH_TRAVERSAL/);
    }
    const single = await raw(tg.port, 'GET /a/./b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', 2000);
    assert.equal(statusOf(single), 200, 'single-dot segments are resolved, not refused');
    assert.equal(up.count(), before + 1);
  } finally {
    await tg.close();
  }
});

test('a body over the limit gets 413 and the upstream sees no request (declared length and chunked)', async () => {
  const before = up.count();
  const r1 = await request(`${gw.url}/api/b`, { method: 'POST', body: 'x'.repeat(2000), headers: { 'content-type': 'text/plain' } });
  assert.equal(r1.statusCode, 413);
  assert.equal(((await r1.body.json()) as { code: string }).code, 'PC_ERR_BODY_TOO_LARGE');
  const chunked = await raw(
    gw.port,
    `POST /api/c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n${`400\r\n${'y'.repeat(1024)}\r\n`}${`400\r\n${'y'.repeat(1024)}\r\n`}0\r\n\r\n`,
    1000,
  );
  assert.equal(statusOf(chunked), 413);
  const ok = await request(`${gw.url}/upload/b`, { method: 'POST', body: 'x'.repeat(2000) });
  assert.equal(ok.statusCode, 200, 'a route may raise the limit');
  await ok.body.dump();
  assert.equal(up.count(), before + 1);
});

test('a client that sends headers slowly is disconnected by the headers timeout', async () => {
  const started = Date.now();
  const out = await new Promise<{ data: string; closed: boolean }>((resolve) => {
    const s = net.connect(gw.port, '127.0.0.1');
    let data = '';
    s.on('data', (d) => (data += d.toString()));
    s.write('GET /api/slow HTTP/1.1\r\nHost: x\r\n');
    const drip = setInterval(() => s.write('X-Drip: 1\r\n'), 100);
    s.on('close', () => {
      clearInterval(drip);
      resolve({ data, closed: true });
    });
    setTimeout(() => {
      clearInterval(drip);
      s.destroy();
      resolve({ data, closed: false });
    }, 5000).unref();
  });
  assert.ok(out.closed, 'the gateway closed the connection');
  assert.ok(Date.now() - started < 4000);
  assert.equal(statusOf(out.data), 408);
});

test('requests that smuggle or carry ambiguous framing are refused', async () => {
  const both = await raw(gw.port, 'POST /api/s HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', 1000);
  assert.equal(statusOf(both), 400);
  const dupCl = await raw(gw.port, 'POST /api/s HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd', 1000);
  assert.equal(statusOf(dupCl), 400);
  const fold = await raw(gw.port, 'GET /api/s HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n  folded\r\n\r\n', 1000);
  assert.equal(statusOf(fold), 400);
  const absolute = await raw(gw.port, 'GET http://evil.example/api/s HTTP/1.1\r\nHost: x\r\n\r\n', 1000);
  assert.equal(statusOf(absolute), 400);
});

test('CONNECT gets a 405 problem reply and no tunnel (node:http alone drops the connection silently)', async () => {
  const before = up.seen.length;
  const r = await raw(gw.port, 'CONNECT 127.0.0.1:22 HTTP/1.1\r\nHost: 127.0.0.1:22\r\n\r\n', 1000);
  assert.equal(statusOf(r), 405);
  assert.match(r, /"code":"PC_ERR_METHOD_NOT_ALLOWED"/);
  assert.equal(up.seen.length, before);
});

test('headers larger than the limit get 431', async () => {
  const r = await raw(gw.port, `GET /api/x HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20000)}\r\n\r\n`, 1000);
  assert.equal(statusOf(r), 431);
});

test('a URL longer than the limit gets 414', async () => {
  const r = await request(`${gw.url}/api/${'a'.repeat(9000)}`);
  assert.equal(r.statusCode, 414);
  await r.body.dump();
});

// Each trick: what the raw target is, and where it may end up. `null`: refused with 400.
const TRICKS: [string, string | null | 'injection'][] = [
  ['/api/a/%2e%2e/b', '/api/b'],
  ['/api/a/%2E%2E/%2E%2E/admin', '/admin'],
  ['/api/a/..%2fadmin', null],
  ['/api/a/..%2Fadmin', null],
  ['/api/%252e%252e/admin', null],
  ['/api/%25252e/admin', null],
  ['//admin', '/admin'],
  ['/api//a///b', '/api/a/b'],
  ['/api/./a/./b', '/api/a/b'],
  ['/api/a/../../admin', '/admin'],
  ['/api/a%00.json', null],
  ['/api/%c0%ae%c0%ae/admin', null],
  ['/api/%e0%80%ae/admin', null],
  ['/api/%ff', null],
  ['/api/a\\..\\admin', null],
  ['/api/a%5c..%5cadmin', null],
  ['/api/a%5C..%5Cadmin', null],
  ['/api/%61%64%6d%69%6e', '/api/admin'],
  ['/api/a/%2e/b', '/api/a/b'],
  ['/api/a%0d%0aSet-Cookie:%20x', 'injection'],
  ['/api/a/.%2e/.%2e/admin', '/admin'],
  ['/api/%u002e%u002e/admin', null],
];

test('20+ path-encoding tricks are normalised or refused and never reach a route they should not', async () => {
  for (const [target, expected] of TRICKS) {
    const before = up.seen.length;
    const res = await raw(gw.port, `GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`, 2000);
    const status = statusOf(res);
    if (expected === 'injection') {
      assert.equal(status, 403, `${target} is an injection attempt, got ${status}`);
      assert.match(res, /PC_ERR_PATH_INJECTION/);
      assert.equal(up.seen.length, before);
    } else if (expected === null) {
      assert.equal(status, 400, `${target} must be refused, got ${status}`);
      assert.equal(up.seen.length, before, `${target} must not reach the upstream`);
    } else {
      assert.equal(status, 200, `${target} should be served as ${expected}, got ${status}`);
      const seen = up.seen.at(-1)!;
      assert.equal(seen.url, expected, `${target} reached the upstream as ${seen.url}`);
    }
  }
  const logs = await waitForLogLines(gw, (l) => l.path === '/admin' && l.route_id === 'admin');
  assert.ok(
    logs.some((l) => l.path === '/admin' && l.route_id === 'admin'),
    'normalised paths are routed by their canonical form',
  );
});

test('access-log lines carry every documented field and never an Authorization, Cookie or API-key value', async () => {
  const r = await request(`${gw.url}/api/log?token=abc123&page=2`, {
    headers: { authorization: 'Bearer SECRET-TOKEN-VALUE', cookie: 'session=SECRET-COOKIE', 'x-api-key': 'SECRET-API-KEY' },
  });
  await r.body.dump();
  const id = r.headers['x-request-id'];
  const lines = await waitForLogLines(gw, (l) => l.request_id === id);
  const line = lines.find((l) => l.request_id === id);
  assert.ok(line, 'a line for the request');
  for (const k of [
    'time',
    'request_id',
    'client_ip',
    'method',
    'host',
    'path',
    'route_id',
    'status',
    'bytes_in',
    'bytes_out',
    'latency_ms',
    'upstream',
    'upstream_latency_ms',
    'consumer',
    'tenant',
    'decision',
  ]) {
    assert.ok(k in line, `field ${k}`);
  }
  assert.equal(line.path, '/api/log?token=[REDACTED]&page=2');
  assert.equal(line.decision, 'allowed');
  assert.equal(line.route_id, 'any');
  assert.equal(line.upstream, up.url);
  const all = JSON.stringify(lines);
  assert.doesNotMatch(all, /SECRET-TOKEN-VALUE|SECRET-COOKIE|SECRET-API-KEY|abc123/);
  const denied = lines.find((l) => l.status === 413);
  assert.deepEqual(denied?.decision, { stage: 'intake', code: 'PC_ERR_BODY_TOO_LARGE', reason: null });
});
