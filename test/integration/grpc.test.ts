/**
 * gRPC through the gateway, with @grpc/grpc-js on both sides: a real grpc-js server as the
 * upstream (h2c), grpc-js clients on an h2c listener and on a TLS h2 listener (test CA), and
 * hand-built gRPC-Web calls over HTTP/1.1. Unary and streaming calls, metadata and trailers both
 * ways, the gateway's refusals as gRPC statuses, per-method limits, message-size limits, deadlines.
 * Also a plain (non-gRPC) route whose upstream speaks HTTP/2 (`protocol: h2`).
 */
import { test, after, before, describe } from 'node:test';
import { strict as assert } from 'node:assert';
import { join, resolve } from 'node:path';
import { randomBytes, createHmac } from 'node:crypto';
import * as http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { startGateway, waitForLogLines, type TestGateway } from '../helpers/gateway.js';
import { testPki } from '../helpers/pki.js';
import { freePort, rawExchange } from '../helpers/net.js';
import { startUpstream as startHttpUpstream, type TestUpstream } from '../helpers/upstream.js';

const root = resolve(import.meta.dirname, '..', '..', '..');
const def = protoLoader.loadSync(join(root, 'test', 'integration', 'fixtures', 'echo.proto'), { keepCase: true, defaults: true });
const pkg = grpc.loadPackageDefinition(def) as unknown as {
  test: { echo: { Echo: grpc.ServiceClientConstructor; Down: grpc.ServiceClientConstructor } };
};
const { Echo, Down } = pkg.test.echo;

interface Msg {
  text: string;
  n: number;
}

const SECRET = randomBytes(32).toString('hex');
const ISS = 'https://issuer.grpc.test';
const pki = testPki();

function token(scope: string): string {
  const b64 = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');
  const input = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ iss: ISS, sub: 'tester', scope, exp: Math.floor(Date.now() / 1000) + 600 })}`;
  return `${input}.${createHmac('sha256', SECRET).update(input).digest('base64url')}`;
}
const READER = token('echo.read');
const ADMIN = token('echo.read echo.admin');

// ---- the upstream: a grpc-js server ------------------------------------------------------------
let server: grpc.Server;
let upPort = 0;
const calls: Record<string, number> = {};
let slowCancelled = 0;
const count = (m: string): void => {
  calls[m] = (calls[m] ?? 0) + 1;
};

function trailer(pairs: Record<string, string>): grpc.Metadata {
  const m = new grpc.Metadata();
  for (const [k, v] of Object.entries(pairs)) m.set(k, v);
  return m;
}

async function startUpstream(): Promise<void> {
  server = new grpc.Server();
  server.addService(Echo.service, {
    Say(call: grpc.ServerUnaryCall<Msg, Msg>, cb: grpc.sendUnaryData<Msg>) {
      count('Say');
      call.sendMetadata(trailer({ 'x-up-header': 'h1' }));
      const seen = {
        'x-up-trailer': 'done',
        'x-seen-client-meta': String(call.metadata.get('x-client-meta')[0] ?? ''),
        'x-seen-forwarded-for': String(call.metadata.get('x-forwarded-for')[0] ?? ''),
        'x-seen-grpc-web': String(call.metadata.get('x-grpc-web').length),
      };
      cb(null, { text: `hi ${call.request.text}`, n: call.request.n + 1 }, trailer(seen));
    },
    Admin(_call: grpc.ServerUnaryCall<Msg, Msg>, cb: grpc.sendUnaryData<Msg>) {
      count('Admin');
      cb(null, { text: 'admin', n: 0 });
    },
    Limited(_call: grpc.ServerUnaryCall<Msg, Msg>, cb: grpc.sendUnaryData<Msg>) {
      count('Limited');
      cb(null, { text: 'ok', n: 0 });
    },
    Fail(_call: grpc.ServerUnaryCall<Msg, Msg>, cb: grpc.sendUnaryData<Msg>) {
      cb({ code: grpc.status.NOT_FOUND, details: 'no such thing', metadata: trailer({ 'x-why': 'missing' }) });
    },
    Slow(call: grpc.ServerUnaryCall<Msg, Msg>, cb: grpc.sendUnaryData<Msg>) {
      count('Slow');
      const t = setTimeout(() => cb(null, { text: 'late', n: 0 }), 5000);
      call.on('cancelled', () => {
        slowCancelled++;
        clearTimeout(t);
      });
    },
    Big(_call: grpc.ServerUnaryCall<Msg, Msg>, cb: grpc.sendUnaryData<Msg>) {
      cb(null, { text: 'x'.repeat(4000), n: 0 });
    },
    Count(call: grpc.ServerWritableStream<Msg, Msg>) {
      for (let i = 0; i < call.request.n; i++) call.write({ text: `m${i}`, n: i });
      call.end(trailer({ 'x-sent': String(call.request.n) }));
    },
    Sum(call: grpc.ServerReadableStream<Msg, Msg>, cb: grpc.sendUnaryData<Msg>) {
      let sum = 0;
      let k = 0;
      call.on('data', (m: Msg) => {
        sum += m.n;
        k++;
      });
      call.on('end', () => cb(null, { text: `got ${k}`, n: sum }));
    },
    Chat(call: grpc.ServerDuplexStream<Msg, Msg>) {
      call.on('data', (m: Msg) => call.write({ text: `echo ${m.text}`, n: m.n * 2 }));
      call.on('end', () => call.end());
    },
  });
  upPort = await new Promise<number>((res, rej) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, port) => (e ? rej(e) : res(port))),
  );
}

// ---- the gateway ------------------------------------------------------------------------------
let gw: TestGateway;
let deadPort = 0;
const CONFIG = `
version: 1
listeners:
  - name: h2c
    port: 0
    protocols: [h2]
  - name: web
    port: 0
  - name: tls
    port: 0
    protocols: [h2]
    tls: { cert: ${pki.server.certPath}, key: ${pki.server.keyPath} }
