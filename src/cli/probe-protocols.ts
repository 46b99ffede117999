/**
 * The probe's steps over the other protocols a gateway offers (issue 22): the protected route
 * without a token over HTTP/2 (ALPN `h2` on https, or h2c with prior knowledge when asked), and a
 * WebSocket handshake without a token on a route that offers WebSocket. Each must be refused with
 * 401/403 as over HTTP/1.1: a gateway that checks tokens on one protocol and not on another
 * (Envoy Gateway's WebSocket routes with JWT, for one) leaks through the other.
 */
import * as http2 from 'node:http2';
import * as tls from 'node:tls';
import { isIP } from 'node:net';
import { WebSocket } from 'ws';

/** One row of the probe's table (the shape of probe.ts's StepResult). */
export interface ProtocolStep {
  readonly name: string;
  readonly expected: string;
  readonly got: string;
  readonly status: 'pass' | 'fail' | 'skip';
}

export interface ProtocolProbe {
  readonly base: URL;
  /** TLS options of the target (CA, client certificate) */
  readonly tls: { readonly ca?: Buffer; readonly cert?: Buffer; readonly key?: Buffer };
  readonly timeoutMs: number;
}

/** A refusal the gateway answered, for the access-trail step. */
export interface ProtocolRefusal {
  readonly step: string;
  readonly requestId: string | null;
}

/** The problem code and request id of a refusal body (null when it is not problem+json). */
export function codeOf(text: string): { code: string | null; requestId: string | null } {
  try {
    const j = JSON.parse(text) as { code?: unknown; request_id?: unknown };
    return { code: typeof j.code === 'string' ? j.code : null, requestId: typeof j.request_id === 'string' ? j.request_id : null };
  } catch {
    return { code: null, requestId: null };
  }
}

const servername = (host: string): { servername?: string } => (isIP(host.replace(/^\[|\]$/g, '')) === 0 ? { servername: host } : {});

/** The protocol an https target selects by ALPN when offered h2 and http/1.1 (false: none), or an error. */
function alpnOf(p: ProtocolProbe): Promise<string | false | Error> {
  const u = p.base;
  return new Promise((resolve) => {
    const s = tls.connect({
      host: u.hostname.replace(/^\[|\]$/g, ''),
      port: Number(u.port || 443),
      ALPNProtocols: ['h2', 'http/1.1'],
      ...servername(u.hostname),
      ...p.tls,
    });
    const timer = setTimeout(() => s.destroy(new Error('timeout')), p.timeoutMs);
    s.once('secureConnect', () => {
      clearTimeout(timer);
      const a = s.alpnProtocol ?? false;
      s.end();
      resolve(a);
    });
    s.once('error', (e) => {
      clearTimeout(timer);
      resolve(e);
    });
  });
}

/** GET `path` over HTTP/2 without credentials: status, problem code and request id, or an error. */
function h2Get(p: ProtocolProbe, path: string): Promise<{ status: number; code: string | null; requestId: string | null } | Error> {
  return new Promise((resolve) => {
    const session = http2.connect(p.base.origin, { ...p.tls, ...servername(p.base.hostname) });
    let done = false;
    const finish = (r: { status: number; code: string | null; requestId: string | null } | Error): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      session.destroy();
      resolve(r);
    };
    const timer = setTimeout(() => finish(new Error('timeout')), p.timeoutMs);
    session.once('error', (e) => finish(e));
    const req = session.request({ ':method': 'GET', ':path': path });
    req.once('error', (e) => finish(e));
    req.once('response', (headers) => {
      let text = '';
      req.setEncoding('utf8');
      req.on('data', (c: string) => {
        if (text.length < 65536) text += c;
      });
      req.once('end', () => {
        const { code, requestId } = codeOf(text);
        const id = headers['x-request-id'];
        finish({ status: Number(headers[':status']), code, requestId: requestId ?? (typeof id === 'string' ? id : null) });
      });
    });
    req.end();
  });
}

/** The protected route without a token over HTTP/2: 401/403 expected; skipped when the target offers no HTTP/2. */
export async function probeHttp2(p: ProtocolProbe, path: string, h2c: boolean): Promise<{ row: ProtocolStep; refusal: ProtocolRefusal | null }> {
  const name = 'HTTP/2 call without a token';
  const expected = '401 or 403';
  if (p.base.protocol === 'https:') {
    const a = await alpnOf(p);
    if (a instanceof Error) return { row: { name, expected, got: `TLS error ${a.message}`, status: 'fail' }, refusal: null };
    if (a !== 'h2')
      return { row: { name, expected: 'h2 offered by ALPN', got: `not offered (ALPN: ${a === false ? 'none' : a})`, status: 'skip' }, refusal: null };
  } else if (!h2c) {
    return { row: { name, expected: 'h2 (pass --h2c for prior knowledge)', got: 'not run (http target)', status: 'skip' }, refusal: null };
  }
  const r = await h2Get(p, path);
  if (r instanceof Error) {
    const e = r as Error & { code?: string };
    return { row: { name, expected, got: `error ${e.code ?? e.message}`, status: 'fail' }, refusal: null };
  }
  const ok = r.status === 401 || r.status === 403;
  return {
    row: { name, expected, got: `${r.status}${r.code ? ` ${r.code}` : ''}`, status: ok ? 'pass' : 'fail' },
    refusal: ok ? { step: 'http/2 no token', requestId: r.requestId } : null,
  };
}

