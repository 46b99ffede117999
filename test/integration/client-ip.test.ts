/**
 * One reading of the client (issue 18, item 9): from a trusted proxy the gateway reads one
 * forwarding header, chosen in config, by the right-most-untrusted rule; the other header plays no
 * part; and what it forwards upstream is that one client, so that an upstream framework reading
 * either end of X-Forwarded-For or Forwarded sees the client the stages saw. The upstreams here
 * are real Koa applications (Koa is installed with oidc-provider): `proxy: true` reads the
 * left-most X-Forwarded-For entry (as Express with `trust proxy: true`), `maxIpsCount: 1` the
 * right-most (as Express with `trust proxy: 1` or Flask's ProxyFix).
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import * as http from 'node:http';
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import { startGateway, waitForLogLines, type TestGateway } from '../helpers/gateway.js';
import { MODULES } from '../rate-limit/support.js';

interface KoaContext {
  ip: string;
  protocol: string;
  host: string;
  get(name: string): string;
  body: unknown;
}
interface KoaApp {
  proxy: boolean;
  maxIpsCount: number;
  use(fn: (ctx: KoaContext) => void): void;
  callback(): http.RequestListener;
}
const koaModule = 'koa';
const { default: Koa } = (await import(koaModule)) as { default: new () => KoaApp };

/** What an upstream framework read. */
interface Reading {
  ip: string;
  protocol: string;
  host: string;
  xff: string;
  forwarded: string;
}

async function koaUpstream(configure: (app: KoaApp) => void): Promise<{ url: string; close(): Promise<void> }> {
  const app = new Koa();
  configure(app);
  app.use((ctx) => {
    const r: Reading = { ip: ctx.ip, protocol: ctx.protocol, host: ctx.host, xff: ctx.get('x-forwarded-for'), forwarded: ctx.get('forwarded') };
    ctx.body = r;
  });
  const server = http.createServer(app.callback());
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}

/** Spring's ForwardedHeaderUtils reading: the first `for=` of the Forwarded header. */
function springForwardedFor(forwarded: string): string | null {
  const m = /(?:for)=("?[^;,]+"?)/i.exec(forwarded);
  return m ? (m[1] as string).replace(/^"|"$/g, '').replace(/^\[|\](:\d+)?$/g, '') : null;
}

let left: Awaited<ReturnType<typeof koaUpstream>>;
let right: Awaited<ReturnType<typeof koaUpstream>>;
before(async () => {
  left = await koaUpstream((app) => {
    app.proxy = true;
  });
  right = await koaUpstream((app) => {
    app.proxy = true;
    app.maxIpsCount = 1;
  });
});
const gateways: TestGateway[] = [];
after(async () => {
  for (const g of gateways) await g.close();
  await left.close();
  await right.close();
});

async function gateway(clientIp: string): Promise<TestGateway> {
  const g = await startGateway(
    `
version: 1
listeners: [{ port: 0 }]
trusted_proxies: [127.0.0.1/32, 10.0.0.0/8]
${clientIp}
upstreams:
  left: { targets: [{ url: "{{LEFT}}" }] }
  right: { targets: [{ url: "{{RIGHT}}" }] }
routes:
  - id: left
    match: { prefix: /left }
    upstream: left
  - id: right
    match: { prefix: /right }
    upstream: right
  - id: limited
    match: { prefix: /limited }
    upstream: left
    rate_limit:
      - { name: per-ip, key: [ip], rate: 1/min, burst: 1 }
`,
    { modules: MODULES, vars: { LEFT: left.url, RIGHT: right.url } },
  );
  gateways.push(g);
  return g;
}

async function read(g: TestGateway, path: string, headers: Record<string, string>): Promise<{ status: number; reading: Reading | null; clientIp: unknown }> {
  const r = await request(`${g.url}${path}`, { headers });
  const text = await r.body.text();
  const id = r.headers['x-request-id'];
  const lines = await waitForLogLines(g, (l) => l.request_id === id);
  return {
    status: r.statusCode,
    reading: r.statusCode === 200 ? (JSON.parse(text) as Reading) : null,
    clientIp: lines.find((l) => l.request_id === id)?.client_ip,
  };
}