upstreams:
  echo: { protocol: h2, targets: [{ url: "http://127.0.0.1:{{UP}}" }] }
  dead: { protocol: h2, connect_timeout_ms: 1000, targets: [{ url: "http://127.0.0.1:{{DEAD}}" }] }
auth:
  jwt:
    providers:
      main: { issuer: ${ISS}, algorithms: [HS256], secret: "{{SECRET}}" }
waf:
  mode: enforce
cors:
  allow_origins: [https://app.example.com]
  allow_methods: [POST]
  allow_headers: [authorization, content-type, x-grpc-web, x-user-agent, grpc-timeout]
  expose_headers: [grpc-status, grpc-message, pc-error-code]
routes:
  - id: echo-admin
    match: { path: /test.echo.Echo/Admin }
    upstream: echo
    protocol: grpc
    authorize: { scopes: [echo.admin] }
  - id: echo-limited
    match: { path: /test.echo.Echo/Limited }
    upstream: echo
    protocol: grpc
    rate_limit:
      - { name: limited, key: [route], rate: 3/hour, burst: 3 }
  - id: echo-slow
    match: { path: /test.echo.Echo/Slow }
    upstream: echo
    protocol: grpc
    grpc: { timeout_ms: 300 }
  - id: echo
    match: { prefix: /test.echo.Echo }
    upstream: echo
    protocol: grpc
    grpc: { max_message_bytes: 1024 }
    cors: {}
  - id: down
    match: { prefix: /test.echo.Down }
    upstream: dead
    protocol: grpc
    auth: none
    public: true
`;

let h2c: string;
let web: string;
let tlsTarget: string;

before(async () => {
  await startUpstream();
  deadPort = await freePort();
  gw = await startGateway(CONFIG, { vars: { UP: upPort, DEAD: deadPort, SECRET } });
  h2c = `127.0.0.1:${gw.ports[0]}`;
  web = `http://127.0.0.1:${gw.ports[1]}`;
  tlsTarget = `127.0.0.1:${gw.ports[2]}`;
});

after(async () => {
  await gw?.close();
  await new Promise<void>((res) => (server ? server.tryShutdown(() => res()) : res()));
});

/** One request on the h2c listener with node:http2 (what grpc-js would not send). */
async function rawH2(
  path: string,
  headers: Record<string, string>,
  body: Buffer,
): Promise<{ headers: http2.IncomingHttpHeaders; body: Buffer; trailers: http2.IncomingHttpHeaders | null }> {
  const s = http2.connect(`http://${h2c}`);
  try {
    return await new Promise((res, rej) => {
      const st = s.request({ ':method': 'POST', ':path': path, ...headers });
      let head: http2.IncomingHttpHeaders = {};
      let trailers: http2.IncomingHttpHeaders | null = null;
      const chunks: Buffer[] = [];
      st.on('response', (h) => (head = h));
      st.on('data', (c: Buffer) => chunks.push(c));
      st.on('trailers', (t) => (trailers = t));
      st.on('close', () => res({ headers: head, body: Buffer.concat(chunks), trailers }));
      st.on('error', rej);
      st.end(body);
    });
  } finally {
    s.close();
  }
}

function md(bearer: string | null, extra: Record<string, string> = {}): grpc.Metadata {
  const m = new grpc.Metadata();
  if (bearer !== null) m.set('authorization', `Bearer ${bearer}`);
  for (const [k, v] of Object.entries(extra)) m.set(k, v);
  return m;
}

