/**
 * HTTP/2 listeners: TLS with ALPN (h2 and http/1.1 on one port), cleartext h2c with prior
 * knowledge, the RFC 9113 refusals (raw frames, since node:http2's client refuses to send them),
 * and the request the upstream receives over HTTP/1.1.
 */
import { test, after, before } from 'node:test';
import { strict as assert } from 'node:assert';
import * as http2 from 'node:http2';
import * as tls from 'node:tls';
import { startGateway, waitForLogLines, type TestGateway } from '../helpers/gateway.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { testPki } from '../helpers/pki.js';
import { sendRequest } from '../helpers/protocol.js';
import { FLAG, FRAME, frame, headerBlock, rawH2Connect, type RawH2 } from '../helpers/h2-raw.js';

const pki = testPki();
let up: TestUpstream;
let tlsGw: TestGateway;
let h2cGw: TestGateway;
let h1Gw: TestGateway;

const config = (listeners: string): string => `
version: 1
listeners:
${listeners}
upstreams:
  api:
    targets: [{ url: "{{UP}}" }]
routes:
  - id: items
    match: { path: /items, methods: [GET, POST] }
    upstream: api
`;

before(async () => {
  up = await startUpstream();
  const vars = { UP: up.url };
  tlsGw = await startGateway(
    config(`  - port: 0
    protocols: [http/1.1, h2]
    tls: { cert: ${pki.server.certPath}, key: ${pki.server.keyPath} }`),
    { vars, modules: [] },
  );
  h2cGw = await startGateway(config('  - port: 0\n    protocols: [h2]'), { vars, modules: [] });
  h1Gw = await startGateway(config('  - port: 0\n    protocols: [http/1.1]'), { vars, modules: [] });
});

after(async () => {
  await Promise.all([tlsGw?.close(), h2cGw?.close(), h1Gw?.close()]);
  await up?.close();
});

const base = (authority: string, scheme = 'https'): [string, string][] => [
  [':method', 'GET'],
  [':scheme', scheme],
  [':path', '/items'],
  [':authority', authority],
];

async function raw(gw: 'tls' | 'h2c', fields: [string, string][], body?: Buffer): Promise<{ status: number | null; reset: number | null; body: string }> {
  const c: RawH2 = await rawH2Connect(gw === 'tls' ? { port: tlsGw.port, tls: { ca: pki.caBundle } } : { port: h2cGw.port });
  try {
    c.request(1, fields, body);
    const o = await c.outcome(1);
    return { status: o.status, reset: o.reset, body: o.body.toString('utf8') };
  } finally {
    c.close();
  }
}

test('a TLS listener with [http/1.1, h2] serves HTTP/2 to an ALPN h2 client and the upstream gets HTTP/1.1 without pseudo-headers', async () => {
  const before = up.count();
  const r = await sendRequest(`${tlsGw.url}/items?a=1`, { protocol: 'h2', headers: { 'x-test': 'yes' } });
  assert.equal(r.status, 200);
  assert.equal(r.httpVersion, '2.0');
  assert.equal(up.count(), before + 1);
  const seen = up.seen.at(-1);
  assert.equal(seen?.url, '/items?a=1');
  assert.equal(seen?.headers['x-test'], 'yes');
  assert.equal(seen?.headers['x-forwarded-proto'], 'https');
  assert.equal(seen?.headers['x-forwarded-host'], '127.0.0.1');
  assert.ok(Object.keys(seen?.headers ?? {}).every((k) => !k.startsWith(':')));
  assert.equal(r.headers.connection, undefined);
  assert.equal(typeof r.headers['x-request-id'], 'string');
});

test('the same TLS port falls back to HTTP/1.1 for a client that offers only http/1.1, with the HTTP/1.1 limits', async () => {
  const r = await sendRequest(`${tlsGw.url}/items`, { protocol: 'http1' });
  assert.equal(r.status, 200);
  assert.equal(r.httpVersion, '1.1');
  // node:http's parser on the fallback keeps requireHostHeader: an HTTP/1.1 request without Host is refused
  const socket = tls.connect({ host: '127.0.0.1', port: tlsGw.port, ca: pki.caBundle, servername: 'localhost', ALPNProtocols: ['http/1.1'] });
  const reply = await new Promise<string>((resolve) => {
    let out = '';
    socket.on('secureConnect', () => socket.write('GET /items HTTP/1.1\r\n\r\n'));
    socket.on('data', (d) => (out += d.toString('latin1')));
    socket.on('close', () => resolve(out));
    socket.on('error', () => resolve(out));
    setTimeout(() => socket.destroy(), 2000).unref();
  });
  assert.equal(socket.alpnProtocol, 'http/1.1');
  assert.match(reply, /^HTTP\/1\.1 400 /);
});