type Handshake = { kind: 'switched' } | { kind: 'status'; status: number; code: string | null; requestId: string | null } | { kind: 'error'; message: string };

/** A WebSocket handshake on `path` with `headers`; the connection is closed at once when it opens. */
function wsHandshake(p: ProtocolProbe, path: string, headers: Record<string, string>): Promise<Handshake> {
  return new Promise((resolve) => {
    const url = `${p.base.origin.replace(/^http/, 'ws')}${path}`;
    let done = false;
    const finish = (h: Handshake): void => {
      if (done) return;
      done = true;
      resolve(h);
    };
    let ws: WebSocket;
    try {
      ws = new WebSocket(url, {
        headers,
        handshakeTimeout: p.timeoutMs,
        perMessageDeflate: false,
        followRedirects: false,
        ...p.tls,
        ...servername(p.base.hostname),
      });
    } catch (e) {
      return finish({ kind: 'error', message: (e as Error).message });
    }
    ws.once('upgrade', () => {
      finish({ kind: 'switched' });
      ws.close(1000);
      setTimeout(() => ws.terminate(), 1000).unref();
    });
    ws.once('unexpected-response', (req, res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        if (text.length < 65536) text += c;
      });
      res.once('end', () => {
        const { code, requestId } = codeOf(text);
        const id = res.headers['x-request-id'];
        finish({ kind: 'status', status: res.statusCode ?? 0, code, requestId: requestId ?? (typeof id === 'string' ? id : null) });
        req.destroy();
      });
      res.once('error', () => finish({ kind: 'error', message: 'response error' }));
    });
    ws.once('error', (e: Error & { code?: string }) => finish({ kind: 'error', message: e.code ?? e.message }));
  });
}

/**
 * The route does not offer WebSocket: no route (404, 405), the upgrade refused (400 on a route
 * without WebSocket, 426 another version) or ignored (2xx, 3xx: served as a plain request), or a
 * port that does not speak HTTP/1.1. 401/403 are the refusal looked for; 5xx means the gateway
 * went on to the upstream with the unauthenticated handshake, 101 that it opened the connection.
 */
function notOffered(h: Handshake): boolean {
  // HPE_*: the answer was not HTTP/1.1 at all (an h2c port answers with HTTP/2 frames)
  if (h.kind === 'error') return h.message.startsWith('HPE_');
  return h.kind === 'status' && h.status < 500 && h.status !== 401 && h.status !== 403;
}

const describe = (h: Handshake): string =>
  h.kind === 'switched' ? '101 Switching Protocols' : h.kind === 'error' ? `error ${h.message}` : `${h.status}${h.code ? ` ${h.code}` : ''}`;

/**
 * A WebSocket handshake without a token on `path`: 401/403 expected, never 101. With a token, the
 * same handshake with it must get 101 first, which shows that the route does offer WebSocket; the
 * step is skipped when it does not (no route, upgrades refused, or no 101 with the token either).
 */
export async function probeWebSocket(
  p: ProtocolProbe,
  path: string,
  auth: Record<string, string>,
): Promise<{ rows: ProtocolStep[]; refusal: ProtocolRefusal | null }> {
  const name = 'WebSocket without a token';
  const expected = '401 or 403, never 101';
  const bare = await wsHandshake(p, path, {});
  if (notOffered(bare)) {
    return { rows: [{ name, expected: `a WebSocket route at ${path} (--ws-route)`, got: `not offered (${describe(bare)})`, status: 'skip' }], refusal: null };
  }
  const ok = bare.kind === 'status' && (bare.status === 401 || bare.status === 403);
  if (ok && auth.authorization !== undefined) {
    const withToken = await wsHandshake(p, path, auth);
    if (withToken.kind !== 'switched') {
      return {
        rows: [{ name, expected: `a WebSocket route at ${path} (--ws-route)`, got: `no 101 with the token either (${describe(withToken)})`, status: 'skip' }],
        refusal: null,
      };
    }
  }
  return {
    rows: [{ name, expected, got: describe(bare), status: ok ? 'pass' : 'fail' }],
    refusal: ok && bare.kind === 'status' ? { step: 'websocket no token', requestId: bare.requestId } : null,
  };
}