interface UnaryResult {
  err: grpc.ServiceError | null;
  res: Msg | undefined;
  headers: grpc.Metadata | null;
  trailers: grpc.Metadata | null;
}

function unary(client: grpc.Client, method: string, req: Partial<Msg>, meta: grpc.Metadata, opts: grpc.CallOptions = {}): Promise<UnaryResult> {
  return new Promise((resolve) => {
    let headers: grpc.Metadata | null = null;
    let trailers: grpc.Metadata | null = null;
    let out: { err: grpc.ServiceError | null; res: Msg | undefined } | null = null;
    let status = false;
    const done = (): void => {
      if (out !== null && status) resolve({ ...out, headers, trailers });
    };
    const fn = (client as unknown as Record<string, (...a: unknown[]) => grpc.ClientUnaryCall>)[method] as (...a: unknown[]) => grpc.ClientUnaryCall;
    const call = fn.call(client, req, meta, opts, (err: grpc.ServiceError | null, res?: Msg) => {
      out = { err, res };
      done();
    });
    call.on('metadata', (m: grpc.Metadata) => {
      headers = m;
    });
    call.on('status', (s: grpc.StatusObject) => {
      trailers = s.metadata;
      status = true;
      done();
    });
  });
}

const first = (m: grpc.Metadata | null | undefined, k: string): string | undefined => {
  const v = m?.get(k)[0];
  return v === undefined ? undefined : String(v);
};