test('behind a trusted proxy, the upstream gets one X-Forwarded-For and one Forwarded entry: the client the gateway resolved, whichever end a framework reads', async () => {
  const g = await gateway('');
  // the client wrote 6.6.6.6 into X-Forwarded-For and 7.7.7.7 into Forwarded; the trusted proxy 10.1.2.3 appended what it saw
  const headers = { 'x-forwarded-for': '6.6.6.6, 203.0.113.9, 10.1.2.3', forwarded: 'for=7.7.7.7' };
  for (const path of ['/left', '/right']) {
    const { reading, clientIp } = await read(g, path, headers);
    assert.equal(clientIp, '203.0.113.9', "the gateway's reading");
    assert.equal(reading?.ip, '203.0.113.9', `Koa (${path === '/left' ? 'left-most' : 'right-most'} entry)`);
    assert.equal(reading?.xff, '203.0.113.9');
    assert.equal(reading?.forwarded, 'for=203.0.113.9;proto=http;host="127.0.0.1"');
    assert.equal(springForwardedFor(reading?.forwarded ?? ''), '203.0.113.9', 'Spring (first for=)');
  }
  // an untrusted peer's headers are replaced by the peer itself, as before
  const plain = await startGateway(
    `
version: 1
listeners: [{ port: 0 }]
upstreams: { left: { targets: [{ url: "${left.url}" }] } }
routes: [{ id: left, match: { prefix: /left }, upstream: left }]
`,
    { modules: [] },
  );
  gateways.push(plain);
  const { reading } = await read(plain, '/left', headers);
  assert.equal(reading?.ip, '127.0.0.1');
  assert.equal(springForwardedFor(reading?.forwarded ?? ''), '127.0.0.1');
});

test("with client_ip.header: forwarded, the proxy's Forwarded chooses the client, with its proto and host, and the client's own X-Forwarded-For chooses nothing", async () => {
  const g = await gateway('client_ip: { header: forwarded }');
  const proxy = 'for=6.6.6.6, for="203.0.113.9:4711";proto=https;host=api.example.com, for=10.1.2.3;proto=http';
  const first = await read(g, '/limited', { 'x-forwarded-for': '6.6.6.6', forwarded: proxy, 'x-forwarded-proto': 'gopher' });
  assert.equal(first.status, 200);
  assert.equal(first.clientIp, '203.0.113.9');
  assert.equal(first.reading?.ip, '203.0.113.9');
  assert.equal(first.reading?.xff, '203.0.113.9');
  assert.equal(first.reading?.protocol, 'https', "the proto of the client's element, not the X-Forwarded-Proto the client sent");
  assert.equal(first.reading?.host, 'api.example.com');
  assert.equal(first.reading?.forwarded, 'for=203.0.113.9;proto=https;host="api.example.com"');
  const spoofed = await read(g, '/limited', { 'x-forwarded-for': '6.6.6.7', forwarded: proxy });
  assert.equal(spoofed.status, 429, 'a new X-Forwarded-For does not buy a new bucket');
  assert.equal(spoofed.clientIp, '203.0.113.9');
  const other = await read(g, '/limited', { forwarded: 'for=203.0.113.10;proto=https' });
  assert.equal(other.status, 200, 'another client behind the proxy has its own bucket');
  const garbage = await read(g, '/left', { forwarded: 'for=203.0.113.11, for=unknown, for=10.1.2.3' });
  assert.equal(garbage.clientIp, '127.0.0.1', 'nothing left of an element that is not an address is believed');
  assert.equal(garbage.reading?.ip, '127.0.0.1');
});

/** Sends one raw request (repeated header lines as written) and returns the JSON body. */
function raw(port: number, head: string): Promise<Reading> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    let out = '';
    s.on('data', (d) => {
      out += d.toString('latin1');
      const at = out.indexOf('\r\n\r\n');
      const len = /content-length: (\d+)/i.exec(out)?.[1];
      if (at >= 0 && len !== undefined && out.length >= at + 4 + Number(len)) {
        s.destroy();
        resolve(JSON.parse(out.slice(at + 4)) as Reading);
      }
    });
    s.on('error', reject);
    s.write(`GET /left HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n${head}\r\n`);
  });
}

test('repeated lines of the chosen header are one list, in order; garbage in it stops the walk', async () => {
  const xff = await gateway('');
  assert.equal((await raw(xff.port, 'X-Forwarded-For: 6.6.6.6\r\nX-Forwarded-For: 203.0.113.9, 10.1.2.3\r\n')).ip, '203.0.113.9');
  assert.equal((await raw(xff.port, 'X-Forwarded-For: 203.0.113.9\r\nX-Forwarded-For: bogus\r\n')).ip, '127.0.0.1');
  assert.equal((await raw(xff.port, 'Forwarded: for=203.0.113.9\r\n')).ip, '127.0.0.1', 'Forwarded is not read when the header is X-Forwarded-For');
  const fwd = await gateway('client_ip: { header: forwarded }');
  assert.equal((await raw(fwd.port, 'Forwarded: for=6.6.6.6\r\nForwarded: for=203.0.113.9, for=10.1.2.3\r\n')).ip, '203.0.113.9');
  assert.equal((await raw(fwd.port, 'X-Forwarded-For: 203.0.113.9\r\n')).ip, '127.0.0.1', 'X-Forwarded-For is not read when the header is Forwarded');
});
