/**
 * Traffic listeners (HTTP, HTTPS, mTLS; HTTP/2 by ALPN or h2c: server/http2.ts) with protections on by default: header size, URL length,
 * headers and request timeouts (slowloris), keep-alive timeout, connection cap. Parse errors get a
 * problem+json reply written on the raw socket, then the connection is closed; requests the parser
 * refused are logged and inspected first (server/malformed.ts), never relaxed.
 */
import * as http from 'node:http';
import * as https from 'node:https';
import type { Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import type { ListenerConfig } from '../core/config.js';
import type { ListenerRuntime, Pipeline } from '../core/pipeline.js';
import { rawProblem } from '../core/problem.js';
import { replyToParserError } from './malformed.js';
import type { Logger } from '../core/services.js';
import { createHttp2Listener, http1Options, type Http2Listener, Sessions } from './http2.js';
import { floodReporter } from './h2-flood-report.js';

export interface RunningListener {
  readonly name: string;
  readonly server: http.Server | Http2Listener;
  readonly runtime: ListenerRuntime;
  readonly config: ListenerConfig;
  /** the bound port (useful with port 0) */
  port(): number;
  close(graceMs: number): Promise<void>;
}

type ClientError = NodeJS.ErrnoException & { rawPacket?: Buffer };

function onClientError(err: ClientError, socket: Socket, pipeline: Pipeline, runtime: ListenerRuntime, logger: Logger): void {
  if (!socket.writable || (socket as Socket & { _httpMessage?: unknown })._httpMessage) {
    socket.destroy();
    return;
  }
  let out: string;
  switch (err.code) {
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      out = rawProblem('PC_ERR_REQUEST_TIMEOUT', 408, 'Request Timeout');
      break;
    case 'ECONNRESET':
    case 'EPIPE':
      socket.destroy();
      return;
    default:
      out = parserErrorReply(err, socket, pipeline, runtime, logger);
  }
  logger.debug({ event: 'client_error', code: err.code, peer: socket.remoteAddress });
  socket.end(out);
  socket.destroySoon?.();
}

/**
 * A request llhttp refused (HPE_* codes): logged, counted and shown to the inspecting stages by
 * server/malformed.ts, which may refuse it otherwise (403 WAF); a plain 400 or 431 if that fails.
 */
function parserErrorReply(err: ClientError, socket: Socket, pipeline: Pipeline, runtime: ListenerRuntime, logger: Logger): string {
  const overflow = err.code === 'HPE_HEADER_OVERFLOW';
  if (err.code?.startsWith('HPE_') === true) {
    try {
      return replyToParserError(pipeline.outsideHost(), err, socket, runtime);
    } catch (e) {
      logger.error({ event: 'client_error_failed', code: err.code, err: e instanceof Error ? e.message : String(e) });
    }
  }
  return overflow ? rawProblem('PC_ERR_HEADERS_TOO_LARGE', 431, 'Request Header Fields Too Large') : rawProblem('PC_ERR_PROTOCOL', 400, 'Bad Request');
}

function refuseConnect(socket: Socket): void {
  socket.end(rawProblem('PC_ERR_METHOD_NOT_ALLOWED', 405, 'Method Not Allowed'));
  socket.destroySoon?.();
}

export async function startListener(cfg: ListenerConfig, baseDir: string, pipeline: Pipeline, logger: Logger): Promise<RunningListener> {
  const base = http1Options(cfg);
  let server: http.Server | Http2Listener;
  const clientAuth = cfg.tls?.client_auth ?? 'none';
  const h2 = cfg.protocols.includes('h2');
  const sessions = new Sessions();
  const runtime: ListenerRuntime = { info: { name: cfg.name, tls: cfg.tls !== undefined, clientAuth }, config: cfg };
  const floods = floodReporter(pipeline.outsideHost(), runtime);
  if (cfg.tls) {
    const { buildTlsOptions } = await import('./tls-options.js'); // only when a TLS listener is configured
    const tlsOptions = buildTlsOptions(cfg.tls, baseDir);
    server = h2 ? createHttp2Listener(cfg, tlsOptions, sessions, floods) : https.createServer({ ...base, ...tlsOptions });
    // client-initiated renegotiation could swap the certificate a connection was authorized with
    server.on('secureConnection', (socket: import('node:tls').TLSSocket) => socket.disableRenegotiation());
  } else {
    server = h2 ? createHttp2Listener(cfg, null, sessions, floods) : http.createServer(base);
  }
  const name = cfg.name;
  server.maxConnections = cfg.max_connections;
  if (server instanceof http.Server) server.maxRequestsPerSocket = cfg.max_requests_per_socket;
  // node:http2's compatibility request and response mirror node:http's (src/intake/http2.ts reads the rest)
  const handle = (req: http.IncomingMessage, res: http.ServerResponse): void => pipeline.handle(req, res, runtime);
  server.on('request', handle);
  // Expect: 100-continue: the pipeline sends 100 only when it is about to read the body, after the
  // checks that need no body; a request refused before gets its final status and no 100
  server.on('checkContinue', handle);
  // HTTP/1.1 protocol upgrades (WebSocket, RFC 6455): the same pipeline, on the raw socket (also the HTTP/1.1 side of an ALPN port)
  server.on('upgrade', (req: http.IncomingMessage, socket: import('node:stream').Duplex, head: Buffer) => pipeline.upgrade(req, socket, head, runtime));
  server.on('clientError', (err: ClientError, socket: Socket) => onClientError(err, socket, pipeline, runtime, logger));
  // CONNECT (a tunnel) is never offered: node:http would drop the connection without a word
  // (HTTP/2's CONNECT gets 405 from node:http2 already)
  if (!h2) server.on('connect', (_req: http.IncomingMessage, socket: Socket) => refuseConnect(socket));
  server.on('tlsClientError', (err: Error) => logger.debug({ event: 'tls_client_error', listener: name, err: err.message }));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(cfg.port, cfg.address, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    name,
    server,
    runtime,
    config: cfg,
    port: () => (server.address() as AddressInfo).port,
    close: (graceMs: number) =>
      new Promise<void>((resolve) => {
        // stop accepting; idle keep-alive connections close now, busy ones after their response
        server.close(() => resolve());
        if (!(server instanceof http.Server)) {
          // HTTP/2: GOAWAY to every session; sockets still open after the grace time are destroyed
          sessions.goaway();
          const timer = setTimeout(() => {
            sessions.destroyAll();
            resolve();
          }, graceMs);
          timer.unref();
          server.once('close', () => clearTimeout(timer));
          return;
        }
        const h1 = server;
        h1.closeIdleConnections();
        const timer = setTimeout(() => {
          h1.closeAllConnections();
          resolve();
        }, graceMs);
        timer.unref();
        const idle = setInterval(() => h1.closeIdleConnections(), 100);
        idle.unref();
        h1.once('close', () => {
          clearInterval(idle);
          clearTimeout(timer);
        });
      }),
  };
}