describe('gRPC over HTTP/2 (h2c listener)', () => {
  let client: grpc.Client;
  before(() => {
    client = new Echo(h2c, grpc.credentials.createInsecure());
  });
  after(() => client.close());

  test('a unary call passes with its metadata, response headers and the upstream trailers', async () => {
    const r = await unary(client, 'Say', { text: 'there', n: 41 }, md(READER, { 'x-client-meta': 'abc' }));
    assert.equal(r.err, null);
    assert.deepEqual(r.res, { text: 'hi there', n: 42 });
    assert.equal(first(r.headers, 'x-up-header'), 'h1');
    assert.ok(first(r.headers, 'x-request-id'), 'the request id comes back in the response headers');
    assert.equal(first(r.trailers, 'x-up-trailer'), 'done', 'a custom trailer from the upstream reaches the client');
    assert.equal(first(r.trailers, 'x-seen-client-meta'), 'abc', 'client metadata reaches the upstream');
    assert.equal(first(r.trailers, 'x-seen-forwarded-for'), '127.0.0.1', 'the upstream gets the forwarding headers');
  });

  test('server streaming: every message and the trailers arrive', async () => {
    const got: Msg[] = [];
    const trailers = await new Promise<grpc.Metadata>((res, rej) => {
      const call = (client as unknown as { Count(r: Msg, m: grpc.Metadata): grpc.ClientReadableStream<Msg> }).Count({ text: '', n: 50 }, md(READER));
      call.on('data', (m: Msg) => got.push(m));
      call.on('error', rej);
      call.on('status', (s: grpc.StatusObject) => (s.code === 0 ? res(s.metadata) : rej(new Error(s.details))));
    });
    assert.equal(got.length, 50);
    assert.deepEqual(got[49], { text: 'm49', n: 49 });
    assert.equal(first(trailers, 'x-sent'), '50');
  });

  test('client streaming: the messages are streamed to the upstream and its one answer comes back', async () => {
    const r = await new Promise<Msg>((res, rej) => {
      const call = (client as unknown as { Sum(m: grpc.Metadata, cb: (e: Error | null, r?: Msg) => void): grpc.ClientWritableStream<Msg> }).Sum(
        md(READER),
        (e, out) => (e ? rej(e) : res(out as Msg)),
      );
      for (let i = 1; i <= 100; i++) call.write({ text: 't', n: i });
      call.end();
    });
    assert.deepEqual(r, { text: 'got 100', n: 5050 });
  });

  test('bidirectional streaming: each answer arrives before the client sends the next message', async () => {
    const call = (client as unknown as { Chat(m: grpc.Metadata): grpc.ClientDuplexStream<Msg, Msg> }).Chat(md(READER));
    const answers: Msg[] = [];
    let wake: (() => void) | null = null;
    call.on('data', (m: Msg) => {
      answers.push(m);
      wake?.();
    });
    for (let i = 1; i <= 5; i++) {
      const arrived = new Promise<void>((res) => {
        wake = res;
      });
      call.write({ text: `q${i}`, n: i });
      // the request is still open: only a streamed (not buffered) body lets this answer arrive
      await arrived;
      assert.deepEqual(answers[i - 1], { text: `echo q${i}`, n: i * 2 });
    }
    const status = await new Promise<grpc.StatusObject>((res) => {
      call.on('status', res);
      call.end();
    });
    assert.equal(status.code, grpc.status.OK);
    assert.equal(answers.length, 5);
  });

  test('the upstream own error status, message and trailers reach the client', async () => {
    const r = await unary(client, 'Fail', { text: '' }, md(READER));
    assert.equal(r.err?.code, grpc.status.NOT_FOUND);
    assert.equal(r.err?.details, 'no such thing');
    assert.equal(first(r.trailers, 'x-why'), 'missing');
  });

  test('no token: UNAUTHENTICATED, with the gateway error code, and the upstream is not called', async () => {
    const before = calls.Say ?? 0;
    const r = await unary(client, 'Say', { text: 'x' }, md(null));
    assert.equal(r.err?.code, grpc.status.UNAUTHENTICATED);
    assert.match(r.err?.details ?? '', /Authentication required/);
    assert.equal(first(r.err?.metadata, 'pc-error-code'), 'PC_ERR_AUTH_REQUIRED');
    assert.ok(first(r.err?.metadata, 'x-request-id'));
    assert.equal(calls.Say ?? 0, before);
  });

  test('a forged token: UNAUTHENTICATED', async () => {
    const r = await unary(client, 'Say', { text: 'x' }, md(`${READER.slice(0, -4)}AAAA`));
    assert.equal(r.err?.code, grpc.status.UNAUTHENTICATED);
  });

  test('a method whose route wants a scope the token lacks: PERMISSION_DENIED; with it: OK', async () => {
    const denied = await unary(client, 'Admin', { text: '' }, md(READER));
    assert.equal(denied.err?.code, grpc.status.PERMISSION_DENIED);
    assert.equal(first(denied.err?.metadata, 'pc-error-code'), 'PC_ERR_INSUFFICIENT_SCOPE');
    assert.equal(calls.Admin ?? 0, 0);
    const ok = await unary(client, 'Admin', { text: '' }, md(ADMIN));
    assert.equal(ok.err, null);
    assert.equal(calls.Admin, 1);
  });

  test('a per-method rate limit: RESOURCE_EXHAUSTED after its burst, while another method of the service is not limited', async () => {
    const codes: number[] = [];
    for (let i = 0; i < 5; i++) {
      const r = await unary(client, 'Limited', { text: '' }, md(READER));
      codes.push(r.err?.code ?? 0);
      if (r.err) assert.equal(first(r.err.metadata, 'pc-error-code'), 'PC_ERR_RATE_LIMITED');
    }
    assert.deepEqual(codes, [0, 0, 0, grpc.status.RESOURCE_EXHAUSTED, grpc.status.RESOURCE_EXHAUSTED]);
    assert.equal(calls.Limited, 3);
    for (let i = 0; i < 5; i++) assert.equal((await unary(client, 'Say', { text: 'y' }, md(READER))).err, null);
  });

  test('a request message over max_message_bytes: RESOURCE_EXHAUSTED, never forwarded whole', async () => {
    const before = calls.Say ?? 0;
    const r = await unary(client, 'Say', { text: 'x'.repeat(2000) }, md(READER));
    assert.equal(r.err?.code, grpc.status.RESOURCE_EXHAUSTED);
    assert.equal(first(r.err?.metadata, 'pc-error-code'), 'PC_ERR_BODY_TOO_LARGE');
    assert.equal(calls.Say ?? 0, before, 'the upstream never got the message');
    // the connection is still good for the next call
    assert.equal((await unary(client, 'Say', { text: 'small' }, md(READER))).err, null);
  });

  test('a response message over max_message_bytes: RESOURCE_EXHAUSTED', async () => {
    const r = await unary(client, 'Big', { text: '' }, md(READER));
    assert.equal(r.err?.code, grpc.status.RESOURCE_EXHAUSTED);
    assert.equal(first(r.err?.metadata, 'pc-error-code'), 'PC_ERR_BODY_TOO_LARGE');
  });

  test("the route's deadline: DEADLINE_EXCEEDED, and the upstream call is cancelled", async () => {
    const r = await unary(client, 'Slow', { text: '' }, md(READER));
    assert.equal(r.err?.code, grpc.status.DEADLINE_EXCEEDED);
    assert.equal(first(r.err?.metadata, 'pc-error-code'), 'PC_ERR_UPSTREAM_TIMEOUT');
    for (let i = 0; i < 50 && slowCancelled === 0; i++) await new Promise((res) => setTimeout(res, 20));
    assert.equal(slowCancelled, 1);
  });

  test('an invalid grpc-timeout: INVALID_ARGUMENT', async () => {
    const r = await rawH2(
      '/test.echo.Echo/Say',
      { 'content-type': 'application/grpc', te: 'trailers', 'grpc-timeout': '12x', authorization: `Bearer ${READER}` },
      frame(0, Buffer.alloc(0)),
    );
    assert.equal(r.headers[':status'], 200);
    assert.equal(r.headers['grpc-status'], String(grpc.status.INVALID_ARGUMENT));
    assert.equal(r.headers['pc-error-code'], 'PC_ERR_BAD_REQUEST');
  });

  test('the WAF inspects the metadata of a gRPC call: PERMISSION_DENIED', async () => {
    const before = calls.Say ?? 0;
    const r = await rawH2(
      '/test.echo.Echo/Say',
      { 'content-type': 'application/grpc', te: 'trailers', authorization: `Bearer ${READER}`, referer: '<script>alert(document.cookie)</script>' },
      frame(0, encodeMsg('x', 1)),
    );
    assert.equal(r.headers['grpc-status'], String(grpc.status.PERMISSION_DENIED));
    assert.equal(r.headers['pc-error-code'], 'PC_ERR_WAF_BLOCKED');
    assert.equal(calls.Say ?? 0, before);
  });

  test('a request ending inside a message: INVALID_ARGUMENT', async () => {
    const whole = frame(0, encodeMsg('cut', 1));
    const r = await rawH2(
      '/test.echo.Echo/Say',
      { 'content-type': 'application/grpc', te: 'trailers', authorization: `Bearer ${READER}` },
      whole.subarray(0, whole.length - 2),
    );
    const status = r.trailers?.['grpc-status'] ?? r.headers['grpc-status'];
    assert.equal(status, String(grpc.status.INVALID_ARGUMENT));
  });

  test('gRPC-Web over an HTTP/2 listener works too', async () => {
    const r = await rawH2(
      '/test.echo.Echo/Say',
      { 'content-type': 'application/grpc-web+proto', 'x-grpc-web': '1', authorization: `Bearer ${READER}` },
      frame(0, encodeMsg('h2web', 2)),
    );
    assert.equal(r.headers[':status'], 200);
    assert.equal(r.headers['content-type'], 'application/grpc-web+proto');
    const { messages, trailers } = readFrames(r.body);
    assert.deepEqual(decodeMsg(messages[0] as Buffer), { text: 'hi h2web', n: 3 });
    assert.equal(trailers?.['grpc-status'], '0');
  });

  test('an unknown service: UNIMPLEMENTED', async () => {
    const other = new (grpc.makeGenericClientConstructor({}, 'x'))(h2c, grpc.credentials.createInsecure());
    const code = await new Promise<number>((res) => {
      other.makeUnaryRequest(
        '/other.Svc/Call',
        (b: Buffer) => b,
        (b: Buffer) => b,
        Buffer.alloc(0),
        md(READER),
        (e: grpc.ServiceError | null) => res(e?.code ?? 0),
      );
    });
    other.close();
    assert.equal(code, grpc.status.UNIMPLEMENTED);
  });

  test('the upstream down: UNAVAILABLE', async () => {
    const down = new Down(h2c, grpc.credentials.createInsecure());
    const r = await unary(down, 'Ping', { text: '' }, md(null));
    down.close();
    assert.equal(r.err?.code, grpc.status.UNAVAILABLE);
    assert.equal(first(r.err?.metadata, 'pc-error-code'), 'PC_ERR_UPSTREAM_UNAVAILABLE');
  });

  test('the access log records the gRPC status and the route of each call', async () => {
    const lines = await waitForLogLines(gw, (l) => l.route_id === 'down');
    const admin = lines.find((l) => l.route_id === 'echo-admin' && l.grpc_status === 7);
    assert.equal((admin?.decision as { code?: string } | undefined)?.code, 'PC_ERR_INSUFFICIENT_SCOPE');
    assert.ok(lines.some((l) => l.route_id === 'echo' && l.grpc_status === 0 && l.path === '/test.echo.Echo/Chat'));
    assert.ok(
      lines.some((l) => l.route_id === 'echo' && l.grpc_status === 5),
      'the upstream status (NOT_FOUND) is logged',
    );
    assert.ok(lines.some((l) => l.route_id === 'down' && l.grpc_status === 14));
  });
});