test('a cleartext listener with [h2] serves h2c with prior knowledge; the default listener stays HTTP/1.1 only', async () => {
  const r = await sendRequest(`${h2cGw.url}/items`, { protocol: 'h2c' });
  assert.equal(r.status, 200);
  assert.equal(r.httpVersion, '2.0');
  const h1 = await sendRequest(`${h1Gw.url}/items`, { protocol: 'http1' });
  assert.equal(h1.status, 200);
  await assert.rejects(sendRequest(`${h1Gw.url}/items`, { protocol: 'h2c' }));
});

test('a cleartext listener cannot offer both http/1.1 and h2 (no ALPN to choose)', async () => {
  await assert.rejects(startGateway(config('  - port: 0\n    protocols: [http/1.1, h2]'), { vars: { UP: up.url }, modules: [] }), /protocols/);
});

test('a request body over HTTP/2 without content-length reaches the upstream whole, with its length', async () => {
  const body = Buffer.from(JSON.stringify({ a: 'x'.repeat(5000) }));
  const c = await rawH2Connect({ port: tlsGw.port, tls: { ca: pki.caBundle } });
  try {
    const fields: [string, string][] = [[':method', 'POST'], ...base('127.0.0.1').slice(1), ['content-type', 'application/json']];
    c.request(1, fields, body);
    const o = await c.outcome(1);
    assert.equal(o.status, 200);
  } finally {
    c.close();
  }
  const seen = up.seen.at(-1);
  assert.equal(seen?.method, 'POST');
  assert.equal(seen?.body.length, body.length);
  assert.equal(seen?.headers['content-length'], String(body.length));
  assert.equal(seen?.headers['transfer-encoding'], undefined);
});

for (const [name, field] of [
  ['connection', ['connection', 'close']],
  ['keep-alive', ['keep-alive', 'timeout=5']],
  ['proxy-connection', ['proxy-connection', 'keep-alive']],
  ['transfer-encoding', ['transfer-encoding', 'chunked']],
  ['upgrade', ['upgrade', 'websocket']],
  ['te other than trailers', ['te', 'gzip']],
] as const) {
  test(`a request with the connection-specific field ${name} is reset with PROTOCOL_ERROR and never forwarded (RFC 9113 8.2.2)`, async () => {
    const before = up.count();
    for (const gw of ['tls', 'h2c'] as const) {
      const o = await raw(gw, [...base('127.0.0.1', gw === 'tls' ? 'https' : 'http'), [field[0], field[1]]]);
      assert.equal(o.status, null);
      assert.equal(o.reset, 1);
    }
    assert.equal(up.count(), before);
  });
}

test('te: trailers is accepted over HTTP/2', async () => {
  const o = await raw('tls', [...base('127.0.0.1'), ['te', 'trailers']]);
  assert.equal(o.status, 200);
});

for (const [name, fields] of [
  ['no :path', base('127.0.0.1').filter(([k]) => k !== ':path')],
  ['no :method', base('127.0.0.1').filter(([k]) => k !== ':method')],
  ['two :path', [...base('127.0.0.1'), [':path', '/other']]],
  ['an unknown pseudo-header', [...base('127.0.0.1'), [':foo', 'x']]],
  [
    'a pseudo-header after a regular field',
    [
      [':method', 'GET'],
      [':scheme', 'https'],
      ['x-a', '1'],
      [':path', '/items'],
      [':authority', '127.0.0.1'],
    ],
  ],
  [
    'an absolute :path',
    [
      [':method', 'GET'],
      [':scheme', 'https'],
      [':path', 'https://127.0.0.1/items'],
      [':authority', '127.0.0.1'],
    ],
  ],
  ['an upper-case field name', [...base('127.0.0.1'), ['X-Upper', '1']]],
] as [string, [string, string][]][]) {
  test(`a request with ${name} is reset with PROTOCOL_ERROR and never forwarded`, async () => {
    const before = up.count();
    const o = await raw('tls', fields);
    assert.equal(o.reset, 1);
    assert.equal(o.status, null);
    assert.equal(up.count(), before);
  });
}

for (const [name, fields, reason] of [
  ['a host that differs from :authority', [...base('127.0.0.1'), ['host', 'evil.test']], 'host and :authority differ'],
  ['userinfo in :authority', base('user:pw@127.0.0.1'), 'userinfo'],
  ["a :scheme that is not the listener's", base('127.0.0.1', 'http'), ':scheme'],
  [
    'an asterisk :path',
    [
      [':method', 'OPTIONS'],
      [':scheme', 'https'],
      [':path', '*'],
      [':authority', '127.0.0.1'],
    ],
    'origin form',
  ],
  ['two content-type fields', [...base('127.0.0.1'), ['content-type', 'application/json'], ['content-type', 'text/plain']], 'content-type'],
] as [string, [string, string][], string][]) {
  test(`a request with ${name} gets 400 problem+json PC_ERR_PROTOCOL and is never forwarded`, async () => {
    const before = up.count();
    const o = await raw('tls', fields);
    assert.equal(o.status, 400);
    const problem = JSON.parse(o.body) as Record<string, unknown>;
    assert.equal(problem.code, 'PC_ERR_PROTOCOL');
    assert.equal(up.count(), before);
    const has = (l: Record<string, unknown>): boolean => String((l.decision as { reason?: unknown } | undefined)?.reason).includes(reason);
    const lines = await waitForLogLines(tlsGw, has);
    assert.ok(lines.some(has), `no access-log line with reason ${reason}`);
  });
}

