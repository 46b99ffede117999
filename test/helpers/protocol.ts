/**
 * The HTTP version a suite runs over, chosen by `PC_TEST_PROTOCOL`: `http1` (the default), `h2`
 * (TLS with ALPN h2; every cleartext listener gets the test PKI's server certificate) or `h2c`
 * (cleartext HTTP/2 with prior knowledge). startGateway rewrites the listeners of a config for it
 * (`forProtocol`), and `sendRequest` talks to a gateway in it: node:http(s) for http1, a real
 * node:http2 client for h2 and h2c. test/integration/http2-suites-*.test.ts run the stage suites
 * in each.
 */
import * as http from 'node:http';
import * as http2 from 'node:http2';
import * as https from 'node:https';
import { parseDocument } from 'yaml';
import { testPki } from './pki.js';
import * as net from 'node:net';
import { Duplex } from 'node:stream';
import { connect as tlsConnect } from 'node:tls';
import { FLAG, FRAME, PREFACE, frame, headerBlock } from './h2-raw.js';

export type TestProtocol = 'http1' | 'h2' | 'h2c';

export function testProtocol(): TestProtocol {
  const p = process.env.PC_TEST_PROTOCOL ?? 'http1';
  if (p !== 'http1' && p !== 'h2' && p !== 'h2c') throw new Error(`PC_TEST_PROTOCOL must be http1, h2 or h2c, not ${p}`);
  return p;
}

/**
 * A config's listeners rewritten for `protocol` (unchanged for http1): with h2, cleartext ones
 * get TLS and every one `[http/1.1, h2]`; with h2c, cleartext ones serve `[h2]` (TLS ones get
 * `[http/1.1, h2]`: h2c has no TLS).
 */
export function forProtocol(yamlText: string, protocol: TestProtocol = testProtocol()): string {
  if (protocol === 'http1') return yamlText;
  const doc = parseDocument(yamlText);
  const listeners = doc.get('listeners');
  if (listeners === undefined || listeners === null) return yamlText;
  const list = (listeners as { items: { get(k: string): unknown; set(k: string, v: unknown): void }[] }).items;
  for (const l of list) {
    if (l.get('protocols') !== undefined) continue; // the test chose its protocols itself
    const tls = l.get('tls') !== undefined;
    if (protocol === 'h2' && !tls) {
      const pki = testPki();
      l.set('tls', doc.createNode({ cert: pki.server.certPath, key: pki.server.keyPath }));
    }
    l.set('protocols', doc.createNode(protocol === 'h2c' && !tls ? ['h2'] : ['http/1.1', 'h2']));
  }
  return doc.toString();
}

export interface SentResponse {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Buffer;
  /** the HTTP version that served it: '1.1' or '2.0' */
  readonly httpVersion: string;
  text(): string;
  json(): Record<string, unknown>;
}

export interface SendOptions {
  readonly method?: string;
  /** as [name, value] pairs, so that a name can repeat */
  readonly headers?: readonly (readonly [string, string])[] | Readonly<Record<string, string>>;
  readonly body?: string | Buffer;
  /** the HTTP version to speak (default: testProtocol()) */
  readonly protocol?: TestProtocol;
  /** the request target as written (`/a/../b` is not resolved); `url` then gives the origin only */
  readonly path?: string;
  /** a client certificate for an mTLS listener */
  readonly clientCert?: { readonly cert: Buffer; readonly key: Buffer };
  /**
   * Reuse one connection per origin (HTTP/2: concurrent requests are streams of one session, as
   * browsers send them; HTTP/1.1: a keep-alive agent). Default: a connection per request.
   */
  readonly shared?: boolean;
}

const keepAlive = { http: new http.Agent({ keepAlive: true, maxSockets: 256 }), https: new https.Agent({ keepAlive: true, maxSockets: 256 }) };
const sessions = new Map<string, http2.ClientHttp2Session>();

/** The shared HTTP/2 session of an origin (unref'd: it never keeps a test process alive). */
function sharedSession(origin: string, tls: boolean): http2.ClientHttp2Session {
  const known = sessions.get(origin);
  if (known !== undefined && !known.closed && !known.destroyed) return known;
  const s = http2.connect(origin, tls ? tlsClient({}) : {});
  s.unref();
  s.on('error', () => sessions.delete(origin));
  s.on('close', () => sessions.delete(origin));
  s.on('goaway', () => sessions.delete(origin));
  sessions.set(origin, s);
  return s;
}

/** TLS options of a client of the test PKI's server certificate. */
function tlsClient(opts: SendOptions): { ca: Buffer; servername: string; cert?: Buffer; key?: Buffer } {
  return { ca: testPki().caBundle, servername: 'localhost', ...(opts.clientCert ?? {}) };
}

function pairs(h: SendOptions['headers']): [string, string][] {
  if (h === undefined) return [];
  if (Array.isArray(h)) return h.map(([k, v]) => [k, v]);
  return Object.entries(h as Record<string, string>);
}