describe('gRPC over TLS (h2 listener, test CA)', () => {
  test('unary and bidirectional calls pass over TLS with ALPN h2', async () => {
    const client = new Echo(tlsTarget, grpc.credentials.createSsl(pki.caBundle));
    try {
      const r = await unary(client, 'Say', { text: 'tls', n: 1 }, md(READER));
      assert.equal(r.err, null);
      assert.deepEqual(r.res, { text: 'hi tls', n: 2 });
      const call = (client as unknown as { Chat(m: grpc.Metadata): grpc.ClientDuplexStream<Msg, Msg> }).Chat(md(READER));
      const got: Msg[] = [];
      call.on('data', (m: Msg) => got.push(m));
      const status = new Promise<grpc.StatusObject>((res) => call.on('status', res));
      for (let i = 0; i < 3; i++) call.write({ text: String(i), n: i });
      call.end();
      assert.equal((await status).code, 0);
      assert.equal(got.length, 3);
      const denied = await unary(client, 'Say', { text: 'x' }, md(null));
      assert.equal(denied.err?.code, grpc.status.UNAUTHENTICATED);
    } finally {
      client.close();
    }
  });
});

// ---- gRPC-Web, hand-built ----------------------------------------------------------------------
function encodeMsg(text: string, n: number): Buffer {
  const t = Buffer.from(text);
  assert.ok(t.length < 128);
  return Buffer.concat([Buffer.from([0x0a, t.length]), t, Buffer.from([0x10, n])]);
}

