/**
 * HTTP/2 listeners: TLS with ALPN (h2, and http/1.1 on the same port when the listener serves
 * both) or cleartext h2c with prior knowledge. Requests arrive through node:http2's compatibility
 * API, whose request and response mirror node:http's, so that one pipeline serves both versions
 * (src/intake/http2.ts brings the header block to the HTTP/1.1 form).
 *
 * Every session passes through `watchSession`: the one place where a connection's own limits
 * live (idle timeout, graceful close, the flood budgets of src/server/h2-floods.ts).
 */
import type { IncomingHttpHeaders, ServerOptions } from 'node:http';
import * as http2 from 'node:http2';
import type { Socket } from 'node:net';
import type { ListenerConfig } from '../core/config.js';
import { rawProblem } from '../core/problem.js';
import type { TlsServerOptions } from './tls-options.js';
import { FloodGuard, type FloodSink } from './h2-floods.js';

export type Http2Listener = http2.Http2Server | http2.Http2SecureServer;

/** The open sessions (and sockets, HTTP/1.1 ones included) of one listener, for a graceful close. */
export class Sessions {
  private readonly open = new Set<http2.ServerHttp2Session>();
  private readonly sockets = new Set<Socket>();

  addSocket(socket: Socket): void {
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
  }

  /** Destroys every connection still open (the end of the grace time). */
  destroyAll(): void {
    for (const s of this.open) s.destroy();
    for (const s of this.sockets) s.destroy();
  }

  add(session: http2.ServerHttp2Session): void {
    this.open.add(session);
    session.once('close', () => this.open.delete(session));
  }

  /** GOAWAY to every session: in-flight streams finish, no new ones start. */
  goaway(): void {
    for (const s of this.open) s.close();
  }
}

/** node:http's parser limits of a listener, for its HTTP/1.1 server or the HTTP/1.1 side of an ALPN port. */
export function http1Options(cfg: ListenerConfig): ServerOptions {
  return {
    maxHeaderSize: cfg.max_header_bytes,
    requestTimeout: cfg.request_timeout_ms,
    headersTimeout: Math.min(cfg.headers_timeout_ms, cfg.request_timeout_ms),
    keepAliveTimeout: cfg.keep_alive_timeout_ms,
    // Node checks the two timeouts above on this interval (30 s by default): keep it short so
    // that slow clients are cut off close to the configured time.
    connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(cfg.headers_timeout_ms / 4))),
    requireHostHeader: true,
    joinDuplicateHeaders: false,
    insecureHTTPParser: false,
  };
}

const baseHeaders = Object.getOwnPropertyDescriptor(http2.Http2ServerRequest.prototype, 'headers')?.get;
const baseRawHeaders = Object.getOwnPropertyDescriptor(http2.Http2ServerRequest.prototype, 'rawHeaders')?.get;

/**
 * node:http2's compatibility request whose header fields intake replaces by their HTTP/1.1 reading
 * (src/intake/http2.ts sets `h1Headers` and `h1RawHeaders`). Why a subclass: replacing the
 * getters per request (Object.defineProperty) turned every request object into a slow
 * dictionary-mode object (measured: about 14 µs a request).
 */
export class GatewayHttp2Request extends http2.Http2ServerRequest {
  h1Headers: IncomingHttpHeaders | null = null;
  h1RawHeaders: string[] | null = null;
}
if (baseHeaders !== undefined && baseRawHeaders !== undefined) {
  Object.defineProperty(GatewayHttp2Request.prototype, 'headers', {
    get(this: GatewayHttp2Request) {
      return this.h1Headers ?? baseHeaders.call(this);
    },
    configurable: true,
  });
  Object.defineProperty(GatewayHttp2Request.prototype, 'rawHeaders', {
    get(this: GatewayHttp2Request) {
      return this.h1RawHeaders ?? baseRawHeaders.call(this);
    },
    configurable: true,
  });
}

function settings(cfg: ListenerConfig): http2.Settings {
  return {
    // the header block (names and values, as HPACK counts them) bounded as over HTTP/1.1
    maxHeaderListSize: cfg.max_header_bytes,
    // streams one client may open at once (`http2.max_concurrent_streams`, 100 by default)
    maxConcurrentStreams: cfg.http2.max_concurrent_streams,
    enablePush: false,
  };
}

/**
 * The HTTP/2 server of a listener whose `protocols` include h2: TLS (`tlsOptions`) or cleartext.
 * With TLS and http/1.1, clients without ALPN h2 are served by node:http's parser with the same
 * limits as an HTTP/1.1-only listener (they are set on the server object, where that parser reads them).
 */
export function createHttp2Listener(cfg: ListenerConfig, tlsOptions: TlsServerOptions | null, sessions: Sessions, floods: FloodSink): Http2Listener {
  const allowHTTP1 = cfg.protocols.includes('http/1.1');
  const common = {
    settings: settings(cfg),
    Http2ServerRequest: GatewayHttp2Request,
    // node's own flood counters (src/server/h2-floods.ts reports the sessions they close)
    maxSessionInvalidFrames: cfg.http2.max_invalid_frames,
    maxSessionRejectedStreams: cfg.http2.max_rejected_streams,
  };
  const guard = new FloodGuard(cfg.http2, cfg.name, floods);
  const server: Http2Listener = tlsOptions === null ? http2.createServer(common) : http2.createSecureServer({ ...common, ...tlsOptions, allowHTTP1 });
  // read by node:http's connection listener, which serves the http/1.1 side of the port
  if (allowHTTP1) Object.assign(server, http1Options(cfg), { maxRequestsPerSocket: cfg.max_requests_per_socket });
  server.on('session', (session: http2.ServerHttp2Session) => watchSession(session, cfg, sessions, guard));
  // `[h2]` with TLS: a client that did not negotiate h2 gets a problem reply and the connection is closed
  // (node:http2 would answer a bare 403 after a delay)
  server.on('unknownProtocol', (socket: Socket) => {
    socket.end(rawProblem('PC_ERR_PROTOCOL', 400, 'Bad Request'));
    socket.destroySoon?.();
  });
  server.on(tlsOptions === null ? 'connection' : 'secureConnection', (socket: Socket) => sessions.addSocket(socket));
  return server;
}

/**
 * A new HTTP/2 connection: tracked for shutdown, closed (GOAWAY) after `keep_alive_timeout_ms`
 * without any frame while no stream is open, and held to its flood budgets.
 */
function watchSession(session: http2.ServerHttp2Session, cfg: ListenerConfig, sessions: Sessions, guard: FloodGuard): void {
  sessions.add(session);
  guard.watch(session);
  let streams = 0;
  session.on('stream', (stream: http2.ServerHttp2Stream) => {
    streams++;
    stream.once('close', () => streams--);
  });
  session.setTimeout(cfg.keep_alive_timeout_ms, () => {
    if (streams === 0) session.close();
  });
  session.on('error', () => session.destroy());
}