function response(status: number, headers: http.IncomingHttpHeaders, body: Buffer, httpVersion: string): SentResponse {
  return { status, headers, body, httpVersion, text: () => body.toString('utf8'), json: () => JSON.parse(body.toString('utf8')) as Record<string, unknown> };
}

/**
 * One request to `url` (http: or https:, the test PKI's CA trusted) in the suite's protocol,
 * on a connection of its own. Over HTTP/2 the `host` pair (if any) becomes `:authority`.
 */
export function sendRequest(url: string, opts: SendOptions = {}): Promise<SentResponse> {
  // the suite's protocol is spoken to gateway listeners only (not to upstreams, IdPs, admin)
  const protocol = opts.protocol ?? (gatewayPorts.has(Number(new URL(url).port)) ? testProtocol() : 'http1');
  if (protocol === 'http1') return sendHttp1(url, opts);
  // node:http2's client refuses to repeat a singleton field (two Authorization): raw frames then
  const names = pairs(opts.headers).map(([k]) => k.toLowerCase());
  return names.some((n, i) => SINGLETONS.has(n) && names.indexOf(n) !== i) ? sendRawHttp2(url, opts) : sendHttp2(url, opts);
}

/** Listener ports of the gateways started by test/helpers/gateway.ts (which speak the suite's protocol). */
const gatewayPorts = new Set<number>();

export function registerGatewayPorts(ports: readonly number[]): void {
  for (const p of ports) gatewayPorts.add(p);
}

/** Fields node:http2's client sends once only (its kSingleValueHeaders, the ones tests repeat). */
const SINGLETONS: ReadonlySet<string> = new Set(['authorization', 'content-type', 'content-length', 'host', 'user-agent', 'from', 'referer', 'age', 'etag']);

/**
 * A request whose header block node:http2's client refuses to write: the client speaks through a
 * pipe that replaces its HEADERS frame of stream 1 by the fields as given (test/helpers/h2-raw.ts
 * encodes them), so that the response is still read (HPACK, Huffman) by node:http2.
 */
async function sendRawHttp2(url: string, opts: SendOptions): Promise<SentResponse> {
  const u = new URL(url);
  const tls = u.protocol === 'https:';
  const fields: [string, string][] = [
    [':method', opts.method ?? 'GET'],
    [':scheme', tls ? 'https' : 'http'],
    [':path', opts.path ?? `${u.pathname}${u.search}`],
    [':authority', u.host],
  ];
  for (const [k, v] of pairs(opts.headers)) fields.push([k.toLowerCase(), v]);
  const real: net.Socket = await new Promise((resolve, reject) => {
    const s = tls
      ? tlsConnect({ host: u.hostname, port: Number(u.port), ALPNProtocols: ['h2'], ...tlsClient(opts) }, () => resolve(s))
      : net.connect(Number(u.port), u.hostname, () => resolve(s));
    s.once('error', reject);
  });
  let buf = Buffer.alloc(0);
  let prefaceLeft = PREFACE.length;
  let replaced = false;
  const wire = new Duplex({
    write(chunk: Buffer, _enc, cb) {
      buf = Buffer.concat([buf, chunk]);
      const out: Buffer[] = [];
      if (prefaceLeft > 0) {
        const n = Math.min(prefaceLeft, buf.length);
        out.push(buf.subarray(0, n));
        buf = buf.subarray(n);
        prefaceLeft -= n;
      }
      while (prefaceLeft === 0 && buf.length >= 9) {
        const len = buf.readUIntBE(0, 3);
        if (buf.length < 9 + len) break;
        const f = buf.subarray(0, 9 + len);
        buf = buf.subarray(9 + len);
        const isRequest = f[3] === FRAME.HEADERS && (f.readUInt32BE(5) & 0x7fffffff) === 1;
        if (isRequest && !replaced) {
          replaced = true;
          // END_STREAM and END_HEADERS as the client set them; no padding or priority in the new block
          out.push(frame(FRAME.HEADERS, (f[4] as number) & (FLAG.END_STREAM | FLAG.END_HEADERS), 1, headerBlock(fields)));
        } else out.push(f);
      }
      if (out.length > 0) real.write(Buffer.concat(out));
      cb();
    },
    read() {},
    final(cb) {
      real.end();
      cb();
    },
  });
  real.on('data', (d: Buffer) => wire.push(d));
  real.on('end', () => wire.push(null));
  real.on('error', (e) => wire.destroy(e));
  const first = new Map<string, string>();
  for (const [k, v] of pairs(opts.headers)) if (!first.has(k.toLowerCase())) first.set(k.toLowerCase(), v);
  return sendHttp2(url, { ...opts, headers: [...first] }, () => wire);
}

