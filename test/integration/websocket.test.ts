/**
 * Issue 22 part 3: WebSocket through the gateway, with the `ws` package as the client and as the
 * upstream (real listeners on loopback). The handshake passes every request stage before the
 * upstream is asked and before any 101; per-connection limits (message size, rate, idle time,
 * credential expiry) close with the RFC 6455 codes; open connections count toward concurrency
 * limits; one access-log line per connection, with query-string tokens redacted.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as http from 'node:http';
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { WebSocket, WebSocketServer } from 'ws';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { jwt, nowS } from '../auth/support.js';

const SECRET = randomBytes(32).toString('base64url');
const ISS = 'https://issuer.test';
const token = (claims: Record<string, unknown> = {}): string =>
  jwt({ alg: 'HS256', typ: 'JWT' }, { iss: ISS, sub: 'alice', iat: nowS(), exp: nowS() + 300, ...claims }, Buffer.from(SECRET));

interface WsUpstream {
  readonly url: string;
  /** handshakes the upstream received (accepted or not) */
  readonly upgrades: http.IncomingHttpHeaders[];
  readonly paths: string[];
  /** close codes the upstream received, by path */
  readonly closes: Map<string, number>;
  close(): Promise<void>;
}

/** A real ws upstream: echoes `echo:<msg>`; `/ws/close4000` closes with 4000 on the first message; `/ws/deny` answers 403. */
async function startWsUpstream(): Promise<WsUpstream> {
  const upgrades: http.IncomingHttpHeaders[] = [];
  const paths: string[] = [];
  const closes = new Map<string, number>();
  const server = http.createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/plain' }).end('plain'));
  const wss = new WebSocketServer({ noServer: true, handleProtocols: (offered) => (offered.has('chat.v1') ? 'chat.v1' : false) });
  server.on('upgrade', (req, socket, head) => {
    upgrades.push(req.headers);
    paths.push(req.url ?? '');
    if (req.url?.startsWith('/ws/deny')) {
      socket.end('HTTP/1.1 403 Forbidden\r\ncontent-type: text/plain\r\ncontent-length: 6\r\nx-upstream: yes\r\n\r\ndenied');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      ws.send('welcome');
      ws.on('close', (code) => closes.set(req.url ?? '', code));
      ws.on('message', (data, isBinary) => {
        if (req.url?.startsWith('/ws/close4000')) return void ws.close(4000, 'bye');
        ws.send(isBinary ? data : `echo:${data.toString()}`, { binary: isBinary });
      });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    upgrades,
    paths,
    closes,
    close: () =>
      new Promise<void>((r) => {
        for (const c of wss.clients) c.terminate();
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

interface Opened {
  readonly ws: WebSocket;
  readonly first: string;
  readonly res: http.IncomingMessage;
}

/** Opens a client; resolves with the socket, its upgrade response and the upstream's welcome message. */
function open(url: string, opts: { token?: string; origin?: string; protocols?: string[]; host?: string } = {}): Promise<Opened> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = {};
    if (opts.host !== undefined) headers.host = opts.host;
    if (opts.token !== undefined) headers.authorization = `Bearer ${opts.token}`;
    const ws = new WebSocket(url, opts.protocols ?? [], { headers, ...(opts.origin !== undefined ? { origin: opts.origin } : {}) });
    let res: http.IncomingMessage | null = null;
    ws.once('upgrade', (r) => {
      res = r;
    });
    ws.once('message', (d) => resolve({ ws, first: d.toString(), res: res as unknown as http.IncomingMessage }));
    ws.once('unexpected-response', (_req, r) => {
      let body = '';
      r.on('data', (c: Buffer) => (body += c.toString()));
      r.on('end', () => reject(Object.assign(new Error(`status ${r.statusCode}`), { status: r.statusCode, body, headers: r.headers })));
    });
    ws.once('error', reject);
  });
}

type Refused = Error & { status: number; body: string; headers: http.IncomingHttpHeaders };
async function refused(p: Promise<Opened>): Promise<Refused> {
  try {
    const o = await p;
    o.ws.terminate();
  } catch (e) {
    return e as Refused;
  }
  assert.fail('the handshake was accepted');
}

function closed(ws: WebSocket): Promise<{ code: number; at: number }> {
  return new Promise((resolve) => ws.once('close', (code) => resolve({ code, at: Date.now() })));
}

function nextMessage(ws: WebSocket): Promise<string> {
  return new Promise((resolve) => ws.once('message', (d) => resolve(d.toString())));
}

async function waitFor<T>(fn: () => T | undefined, ms = 3000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('WebSocket through the gateway', () => {
  let up: WsUpstream;
  let gw: TestGateway;
  let base: string;

  before(async () => {
    up = await startWsUpstream();
    gw = await startGateway(
      `
version: 1
listeners: [{ port: 0 }]
upstreams:
  up: { targets: [{ url: "{{UP}}" }] }
auth:
  jwt:
    providers:
      main: { issuer: "${ISS}", algorithms: [HS256], secret: "${SECRET}" }
    query_enabled: true
waf: { mode: enforce }
routes:
  - id: ws
    match: { prefix: /ws }
    upstream: up
    websocket: { max_message_bytes: 1024, max_messages_per_second: 5, message_burst: 10 }
  - id: ws-origin
    match: { prefix: /origin }
    upstream: up
    rewrite: /ws/origin
    websocket: { origins: ["https://app.example"] }
  - id: ws-idle
    match: { prefix: /idle }
    upstream: up
    rewrite: /ws/idle
    websocket: { idle_timeout_ms: 1000 }
  - id: ws-short
    match: { prefix: /short }
    upstream: up
    rewrite: /ws/short
    websocket: { max_connection_ms: 1000 }
  - id: ws-limited
    match: { prefix: /limited }
    upstream: up
    rewrite: /ws/limited
    websocket: {}
    rate_limit:
      - { name: sockets, key: [consumer], concurrency: 2 }
  - id: plain
    match: { prefix: /plain }
    upstream: up
`,
      { vars: { UP: up.url } },
    );
    base = gw.url.replace(/^http/, 'ws');
  });

  after(async () => {
    await gw.close(1000);
    await up.close();
  });

  test('a handshake without a token gets 401 and never a 101; the upstream never sees an upgrade', async () => {
    const before = up.upgrades.length;
    const e = await refused(open(`${base}/ws/a`));
    assert.equal(e.status, 401);
    assert.match(String(e.headers['content-type']), /application\/problem\+json/);
    assert.equal((JSON.parse(e.body) as { code: string }).code, 'PC_ERR_AUTH_REQUIRED');
    assert.equal(up.upgrades.length, before);
  });

  test('a handshake with a bad token gets 401 and the upstream never sees it', async () => {
    const before = up.upgrades.length;
    const forged = token().replace(/\.[^.]+$/, `.${randomBytes(32).toString('base64url')}`);
    const e = await refused(open(`${base}/ws/a`, { token: forged }));
    assert.equal(e.status, 401);
    const expired = await refused(open(`${base}/ws/a`, { token: token({ exp: nowS() - 120 }) }));
    assert.equal(expired.status, 401);
    assert.equal(up.upgrades.length, before);
  });

  test('a valid token opens the connection: messages pass both ways, subprotocol and identity headers reach the upstream', async () => {
    const o = await open(`${base}/ws/echo`, { token: token(), protocols: ['chat.v1', 'chat.v0'] });
    assert.equal(o.first, 'welcome'); // upstream to client
    assert.equal(o.ws.protocol, 'chat.v1');
    assert.equal(o.res.statusCode, 101);
    assert.match(String(o.res.headers['x-request-id']), /.+/);
    const reply = nextMessage(o.ws);
    o.ws.send('hello');
    assert.equal(await reply, 'echo:hello'); // client to upstream and back
    const bin = new Promise<Buffer>((r) => o.ws.once('message', (d) => r(d as Buffer)));
    o.ws.send(Buffer.from([0, 1, 2, 255]));
    assert.deepEqual([...(await bin)], [0, 1, 2, 255]);
    const seen = up.upgrades.at(-1) as http.IncomingHttpHeaders;
    assert.equal(seen['x-consumer-id'], 'jwt/main/sub/alice');
    assert.equal(seen['x-forwarded-for'], '127.0.0.1');
    assert.equal(seen['sec-websocket-extensions'], undefined); // no compression offered upstream
    const c = closed(o.ws);
    o.ws.close(1000);
    assert.equal((await c).code, 1000);
  });

  test('spoofed identity headers on the handshake are stripped before the upstream', async () => {
    const ws = new WebSocket(`${base}/ws/spoof`, { headers: { authorization: `Bearer ${token()}`, 'x-consumer-id': 'admin', 'x-original-url': '/admin' } });
    await new Promise((r) => ws.once('message', r));
    const seen = up.upgrades.at(-1) as http.IncomingHttpHeaders;
    assert.equal(seen['x-consumer-id'], 'jwt/main/sub/alice');
    assert.equal(seen['x-original-url'], undefined);
    ws.close();
  });

  test('a token that expires mid-connection closes it with 1008 within 1 s of its expiry', async (t) => {
    const exp = nowS() + 2;
    const o = await open(`${base}/ws/expiring`, { token: token({ exp }) });
    const c = await closed(o.ws);
    assert.equal(c.code, 1008);
    const late = c.at - exp * 1000;
    assert.ok(late >= -50 && late < 1000, `closed ${late} ms after the expiry`);
    t.diagnostic(`closed ${late} ms after the expiry`);
  });

  test('a message over max_message_bytes closes the connection with 1009', async () => {
    const o = await open(`${base}/ws/big`, { token: token() });
    const c = closed(o.ws);
    o.ws.send(Buffer.alloc(2048, 7));
    assert.equal((await c).code, 1009);
  });

  test('messages over the rate closes the connection with 1008', async () => {
    const o = await open(`${base}/ws/rate`, { token: token() });
    const c = closed(o.ws);
    for (let i = 0; i < 30; i++) o.ws.send(`m${i}`);
    assert.equal((await c).code, 1008);
  });

  test('an idle connection is closed with 1001', async () => {
    const o = await open(`${base}/idle`, { token: token() });
    assert.equal((await closed(o.ws)).code, 1001);
  });

  test('a connection is closed with 1001 after max_connection_ms, however active; the upstream is told too', async () => {
    const o = await open(`${base}/short`, { token: token() });
    const c = closed(o.ws);
    const t0 = Date.now();
    const chat = setInterval(() => o.ws.readyState === o.ws.OPEN && o.ws.send('still here'), 100);
    const r = await c;
    clearInterval(chat);
    assert.equal(r.code, 1001);
    assert.ok(r.at - t0 < 3000, `closed after ${r.at - t0} ms`);
    assert.equal(await waitFor(() => up.closes.get('/ws/short')), 1001);
  });

  test('a client that vanishes without a close frame: the upstream gets 1001, the log says 1006 by the client', async () => {
    const o = await open(`${base}/ws/vanish`, { token: token() });
    o.ws.terminate();
    assert.equal(await waitFor(() => up.closes.get('/ws/vanish')), 1001);
    const line = await waitFor(() => gw.logLines().find((l) => l.path === '/ws/vanish'));
    assert.equal(line.status, 101);
    assert.deepEqual([(line.websocket as { close_code: number }).close_code, (line.websocket as { closed_by: string }).closed_by], [1006, 'client']);
  });

  test("the upstream's close code reaches the client", async () => {
    const o = await open(`${base}/ws/close4000`, { token: token() });
    const c = closed(o.ws);
    o.ws.send('x');
    assert.equal((await c).code, 4000);
  });

  test('an origin not in the allow-list gets 403; a listed one and a same-host one pass', async () => {
    const before = up.upgrades.length;
    const e = await refused(open(`${base}/origin`, { token: token(), origin: 'https://evil.example' }));
    assert.equal(e.status, 403);
    assert.equal((JSON.parse(e.body) as { code: string }).code, 'PC_ERR_WEBSOCKET_ORIGIN');
    assert.equal(up.upgrades.length, before);
    (await open(`${base}/origin`, { token: token(), origin: 'https://app.example' })).ws.close();
    // without `origins`: only the same host as the request's
    const cross = await refused(open(`${base}/ws/o`, { token: token(), origin: 'https://evil.example' }));
    assert.equal(cross.status, 403);
    // (a host name: the WAF reads an Origin naming a loopback address as SSRF)
    (await open(`${base}/ws/o`, { token: token(), origin: 'https://chat.example', host: 'chat.example' })).ws.close();
  });

  test('the WAF inspects the handshake: an injection in the query gets 403 and no upgrade upstream', async () => {
    const before = up.upgrades.length;
    const e = await refused(open(`${base}/ws/q?id=${encodeURIComponent("1' OR '1'='1' UNION SELECT password FROM users--")}`, { token: token() }));
    assert.equal(e.status, 403);
    assert.equal((JSON.parse(e.body) as { code: string }).code, 'PC_ERR_WAF_BLOCKED');
    assert.equal(up.upgrades.length, before);
  });

  test('open connections count toward the concurrency limit: the third gets 429 and no 101, a closed one frees its slot', async () => {
    const t = token({ sub: 'carol' });
    const a = await open(`${base}/limited`, { token: t });
    const b = await open(`${base}/limited`, { token: t });
    const before = up.upgrades.length;
    const e = await refused(open(`${base}/limited`, { token: t }));
    assert.equal(e.status, 429);
    assert.equal((JSON.parse(e.body) as { code: string }).code, 'PC_ERR_CONCURRENCY_LIMITED');
    assert.equal(up.upgrades.length, before);
    const c = closed(a.ws);
    a.ws.close();
    await c;
    // the slot is given back when the gateway saw the close: retried briefly
    let again: Opened | null = null;
    for (let i = 0; i < 50 && again === null; i++) {
      again = await open(`${base}/limited`, { token: t }).catch(async (err: Refused) => {
        assert.equal(err.status, 429);
        await new Promise((r) => setTimeout(r, 20));
        return null;
      });
    }
    assert.ok(again !== null, 'the slot of the closed connection was not given back');
    again.ws.close();
    b.ws.close();
  });

  test('an upstream that refuses the handshake: its status reaches the client, never a 101', async () => {
    const e = await refused(open(`${base}/ws/deny`, { token: token() }));
    assert.equal(e.status, 403);
    assert.equal(e.body, 'denied');
    assert.equal(e.headers['x-upstream'], 'yes');
  });

  test('a route without websocket refuses an upgrade with 400 PC_ERR_UPGRADE_NOT_ALLOWED; plain requests still pass', async () => {
    const e = await refused(open(`${base}/plain/x`, { token: token() }));
    assert.equal(e.status, 400);
    assert.equal((JSON.parse(e.body) as { code: string }).code, 'PC_ERR_UPGRADE_NOT_ALLOWED');
    const r = await fetch(`${gw.url}/plain/x`, { headers: { authorization: `Bearer ${token()}` } });
    assert.equal(r.status, 200);
    assert.equal(await r.text(), 'plain');
  });

  test('an upgrade to another protocol (h2c) is served as an ordinary request, its Upgrade ignored', async () => {
    const s = net.connect(gw.port, '127.0.0.1');
    s.write(
      `GET /plain/h2c HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${token()}\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n\r\n`,
    );
    let out = '';
    s.on('data', (c: Buffer) => (out += c.toString()));
    await new Promise((r) => s.once('close', r));
    assert.match(out, /^HTTP\/1\.1 200 /);
    assert.match(out, /\r\n\r\n(5\r\n)?plain\r?\n?/);
    assert.doesNotMatch(out, /^upgrade:/im);
  });

  test('a handshake with another version gets 426 with Sec-WebSocket-Version: 13; a bad key gets 400', async () => {
    const raw = async (key: string, version: string): Promise<string> => {
      const s = net.connect(gw.port, '127.0.0.1');
      s.write(
        `GET /ws/raw HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${token()}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: ${version}\r\n\r\n`,
      );
      let out = '';
      s.on('data', (c: Buffer) => (out += c.toString()));
      await new Promise((r) => s.once('close', r));
      return out;
    };
    const before = up.upgrades.length;
    const v8 = await raw('dGhlIHNhbXBsZSBub25jZQ==', '8');
    assert.match(v8, /^HTTP\/1\.1 426 /);
    assert.match(v8, /sec-websocket-version: 13/i);
    assert.match(await raw('short', '13'), /^HTTP\/1\.1 400 [\s\S]*PC_ERR_WEBSOCKET_HANDSHAKE/);
    assert.equal(up.upgrades.length, before);
  });

  test('one access-log line per connection: 101, duration, messages and bytes each way, close code and who closed; a query token is redacted', async () => {
    const t = token({ sub: 'dave' });
    const ws = new WebSocket(`${base}/ws/logged?access_token=${t}&room=7`);
    await new Promise((r) => ws.once('message', r));
    const replies = [nextMessage(ws)];
    ws.send('abc');
    await replies[0];
    const c = closed(ws);
    ws.close(1000);
    await c;
    const line = await waitFor(() => gw.logLines().find((l) => String(l.path).startsWith('/ws/logged')));
    assert.equal(line.status, 101);
    assert.equal(line.route_id, 'ws');
    assert.equal(line.consumer, 'jwt/main/sub/dave');
    const w = line.websocket as Record<string, unknown>;
    assert.equal(w.messages_in, 1);
    assert.equal(w.messages_out, 2); // welcome + echo
    assert.equal(w.bytes_in, 3);
    assert.equal(w.bytes_out, 'welcome'.length + 'echo:abc'.length);
    assert.equal(w.close_code, 1000);
    assert.equal(w.closed_by, 'client');
    assert.equal(typeof w.duration_ms, 'number');
    assert.ok((line.latency_ms as number) >= 0);
    const text = JSON.stringify(line);
    assert.ok(!text.includes(t), 'the token is in the log line');
    assert.ok(!text.includes(t.split('.')[2] as string), 'the token signature is in the log line');
    assert.match(String(line.path), /access_token=\[REDACTED\]&room=7/);
    // the upstream got the query as sent (its own business)
    assert.ok(up.paths.some((p) => p.startsWith('/ws/logged?access_token=')));
  });

  test('metrics: open connections gauge and messages counter', async () => {
    const o = await open(`${base}/ws/metrics`, { token: token() });
    const r = nextMessage(o.ws);
    o.ws.send('m');
    await r;
    const text = await gw.gateway.services.metrics.render();
    assert.match(text, /portcullis_websocket_connections\{route="ws"\} [1-9]/);
    assert.match(text, /portcullis_websocket_messages_total\{route="ws",direction="in"\} [1-9]/);
    const c = closed(o.ws);
    o.ws.close();
    await c;
  });
});

describe('WebSocket and the gateway stopping', () => {
  test('open connections are closed with 1001 when the gateway stops', async () => {
    const up = await startWsUpstream();
    const gw = await startGateway(
      `
version: 1
listeners: [{ port: 0 }]
upstreams:
  up: { targets: [{ url: "{{UP}}" }] }
routes:
  - id: ws
    match: { prefix: /ws }
    upstream: up
    auth: none
    public: true
    websocket: {}
`,
      { vars: { UP: up.url } },
    );
    try {
      const o = await open(`${gw.url.replace(/^http/, 'ws')}/ws/stop`);
      const c = closed(o.ws);
      const outcome = await gw.close(2000);
      assert.equal((await c).code, 1001);
      assert.equal(outcome.clean, true);
    } finally {
      await up.close();
    }
  });
});
