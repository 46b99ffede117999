/**
 * The backend the runner puts behind the gateway, answering as albedo does (the backend the CRS
 * suite is written for, https://github.com/coreruleset/albedo): any method and path get 200 with
 * an empty body; `POST /reflect` answers what its JSON body asks (`status`, `headers`, `body` or
 * base64 `encodedBody`), which the response-phase tests (RESPONSE-95x) use. A test's
 * `input.response` is set for one request with `expect()`. With `echoBody`, the default answer
 * carries the request back as JSON (method, url, headers, body), as httpbin's /anything does;
 * off by default, since response-phase rules would then inspect every attack a second time.
 * Listens on 127.0.0.1 only; request bodies are read up to MAX_BODY bytes.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ReflectSpec } from './types.js';

const MAX_BODY = 16 * 1024 * 1024;
const pathOf = (uri: string): string => uri.split('?')[0] ?? uri;

export interface EchoUpstream {
  readonly port: number;
  /** the next request for `method` + the path of `uri` (the query left out) gets `spec`; null clears it */
  expect(method: string, uri: string, spec: ReflectSpec | null): void;
  close(): Promise<void>;
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= MAX_BODY) chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', () => resolve(Buffer.concat(chunks)));
  });
}

function answer(res: ServerResponse, spec: ReflectSpec): void {
  for (const h of spec.headers) {
    try {
      res.appendHeader(h.name, h.value);
    } catch {
      // a header node:http refuses (invalid characters) is left out
    }
  }
  res.statusCode = spec.status;
  res.end(spec.body);
}

/** albedo's reflection body: {status, headers, body, encodedBody}; null when it is not one. */
export function reflectSpec(body: Buffer): ReflectSpec | null {
  let j: unknown;
  try {
    j = JSON.parse(body.toString('utf8'));
  } catch {
    return null;
  }
  if (j === null || typeof j !== 'object' || Array.isArray(j)) return null;
  const o = j as Record<string, unknown>;
  const status = typeof o['status'] === 'number' && o['status'] > 0 ? o['status'] : 200;
  if (!Number.isInteger(status) || status < 100 || status > 599) return { status: 400, headers: [], body: Buffer.from(`Invalid status code: ${status}`) };
  const headers =
    o['headers'] !== null && typeof o['headers'] === 'object' && !Array.isArray(o['headers'])
      ? Object.entries(o['headers'] as Record<string, unknown>).map(([name, v]) => ({ name, value: String(v) }))
      : [];
  const text = typeof o['body'] === 'string' && o['body'] !== '' ? Buffer.from(o['body'], 'utf8') : null;
  const enc = typeof o['encodedBody'] === 'string' ? Buffer.from(o['encodedBody'], 'base64') : Buffer.alloc(0);
  return { status, headers, body: text ?? enc };
}

export async function startEchoUpstream(opts: { echoBody?: boolean } = {}): Promise<EchoUpstream> {
  const expected = new Map<string, ReflectSpec>();
  const server: Server = createServer((req, res) => {
    void readBody(req).then((body) => {
      const key = `${req.method ?? ''} ${pathOf(req.url ?? '/')}`;
      const once = expected.get(key);
      if (once !== undefined) {
        expected.delete(key);
        return answer(res, once);
      }
      const path = pathOf(req.url ?? '/');
      if (req.method === 'POST' && (path === '/reflect' || path.startsWith('/reflect/'))) {
        const spec = reflectSpec(body);
        return answer(res, spec ?? { status: 400, headers: [], body: Buffer.from('Invalid JSON in request body') });
      }
      if (opts.echoBody) {
        res.setHeader('content-type', 'application/json');
        return res.end(JSON.stringify({ method: req.method, url: req.url, headers: req.headers, body: body.toString('latin1') }));
      }
      res.statusCode = 200;
      res.end();
    });
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    expect(method, uri, spec) {
      const key = `${method} ${pathOf(uri)}`;
      if (spec === null) expected.delete(key);
      else expected.set(key, spec);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