function decodeMsg(b: Buffer): Msg {
  const out: Msg = { text: '', n: 0 };
  let i = 0;
  while (i < b.length) {
    const tag = b[i++] as number;
    if (tag === 0x0a) {
      const len = b[i++] as number;
      out.text = b.subarray(i, i + len).toString();
      i += len;
    } else if (tag === 0x10) out.n = b[i++] as number;
    else throw new Error(`unexpected tag ${tag}`);
  }
  return out;
}

function frame(flag: number, body: Buffer): Buffer {
  const h = Buffer.alloc(5);
  h[0] = flag;
  h.writeUInt32BE(body.length, 1);
  return Buffer.concat([h, body]);
}

function readFrames(b: Buffer): { messages: Buffer[]; trailers: Record<string, string> | null } {
  const messages: Buffer[] = [];
  let trailers: Record<string, string> | null = null;
  let i = 0;
  while (i < b.length) {
    const flag = b[i] as number;
    const len = b.readUInt32BE(i + 1);
    const body = b.subarray(i + 5, i + 5 + len);
    i += 5 + len;
    if (flag & 0x80) {
      trailers = {};
      for (const line of body.toString('latin1').split('\r\n')) {
        const c = line.indexOf(':');
        if (c > 0) trailers[line.slice(0, c).trim()] = line.slice(c + 1).trim();
      }
    } else messages.push(body);
  }
  return { messages, trailers };
}