function sendHttp1(url: string, opts: SendOptions): Promise<SentResponse> {
  const u = new URL(url);
  const headers: Record<string, string | string[]> = {};
  for (const [k, v] of pairs(opts.headers)) {
    const prev = headers[k];
    headers[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
  }
  const tls = u.protocol === 'https:';
  const agent = opts.shared === true ? (tls ? keepAlive.https : keepAlive.http) : false;
  const base = { host: u.hostname, port: u.port, path: opts.path ?? `${u.pathname}${u.search}`, method: opts.method ?? 'GET', headers, agent };
  return new Promise((resolve, reject) => {
    const onResponse = (res: http.IncomingMessage): void => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve(response(res.statusCode ?? 0, res.headers, Buffer.concat(chunks), res.httpVersion)));
      res.on('error', reject);
    };
    const req = tls ? https.request({ ...base, ...tlsClient(opts) }, onResponse) : http.request(base, onResponse);
    req.on('error', reject);
    req.end(opts.body);
  });
}

function sendHttp2(url: string, opts: SendOptions, createConnection?: () => Duplex): Promise<SentResponse> {
  const u = new URL(url);
  const tls = u.protocol === 'https:';
  // :authority as the URL names it (node:http2 would send the TLS servername): as HTTP/1.1 clients send Host
  const headers: http2.OutgoingHttpHeaders = { ':method': opts.method ?? 'GET', ':path': opts.path ?? `${u.pathname}${u.search}`, ':authority': u.host };
  for (const [k, v] of pairs(opts.headers)) {
    const name = k.toLowerCase();
    if (name === 'host') {
      headers[':authority'] = v;
      continue;
    }
    const prev = headers[name];
    headers[name] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [String(prev), v];
  }
  const shared = opts.shared === true && createConnection === undefined && opts.clientCert === undefined;
  return new Promise((resolve, reject) => {
    const session = shared
      ? sharedSession(`${u.protocol}//${u.host}`, tls)
      : createConnection === undefined
        ? http2.connect(`${u.protocol}//${u.host}`, tls ? tlsClient(opts) : {})
        : http2.connect(`http://${u.host}`, { createConnection });
    const close = (): void => {
      if (!shared) session.close();
    };
    const destroy = (): void => {
      if (!shared) session.destroy();
    };
    if (!shared) session.on('error', reject);
    const stream = session.request(headers, { endStream: opts.body === undefined });
    let status = 0;
    let out: http.IncomingHttpHeaders = {};
    const chunks: Buffer[] = [];
    stream.on('response', (h) => {
      status = Number(h[':status']);
      out = {};
      for (const k in h) if (!k.startsWith(':')) out[k] = h[k] as string | string[];
    });
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => {
      close();
      if (status === 0) reject(new Error(`stream ended without a response (code ${stream.rstCode})`));
      else resolve(response(status, out, Buffer.concat(chunks), '2.0'));
    });
    stream.on('error', (e) => {
      destroy();
      reject(e);
    });
    // a session refused after the handshake (TLS 1.3 client certificates) ends the stream without a response
    stream.on('close', () => {
      if (status === 0) {
        destroy();
        reject(new Error(`stream closed without a response (code ${stream.rstCode})`));
      }
    });
    if (opts.body !== undefined) stream.end(opts.body);
  });
}

/**
 * Streams a body of `size` bytes (spaces) to `url` with a declared Content-Length and resolves
 * with the status as soon as the response head arrives (the gateway may answer before the end).
 */
export function sendStreamed(url: string, size: number, headers: Readonly<Record<string, string>>, protocol: TestProtocol = testProtocol()): Promise<number> {
  const u = new URL(url);
  const tls = u.protocol === 'https:';
  const chunk = Buffer.alloc(1 << 20, 0x20);
  const all = { ...headers, 'content-length': String(size) };
  return new Promise((resolve, reject) => {
    let stop = (): void => undefined;
    let write: (b: Buffer) => boolean;
    let end: () => void;
    let onDrain: (fn: () => void) => void;
    if (protocol === 'http1') {
      const opts = { method: 'POST', headers: all, agent: false };
      const onResponse = (res: http.IncomingMessage): void => {
        res.resume();
        resolve(res.statusCode ?? 0);
        req.destroy();
      };
      const req = tls ? https.request(url, { ...opts, ...tlsClient({}) }, onResponse) : http.request(url, opts, onResponse);
      req.on('error', reject);
      write = (b) => req.write(b);
      end = () => req.end();
      onDrain = (fn) => req.once('drain', fn);
    } else {
      const session = http2.connect(`${u.protocol}//${u.host}`, tls ? tlsClient({}) : {});
      session.on('error', reject);
      const stream = session.request({ ':method': 'POST', ':path': `${u.pathname}${u.search}`, ...all });
      stream.on('response', (h) => {
        resolve(Number(h[':status']));
        session.destroy();
      });
      stream.on('error', reject);
      stop = () => session.destroy();
      write = (b) => stream.write(b);
      end = () => stream.end();
      onDrain = (fn) => stream.once('drain', fn);
    }
    let sent = 0;
    const pump = (): void => {
      try {
        while (sent < size) {
          const n = Math.min(chunk.length, size - sent);
          sent += n;
          if (!write(n === chunk.length ? chunk : chunk.subarray(0, n))) return void onDrain(pump);
        }
        end();
      } catch {
        stop();
      }
    };
    pump();
  });
}