test('CONNECT over HTTP/2 is refused and never forwarded', async () => {
  const before = up.count();
  const o = await raw('tls', [
    [':method', 'CONNECT'],
    [':authority', '127.0.0.1:443'],
  ]);
  assert.ok(o.status === 405 || o.status === 400 || o.reset !== null, `got ${JSON.stringify(o)}`);
  assert.equal(up.count(), before);
});

test('the access log records HTTP/2 requests with their route and status', async () => {
  const r = await sendRequest(`${tlsGw.url}/items`, { protocol: 'h2' });
  const id = r.headers['x-request-id'];
  const lines = await waitForLogLines(tlsGw, (l) => l.request_id === id);
  const line = lines.find((l) => l.request_id === id);
  assert.equal(line?.status, 200);
  assert.equal(line?.route_id, 'items');
  assert.equal(line?.path, '/items');
  // the echo upstream's JSON body, counted on this stream alone
  assert.ok(typeof line?.bytes_out === 'number' && line.bytes_out > 100 && line.bytes_out < 2000, `bytes_out ${String(line?.bytes_out)}`);
});

test('a TLS listener with [h2] only answers an HTTP/1.1 client with 400 PC_ERR_PROTOCOL and serves h2', async () => {
  const gw = await startGateway(
    config(`  - port: 0
    protocols: [h2]
    tls: { cert: ${pki.server.certPath}, key: ${pki.server.keyPath} }`),
    { vars: { UP: up.url }, modules: [] },
  );
  try {
    const h1 = await sendRequest(`${gw.url}/items`, { protocol: 'http1' });
    assert.equal(h1.status, 400);
    assert.equal(h1.json().code, 'PC_ERR_PROTOCOL');
    assert.equal((await sendRequest(`${gw.url}/items`, { protocol: 'h2' })).status, 200);
  } finally {
    await gw.close();
  }
});

test('on shutdown every HTTP/2 connection gets GOAWAY, and a stream in flight still gets its response', async () => {
  const slow = await startUpstream((_req, res) => setTimeout(() => res.end('late'), 300));
  const gw = await startGateway(config('  - port: 0\n    protocols: [h2]'), { vars: { UP: slow.url }, modules: [] });
  const session = http2.connect(gw.url);
  try {
    const goaway = new Promise<number>((resolve) => session.once('goaway', (code: number) => resolve(code)));
    const stream = session.request({ ':path': '/items' });
    const reply = new Promise<{ status: number; body: string }>((resolve, reject) => {
      let status = 0;
      let body = '';
      stream.on('response', (h) => (status = Number(h[':status'])));
      stream.on('data', (c: Buffer) => (body += c.toString('utf8')));
      stream.on('end', () => resolve({ status, body }));
      stream.on('error', reject);
    });
    // the upstream holds the response: the stream is in flight when the gateway stops
    while (slow.count() === 0) await new Promise((r) => setTimeout(r, 10));
    const closing = gw.close(5000);
    assert.equal(await goaway, http2.constants.NGHTTP2_NO_ERROR);
    assert.deepEqual(await reply, { status: 200, body: 'late' });
    await closing;
  } finally {
    session.destroy();
    await slow.close();
  }
});

test('an HTTP/2 request whose body does not arrive within request_timeout_ms gets 408 and its stream is closed; a GET waiting on a slow upstream is not cut', async () => {
  const slow = await startUpstream((_req, res) => setTimeout(() => res.end('late'), 600));
  const gw = await startGateway(config('  - port: 0\n    protocols: [h2]\n    request_timeout_ms: 300'), { vars: { UP: slow.url }, modules: [] });
  const c = await rawH2Connect({ port: gw.port });
  try {
    // HEADERS without END_STREAM, then nothing: the body never comes
    c.write(
      frame(
        FRAME.HEADERS,
        FLAG.END_HEADERS,
        1,
        headerBlock([
          [':method', 'POST'],
          [':scheme', 'http'],
          [':path', '/items'],
          [':authority', '127.0.0.1'],
          ['content-type', 'application/json'],
        ]),
      ),
    );
    const o = await c.outcome(1, 5000);
    assert.equal(o.status, 408);
    assert.equal((JSON.parse(o.body.toString('utf8')) as { code: string }).code, 'PC_ERR_REQUEST_TIMEOUT');
    assert.equal(slow.count(), 0);
    // the GET's request ended with its HEADERS: only the response is slow, and it is served
    const r = await sendRequest(`${gw.url}/items`, { protocol: 'h2c' });
    assert.equal(r.status, 200);
    assert.equal(r.text(), 'late');
  } finally {
    c.close();
    await gw.close();
    await slow.close();
  }
});