describe('gRPC-Web over HTTP/1.1', () => {
  test('a binary gRPC-Web call succeeds and gets its trailers as the last frame', async () => {
    const r = await fetch(`${web}/test.echo.Echo/Say`, {
      method: 'POST',
      headers: { 'content-type': 'application/grpc-web+proto', 'x-grpc-web': '1', authorization: `Bearer ${READER}`, origin: 'https://app.example.com' },
      body: frame(0, encodeMsg('web', 6)),
    });
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('content-type'), 'application/grpc-web+proto');
    assert.equal(r.headers.get('x-up-header'), 'h1');
    assert.equal(r.headers.get('access-control-allow-origin'), 'https://app.example.com');
    assert.match(r.headers.get('access-control-expose-headers') ?? '', /grpc-status/);
    assert.match(r.headers.get('vary') ?? '', /origin/i, 'the respond stages saw the head (CORS adds Vary)');
    const { messages, trailers } = readFrames(Buffer.from(await r.arrayBuffer()));
    assert.equal(messages.length, 1);
    assert.deepEqual(decodeMsg(messages[0] as Buffer), { text: 'hi web', n: 7 });
    assert.equal(trailers?.['grpc-status'], '0');
    assert.equal(trailers?.['x-up-trailer'], 'done');
    assert.equal(trailers?.['x-seen-grpc-web'], '0', 'x-grpc-web is not sent upstream');
  });

  test('a gRPC-Web text (base64) call succeeds', async () => {
    const r = await fetch(`${web}/test.echo.Echo/Count`, {
      method: 'POST',
      headers: { 'content-type': 'application/grpc-web-text', accept: 'application/grpc-web-text', 'x-grpc-web': '1', authorization: `Bearer ${READER}` },
      body: frame(0, encodeMsg('', 3)).toString('base64'),
    });
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('content-type'), 'application/grpc-web-text');
    const text = await r.text();
    assert.match(text, /^[A-Za-z0-9+/]+=*$/);
    const { messages, trailers } = readFrames(Buffer.from(text, 'base64'));
    assert.deepEqual(
      messages.map((m) => decodeMsg(m)),
      [
        { text: 'm0', n: 0 },
        { text: 'm1', n: 1 },
        { text: 'm2', n: 2 },
      ],
    );
    assert.equal(trailers?.['grpc-status'], '0');
    assert.equal(trailers?.['x-sent'], '3');
  });

  test('a gRPC-Web refusal is a gRPC status in the headers (Trailers-Only), readable cross-origin', async () => {
    const r = await fetch(`${web}/test.echo.Echo/Say`, {
      method: 'POST',
      headers: { 'content-type': 'application/grpc-web+proto', 'x-grpc-web': '1', origin: 'https://app.example.com' },
      body: frame(0, encodeMsg('web', 1)),
    });
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('grpc-status'), String(grpc.status.UNAUTHENTICATED));
    assert.equal(r.headers.get('pc-error-code'), 'PC_ERR_AUTH_REQUIRED');
    assert.equal(r.headers.get('access-control-allow-origin'), 'https://app.example.com');
    assert.equal((await r.arrayBuffer()).byteLength, 0);
  });

  test('the CORS preflight of a gRPC-Web call allows its headers', async () => {
    const r = await fetch(`${web}/test.echo.Echo/Say`, {
      method: 'OPTIONS',
      headers: {
        origin: 'https://app.example.com',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type,x-grpc-web,x-user-agent,grpc-timeout,authorization',
      },
    });
    assert.ok(r.status === 204 || r.status === 200, `status ${r.status}`);
    assert.match(r.headers.get('access-control-allow-headers') ?? '', /x-grpc-web/);
  });

  test('gRPC proper over HTTP/1.1 is refused with a clear problem reply', async () => {
    const r = await fetch(`${web}/test.echo.Echo/Say`, {
      method: 'POST',
      headers: { 'content-type': 'application/grpc', authorization: `Bearer ${READER}` },
      body: frame(0, encodeMsg('h1', 1)),
    });
    assert.equal(r.status, 400);
    const p = (await r.json()) as { code: string; detail: string };
    assert.equal(p.code, 'PC_ERR_PROTOCOL');
    assert.match(p.detail, /HTTP\/2/);
  });

  test('a non-gRPC request to a gRPC route: 415', async () => {
    const r = await fetch(`${web}/test.echo.Echo/Say`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${READER}` },
      body: '{}',
    });
    assert.equal(r.status, 415);
  });
});

// ---- HTTP/2 to a plain upstream -----------------------------------------------------------------
describe('HTTP/2 to the upstream of a plain route (protocol: h2), and trailers on plain routes', () => {
  let up: http2.Http2Server;
  let h1up: TestUpstream;
  let g: TestGateway;
  const seen: { version: string; te: string | undefined }[] = [];
  const h1te: (string | undefined)[] = [];
  before(async () => {
    up = http2.createServer((req, res) => {
      seen.push({ version: req.httpVersion, te: req.headers.te as string | undefined });
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'application/json', 'x-up': 'h2' });
        if (req.headers.te === 'trailers') res.addTrailers({ 'x-checksum': 'abc123' });
        res.end(JSON.stringify({ path: req.url, method: req.method, body }));
      });
    });
    await new Promise<void>((res) => up.listen(0, '127.0.0.1', res));
    h1up = await startHttpUpstream((req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain', trailer: 'x-checksum' });
      res.write('part');
      h1te.push(req.headers.te as string | undefined);
      res.addTrailers({ 'x-checksum': 'h1-trailer' });
      res.end();
    });
    g = await startGateway(
      `
version: 1
listeners: [{ name: h1, port: 0 }, { name: h2c, port: 0, protocols: [h2] }]
upstreams:
  up: { protocol: h2, targets: [{ url: "http://127.0.0.1:{{P}}" }] }
  h1: { targets: [{ url: "{{H1}}" }] }
routes:
  - { id: items, match: { prefix: /items }, upstream: up }
  - { id: chunks, match: { prefix: /chunks }, upstream: h1 }
`,
      { vars: { P: (up.address() as AddressInfo).port, H1: h1up.url }, modules: [] },
    );
  });
  after(async () => {
    await g?.close();
    await h1up?.close();
    await new Promise<void>((res) => up.close(() => res()));
  });

  async function h2Get(path: string): Promise<{ status: number; body: string; trailers: http2.IncomingHttpHeaders | null }> {
    const s = http2.connect(`http://127.0.0.1:${g.ports[1]}`);
    try {
      return await new Promise((resolve, reject) => {
        const st = s.request({ ':path': path, te: 'trailers' });
        let status = 0;
        let body = '';
        let trailers: http2.IncomingHttpHeaders | null = null;
        st.on('response', (h) => (status = Number(h[':status'])));
        st.on('data', (c: Buffer) => (body += c.toString()));
        st.on('trailers', (t) => (trailers = t));
        st.on('end', () => resolve({ status, body, trailers }));
        st.on('error', reject);
        st.end();
      });
    } finally {
      s.close();
    }
  }

  test('the trailers of an HTTP/2 upstream reach an HTTP/2 client that sent te: trailers', async () => {
    const r = await h2Get('/items/t');
    assert.equal(r.status, 200);
    assert.equal(seen.at(-1)?.te, 'trailers', 'te: trailers reaches an HTTP/2 upstream');
    assert.equal(JSON.parse(r.body).path, '/items/t');
    assert.equal(r.trailers?.['x-checksum'], 'abc123');
  });

  test('the trailers of an HTTP/1.1 upstream reach an HTTP/2 client, and an HTTP/1.1 client only when it sent TE: trailers', async () => {
    const r = await h2Get('/chunks');
    assert.equal(r.body, 'part');
    assert.equal(r.trailers?.['x-checksum'], 'h1-trailer');
    const port = g.ports[0] as number;
    const withTe = await rawExchange(port, 'GET /chunks HTTP/1.1\r\nHost: a\r\nTE: trailers\r\nConnection: close\r\n\r\n');
    assert.match(withTe, /\r\n0\r\nx-checksum: h1-trailer\r\n\r\n$/);
    const without = await rawExchange(port, 'GET /chunks HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
    assert.doesNotMatch(without, /x-checksum/);
    assert.deepEqual(h1te, [undefined, undefined, undefined], 'TE is hop-by-hop over HTTP/1.1: never forwarded');
  });

  test('GET and POST reach an h2c upstream over HTTP/2 and the answer comes back', async () => {
    const a = await fetch(`${g.url}/items/1?x=1`);
    assert.equal(a.status, 200);
    assert.equal(a.headers.get('x-up'), 'h2');
    assert.deepEqual(await a.json(), { path: '/items/1?x=1', method: 'GET', body: '' });
    const b = await fetch(`${g.url}/items`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"a":1}' });
    assert.deepEqual(await b.json(), { path: '/items', method: 'POST', body: '{"a":1}' });
    assert.ok(seen.length >= 2 && seen.every((s) => s.version === '2.0'), JSON.stringify(seen));
  });
});

describe('upstream sessions', () => {
  test('after the upstream restarts (GOAWAY, then a new server on the same port) the next calls open a new session', async () => {
    const make = (): grpc.Server => {
      const s = new grpc.Server();
      s.addService(Echo.service, {
        Say: (call: grpc.ServerUnaryCall<Msg, Msg>, cb: grpc.sendUnaryData<Msg>) => cb(null, { text: `again ${call.request.text}`, n: 0 }),
      });
      return s;
    };
    let s1 = make();
    const port = await new Promise<number>((res, rej) => s1.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))));
    const g = await startGateway(
      `
version: 1
listeners: [{ port: 0, protocols: [h2] }]
upstreams:
  up: { protocol: h2, targets: [{ url: "http://127.0.0.1:{{P}}" }] }
routes:
  - { id: echo, match: { prefix: /test.echo.Echo }, upstream: up, protocol: grpc }
`,
      { vars: { P: port }, modules: [] },
    );
    const client = new Echo(`127.0.0.1:${g.port}`, grpc.credentials.createInsecure());
    try {
      assert.equal((await unary(client, 'Say', { text: 'one' }, md(null))).res?.text, 'again one');
      // a graceful shutdown sends GOAWAY on the gateway's session
      await new Promise<void>((res) => s1.tryShutdown(() => res()));
      s1 = make();
      await new Promise<void>((res, rej) => s1.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (e) => (e ? rej(e) : res())));
      const codes: number[] = [];
      for (let i = 0; i < 3; i++) {
        const r = await unary(client, 'Say', { text: String(i) }, md(null));
        codes.push(r.err?.code ?? 0);
      }
      assert.deepEqual(codes, [0, 0, 0]);
    } finally {
      client.close();
      await g.close();
      s1.forceShutdown();
    }
  });
});

describe('gRPC config checks', () => {
  test('a gRPC route whose upstream is not HTTP/2 is refused at load', async () => {
    await assert.rejects(
      startGateway(
        `
version: 1
listeners: [{ port: 0, protocols: [h2] }]
upstreams:
  up: { targets: [{ url: "http://127.0.0.1:9" }] }
routes:
  - { id: g, match: { prefix: /a.B }, upstream: up, protocol: grpc }
`,
        { modules: [] },
      ),
      /gRPC needs HTTP\/2 to the upstream/,
    );
  });
});
