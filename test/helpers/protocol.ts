/**
 * The HTTP version a suite runs over, chosen by `PC_TEST_PROTOCOL`: `http1` (the default), `h2`
 * (TLS with ALPN h2; every cleartext listener gets the test PKI's server certificate) or `h2c`
 * (cleartext HTTP/2 with prior knowledge). startGateway rewrites the listeners of a config for it
 * (`forProtocol`), and `sendRequest` talks to a gateway in it: node:http(s) for http1, a real
 * node:http2 client for h2 and h2c. test/integration/http2-suites.test.ts runs the stage suites
 * in each.
 */
import * as http from 'node:http';
import * as http2 from 'node:http2';
import * as https from 'node:https';
import { parseDocument } from 'yaml';
import { testPki } from './pki.js';

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
  const protocol = opts.protocol ?? testProtocol();
  return protocol === 'http1' ? sendHttp1(url, opts) : sendHttp2(url, opts);
}

function sendHttp1(url: string, opts: SendOptions): Promise<SentResponse> {
  const u = new URL(url);
  const headers: Record<string, string | string[]> = {};
  for (const [k, v] of pairs(opts.headers)) {
    const prev = headers[k];
    headers[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
  }
  const tls = u.protocol === 'https:';
  const base = { host: u.hostname, port: u.port, path: `${u.pathname}${u.search}`, method: opts.method ?? 'GET', headers, agent: false };
  return new Promise((resolve, reject) => {
    const onResponse = (res: http.IncomingMessage): void => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve(response(res.statusCode ?? 0, res.headers, Buffer.concat(chunks), res.httpVersion)));
      res.on('error', reject);
    };
    const req = tls ? https.request({ ...base, ca: testPki().caBundle, servername: 'localhost' }, onResponse) : http.request(base, onResponse);
    req.on('error', reject);
    req.end(opts.body);
  });
}

function sendHttp2(url: string, opts: SendOptions): Promise<SentResponse> {
  const u = new URL(url);
  const tls = u.protocol === 'https:';
  const headers: http2.OutgoingHttpHeaders = { ':method': opts.method ?? 'GET', ':path': `${u.pathname}${u.search}` };
  for (const [k, v] of pairs(opts.headers)) {
    const name = k.toLowerCase();
    if (name === 'host') {
      headers[':authority'] = v;
      continue;
    }
    const prev = headers[name];
    headers[name] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [String(prev), v];
  }
  return new Promise((resolve, reject) => {
    const session = http2.connect(`${u.protocol}//${u.host}`, tls ? { ca: testPki().caBundle, servername: 'localhost' } : {});
    session.on('error', reject);
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
      session.close();
      resolve(response(status, out, Buffer.concat(chunks), '2.0'));
    });
    stream.on('error', (e) => {
      session.destroy();
      reject(e);
    });
    if (opts.body !== undefined) stream.end(opts.body);
  });
}
