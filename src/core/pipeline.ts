/**
 * The request pipeline: intake → client checks → route → request stages by phase → forward →
 * observe. Stages return decisions (continue, deny, respond); only this file writes local replies
 * (problem+json with the stable code and the request id, or a stage's own response). What the
 * kernel does not decide itself is asked of the snapshot: the intake reader (src/intake/), the
 * router, each route's body reader (src/body/) and forwarder (src/proxy/). Synchronous stages stay
 * synchronous: a promise is awaited only when a stage returns one, so the common path allocates little.
 */
import { performance } from 'node:perf_hooks';
import { Buffer } from 'node:buffer';
import { type IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex, Readable } from 'node:stream';
import { Context, type ListenerInfo } from './context.js';
import { newRequestId } from './request-id.js';
import { isRespond, type Decision, type Deny, type Respond } from './decision.js';
import { ERRORS } from './errors.js';
import { writeProblem } from './problem.js';
import { grpcRefusalMessage, grpcStatusOf, grpcWireOf, writeGrpcRefusal } from './grpc.js';
import type { Logger, Services } from './services.js';
import type { ListenerConfig } from './config.js';
import type { BodyStep } from './reading.js';
import { accessRecord } from './record.js';
import { TIMING_INTAKE } from './trace.js';
import type { AccessLogSink, CompiledRoute, Replies, RequestContext, RouteStage, Snapshot } from './stage.js';

export interface ListenerRuntime {
  readonly info: ListenerInfo;
  readonly config: ListenerConfig;
}

/** What the pipeline needs from the gateway that owns it. */
export interface PipelineHost {
  readonly services: Services;
  /** the current snapshot; read once per request */
  snapshot(): Snapshot;
  /** the access-log writer, or null when disabled */
  accessLog(): AccessLogSink | null;
  shuttingDown(): boolean;
  /** called when a retired snapshot's last request finished */
  released(snap: Snapshot): void;
}

/** Declared bodies up to this size are buffered before proxying (cheaper than streaming). */
const SMALL_BODY = 16 * 1024;
const REQUEST_ID_OK = /^[A-Za-z0-9._:-]{1,128}$/;
/** RFC 9113 error codes a stream is reset with */
const NGHTTP2_NO_ERROR = 0;
const NGHTTP2_CANCEL = 8;

function isThenable<T>(v: unknown): v is PromiseLike<T> {
  return v !== null && typeof v === 'object' && typeof (v as { then?: unknown }).then === 'function';
}

export class Pipeline implements Replies {
  private readonly services: Services;
  private readonly logger: Logger;

  constructor(private readonly host: PipelineHost) {
    this.services = host.services;
    this.logger = host.services.logger;
  }

  /**
   * Entry point for an HTTP/1.1 request that asks to switch protocols (node:http's 'upgrade'
   * event: its socket has left the HTTP parser). A response bound to the raw socket carries any
   * local reply (then the connection closes); a WebSocket upgrade passes every request stage and
   * is handed to the route's upgrader in place of the forwarder. Another protocol is not switched
   * to: the request is served as an ordinary one (RFC 9110 section 7.8 lets a server ignore Upgrade).
   */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, listener: ListenerRuntime): void {
    // until a WebSocket owns it, a reset socket must not throw (the HTTP server's handler is gone)
    socket.on('error', () => socket.destroy());
    if (head.length > 0) socket.unshift(head);
    const res = new ServerResponse(req);
    res.shouldKeepAlive = false;
    res.assignSocket(socket as Socket);
    res.once('finish', () => (socket as Socket).destroySoon());
    const token = req.headers.upgrade;
    const ws = typeof token === 'string' && /(^|,)\s*websocket\s*(,|$)/i.test(token);
    this.handle(req, res, listener, ws ? 'websocket' : 'other');
  }

  /** Entry point for every request on a traffic listener. */
  handle(req: IncomingMessage, res: ServerResponse, listener: ListenerRuntime, upgrade: 'websocket' | 'other' | null = null): void {
    const snap = this.host.snapshot();
    snap.inFlight++;
    this.services.metrics.inFlightCount++;
    const startMs = performance.now();
    const now = this.services.clock();
    const cfg = snap.config;
    const peer = req.socket.remoteAddress ?? '';
    const peerTrusted = snap.trusted.has(peer);
    const incomingId = req.headers[snap.requestIdHeader];
    const id = peerTrusted && cfg.request_id.trust_incoming && typeof incomingId === 'string' && REQUEST_ID_OK.test(incomingId) ? incomingId : newRequestId();
    const ctx: RequestContext = new Context<Snapshot, CompiledRoute>(id, req, res, snap, listener.info, startMs, now, peer);
    ctx.peerTrusted = peerTrusted;
    ctx.upgrade = upgrade;
    if (snap.tracer !== null) ctx.trace = snap.tracer.begin(ctx);
    // 'close' is emitted once per response (finished or aborted); `on` spares the once-wrapper
    if (ctx.http2) {
      const sent = meterHttp2(req);
      res.on('close', () => {
        ctx.bytesOut = sent();
        this.finish(ctx);
      });
    } else {
      const socket = req.socket;
      const baseWritten = socket.bytesWritten;
      res.on('close', () => {
        ctx.bytesOut = socket.bytesWritten - baseWritten;
        this.finish(ctx);
      });
    }
    if (this.host.shuttingDown() && !ctx.http2) res.setHeader('connection', 'close');

    // ---- intake: one reading of the request line, target and headers (src/intake/) -----------
    const refused = snap.intake(ctx, listener.config);
    if (refused !== undefined) {
      // what intake refuses is inspected all the same, as what the HTTP parser refuses is
      // (server/malformed.ts): the WAF records what it saw; intake's refusal, more precise, stays
      if (snap.malformedInspectors.length > 0) inspectRefused(ctx, snap);
      return void this.reply(ctx, refused, 'intake');
    }
    // node:http's request timeout does not cover HTTP/2 streams: a body still arriving then is cut off here
    if (ctx.http2 && ctx.announcesBody()) this.bodyDeadline(ctx, listener.config.request_timeout_ms);

    if (snap.clientChecks.length > 0) {
      const r = this.runChecks(ctx, snap, 0);
      if (isThenable<boolean>(r)) {
        r.then(
          (ok) => ok && this.route(ctx, snap),
          (e: unknown) => this.internalError(ctx, e),
        );
        return;
      }
      if (!r) return;
    }
    this.route(ctx, snap);
  }

  /** Runs client checks (bans, deny lists); false when a reply was written. */
  private runChecks(ctx: RequestContext, snap: Snapshot, from: number): boolean | Promise<boolean> {
    for (let i = from; i < snap.clientChecks.length; i++) {
      const d = (snap.clientChecks[i] as (c: RequestContext) => Decision | Promise<Decision>)(ctx);
      if (isThenable<Decision>(d)) {
        return Promise.resolve(d).then((dd) => {
          if (dd) {
            this.decide(ctx, dd, 'intake');
            return false;
          }
          return this.runChecks(ctx, snap, i + 1);
        });
      }
      if (d) {
        this.decide(ctx, d, 'intake');
        return false;
      }
    }
    return true;
  }

  // ---- route ---------------------------------------------------------------------------------
  private route(ctx: RequestContext, snap: Snapshot): void {
    ctx.phase = 'route';
    const m = snap.router.find(ctx.method, ctx.host, ctx.path, ctx.pathHasParameters);
    if (ctx.timings !== null) ctx.timings.push(TIMING_INTAKE, ctx.startMs, performance.now());
    if (m.kind === 'none') return void this.reply(ctx, { code: 'PC_ERR_ROUTE_NOT_FOUND' }, 'route');
    if (m.kind === 'method') return void this.reply(ctx, { code: 'PC_ERR_METHOD_NOT_ALLOWED', headers: { allow: m.allow.join(', ') } }, 'route');
    const route = m.value;
    ctx.route = route;
    ctx.params = m.params;
    if (ctx.upgrade !== null) {
      const refused = this.upgradeRefusal(ctx, route);
      if (refused !== undefined) return void this.reply(ctx, refused, 'websocket');
    }
    const cl = ctx.req.headers['content-length'];
    if (cl !== undefined) {
      const n = Number(cl);
      if (!Number.isSafeInteger(n) || n < 0) return void this.reply(ctx, { code: 'PC_ERR_PROTOCOL', reason: 'invalid content-length' }, 'intake');
      if (n > route.maxBodyBytes) return void this.reply(ctx, { code: 'PC_ERR_BODY_TOO_LARGE' }, 'intake');
      ctx.bytesIn = n;
    }
    this.runStages(ctx, route, 0);
  }

  /** Runs the route's request stages from index `i`; continues asynchronously only when needed. */
  private runStages(ctx: RequestContext, route: CompiledRoute, from: number): void {
    const stages = route.requestStages;
    for (let i = from; i < stages.length; i++) {
      const stage = stages[i] as RouteStage;
      // a streaming route (gRPC) never buffers its body: its stages read the headers only
      if (stage.needsBody === true && route.streaming !== true && ctx.bodyReading === null && ctx.bodyRefusal === null && ctx.announcesBody()) {
        if (ctx.body === null) {
          this.readBody(ctx, route.maxBodyBytes).then(
            (ok) => ok && this.runStages(ctx, route, i),
            (e: unknown) => this.internalError(ctx, e),
          );
          return;
        }
        const step = route.body.read(ctx.body, ctx.req.headers['content-encoding'], ctx.media);
        if (isThenable<BodyStep>(step)) {
          Promise.resolve(step).then(
            (st) => {
              applyBodyStep(ctx, st);
              this.runStages(ctx, route, i);
            },
            (e: unknown) => this.internalError(ctx, e),
          );
          return;
        }
        applyBodyStep(ctx, step);
      }
      ctx.phase = stage.phase;
      const t = ctx.timings;
      const t0 = t === null ? 0 : performance.now();
      let d: Decision | Promise<Decision>;
      try {
        d = (stage.run as (c: RequestContext) => Decision | Promise<Decision>)(ctx);
      } catch (e) {
        if (t !== null) t.push(i, t0, performance.now());
        this.internalError(ctx, e, stage.id);
        return;
      }
      if (isThenable<Decision>(d)) {
        Promise.resolve(d).then(
          (dd) => {
            if (t !== null) t.push(i, t0, performance.now());
            if (dd && !this.applyDecision(ctx, stage, dd)) return;
            this.runStages(ctx, route, i + 1);
          },
          (e: unknown) => {
            if (t !== null) t.push(i, t0, performance.now());
            this.internalError(ctx, e, stage.id);
          },
        );
        return;
      }
      if (t !== null) t.push(i, t0, performance.now());
      if (d && !this.applyDecision(ctx, stage, d)) return;
    }
    // A body without a declared length is buffered (within the limit) so that an oversized
    // one gets 413 before the upstream is contacted. Small declared bodies are buffered too:
    // measured here, handing undici one Buffer costs less than piping the request stream.
    if (ctx.body === null && route.streaming !== true && (ctx.bodyLengthUnknown || (ctx.bytesIn > 0 && ctx.bytesIn <= SMALL_BODY))) {
      this.readBody(ctx, route.maxBodyBytes).then(
        (ok) => ok && this.forward(ctx, route),
        (e: unknown) => this.internalError(ctx, e),
      );
      return;
    }
    this.forward(ctx, route);
  }

  /** Why an upgrade request is refused before the request stages, or undefined. */
  private upgradeRefusal(ctx: RequestContext, route: CompiledRoute): Deny | undefined {
    if (ctx.upgrade === 'websocket') return route.upgrader === null ? { code: 'PC_ERR_UPGRADE_NOT_ALLOWED' } : route.upgrader.check(ctx);
    // the socket left the HTTP parser: a body that follows could not be read as one
    if (ctx.announcesBody()) return { code: 'PC_ERR_UPGRADE_NOT_ALLOWED', reason: `upgrade to ${String(ctx.req.headers.upgrade)} with a body` };
    return undefined;
  }

  private forward(ctx: RequestContext, route: CompiledRoute): void {
    ctx.phase = 'proxy';
    if (ctx.upgrade === 'websocket' && route.upgrader !== null) return void route.upgrader.forward(ctx, route, this);
    // a body the gateway did not read is streamed: the client that waits for 100 Continue sends it now
    if (ctx.body === null && ctx.announcesBody()) this.continueIfAsked(ctx);
    if (ctx.trace !== null) ctx.trace.upstream(ctx);
    route.forwarder.forward(ctx, route, this);
  }

  /** true: continue (monitor mode), false: a reply was written */
  private applyDecision(ctx: RequestContext, stage: RouteStage, d: Deny | Respond): boolean {
    if (stage.mode === 'monitor') {
      const m = isRespond(d) ? { code: 'respond' as const, reason: `would respond ${d.status}` } : d;
      ctx.recordMonitor(stage.id, m);
      this.services.metrics.monitored.inc({ stage: stage.id, code: m.code });
      return true;
    }
    this.decide(ctx, d, stage.id);
    return false;
  }

  /** Writes a stage's decision: its refusal or its own response. */
  private decide(ctx: RequestContext, d: Deny | Respond, stageId: string): void {
    if (isRespond(d)) this.respond(ctx, d, stageId);
    else this.reply(ctx, d, stageId);
  }

  /** Sends 100 Continue once, when the gateway is about to read the body the client holds back. */
  private continueIfAsked(ctx: RequestContext): void {
    if (!ctx.continuePending) return;
    ctx.continuePending = false;
    if (!ctx.res.headersSent) ctx.res.writeContinue();
  }

  /**
   * HTTP/2: a request whose body has not ended `ms` after it arrived gets 408 (or, with its
   * response under way, its stream reset), and the client is told to stop sending (RST_STREAM
   * NO_ERROR after the reply, RFC 9113 section 8.1), as node:http's `requestTimeout` does over HTTP/1.1.
   */
  private bodyDeadline(ctx: RequestContext, ms: number): void {
    const req = ctx.req;
    const stream = (req as unknown as { stream: { close(code?: number): void; destroyed: boolean } }).stream;
    const timer = setTimeout(() => {
      // a streaming route's body lasts as long as the call: the route's own deadline bounds it
      if (req.readableEnded || stream.destroyed || ctx.route?.streaming === true) return;
      if (ctx.res.headersSent) return void stream.close(NGHTTP2_CANCEL);
      ctx.res.once('finish', () => stream.close(NGHTTP2_NO_ERROR));
      this.reply(ctx, { code: 'PC_ERR_REQUEST_TIMEOUT', reason: 'request body not received in time' }, 'intake');
    }, ms);
    timer.unref();
    req.once('end', () => clearTimeout(timer));
    ctx.res.once('close', () => clearTimeout(timer));
  }

  /** Buffers the request body within `limit`; false when a reply (413, 408) was written. */
  private readBody(ctx: RequestContext, limit: number): Promise<boolean> {
    this.continueIfAsked(ctx);
    return new Promise((resolve) => {
      const req = ctx.req;
      const chunks: Buffer[] = [];
      let size = 0;
      let done = false;
      const finish = (ok: boolean): void => {
        if (done) return;
        done = true;
        req.off('data', onData);
        req.off('end', onEnd);
        req.off('error', onError);
        resolve(ok);
      };
      const onData = (c: Buffer): void => {
        size += c.length;
        if (size > limit) {
          req.pause();
          this.reply(ctx, { code: 'PC_ERR_BODY_TOO_LARGE' }, 'intake');
          finish(false);
          return;
        }
        chunks.push(c);
      };
      const onEnd = (): void => {
        ctx.body = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size);
        ctx.bytesIn = size;
        finish(true);
      };
      const onError = (): void => finish(false);
      req.on('data', onData);
      req.on('end', onEnd);
      req.on('error', onError);
    });
  }

  /**
   * Adds the request id and stage response headers (RateLimit, security headers) to a response,
   * as an object or as a [name, value, ...] list (names the upstream sent are left out of a list
   * beforehand by the forwarder; in an object they are replaced).
   */
  decorate(ctx: RequestContext, out: Record<string, string | string[]> | string[]): void {
    const idHeader = ctx.snapshot.requestIdHeader;
    const extra = ctx.responseHeadersIfAny;
    const closing = !ctx.http2 && this.host.shuttingDown();
    if (Array.isArray(out)) {
      out.push(idHeader, ctx.id);
      if (extra !== null) for (const k in extra) out.push(k, extra[k] as string);
      if (closing) out.push('connection', 'close');
      return;
    }
    out[idHeader] = ctx.id;
    if (extra !== null) for (const k in extra) out[k] = extra[k] as string;
    if (closing) out.connection = 'close';
  }

  // ---- local replies -------------------------------------------------------------------------
  reply(ctx: RequestContext, d: Deny, stageId: string): void {
    const res = ctx.res;
    const status = d.status ?? ERRORS[d.code].status;
    ctx.outcome = { decision: 'denied', stage: stageId, code: d.code, reason: d.reason ?? null, errors: d.errors ?? null };
    this.services.metrics.denials.inc({ stage: stageId, code: d.code });
    if (res.headersSent || res.destroyed) {
      res.destroy();
      return;
    }
    const extra = ctx.responseHeadersIfAny;
    if (extra !== null) for (const k in extra) res.setHeader(k, extra[k] as string);
    res.setHeader(ctx.snapshot.requestIdHeader, ctx.id);
    // An unread request body is not drained: the connection is closed after the reply.
    // (HTTP/2 has no Connection field: a stream ends alone, and shutdown sends GOAWAY)
    if (!ctx.http2 && ((ctx.announcesBody() && !ctx.req.complete) || this.host.shuttingDown())) res.setHeader('connection', 'close');
    const wire = grpcWireOf(ctx.header('content-type'));
    // a gRPC client reads a status, not a problem document (gRPC proper needs HTTP/2: over HTTP/1.1 it gets the problem reply)
    if (wire !== null && (wire !== 'grpc' || ctx.http2)) return void this.grpcReply(ctx, d, status, wire);
    writeProblem(res, d.code, status, ctx.id, d.headers ?? null, d.detail, d.errors);
  }

  /** A refusal as a gRPC status (src/core/grpc.ts): Trailers-Only, HTTP 200, the code in `pc-error-code`. */
  private grpcReply(ctx: RequestContext, d: Deny, status: number, wire: 'grpc' | 'grpc-web' | 'grpc-web-text'): void {
    const res = ctx.res;
    const headers: Record<string, string> = {};
    for (const k of res.getHeaderNames()) {
      const v = res.getHeader(k);
      if (typeof v === 'string') headers[k] = v;
      else if (typeof v === 'number') headers[k] = String(v);
    }
    if (d.headers) for (const k in d.headers) headers[k.toLowerCase()] = d.headers[k] as string;
    const grpcStatus = grpcStatusOf(d.code, status);
    ctx.annotations.grpc_status = grpcStatus; // the access log's `grpc_status`
    writeGrpcRefusal(res, {
      wire,
      grpcStatus,
      message: grpcRefusalMessage(d.code, d.detail),
      code: d.code,
      headers,
      http2: ctx.http2,
    });
  }

  /** A stage's own response: its status, headers and body, with the request id and the stages' response headers. */
  respond(ctx: RequestContext, r: Respond, stageId: string): void {
    const res = ctx.res;
    ctx.outcome = { decision: 'responded', stage: stageId, code: null, reason: r.reason ?? null, errors: null };
    if (res.headersSent || res.destroyed) {
      res.destroy();
      return;
    }
    const headers: Record<string, string | string[]> = {};
    if (r.headers !== undefined) for (const k in r.headers) headers[k.toLowerCase()] = r.headers[k] as string | string[];
    this.decorate(ctx, headers);
    if (!ctx.http2 && ctx.announcesBody() && !ctx.req.complete) headers.connection = 'close';
    const body = r.body ?? null;
    const noBody = ctx.method === 'HEAD' || r.status === 204 || r.status === 304;
    if (body === null || typeof body === 'string' || Buffer.isBuffer(body)) {
      if (body !== null && r.status !== 204 && r.status !== 304) headers['content-length'] = String(Buffer.byteLength(body));
      res.writeHead(r.status, headers);
      res.end(noBody || body === null ? undefined : body);
      return;
    }
    res.writeHead(r.status, headers);
    if (noBody) {
      (body as Readable).destroy();
      res.end();
      return;
    }
    (body as Readable).on('error', (e: Error) => {
      this.logger.error({ event: 'respond_stream_error', request_id: ctx.id, stage: stageId, err: e.message });
      res.destroy();
    });
    (body as Readable).pipe(res);
  }

  internalError(ctx: RequestContext, e: unknown, stageId = 'gateway'): void {
    this.logger.error({
      event: 'internal_error',
      request_id: ctx.id,
      stage: stageId,
      err: e instanceof Error ? { message: e.message, stack: e.stack } : String(e),
    });
    this.reply(ctx, { code: 'PC_ERR_INTERNAL', reason: 'internal error' }, stageId);
  }

  /** The current snapshot, access log and services, for requests the HTTP parser refused (src/server/malformed.ts). */
  outsideHost(): Pick<PipelineHost, 'services' | 'snapshot' | 'accessLog'> {
    return this.host;
  }

  // ---- observe -------------------------------------------------------------------------------
  private finish(ctx: RequestContext): void {
    const snap = ctx.snapshot;
    const res = ctx.res;
    const status = ctx.switched ? 101 : res.headersSent ? res.statusCode : 499; // 499: the client closed first (as nginx)
    const latencyMs = performance.now() - ctx.startMs;
    ctx.phase = 'observe';
    if (ctx.exchange !== null) ctx.exchange.abort(); // no-op when the exchange is over
    if (ctx.cleanups) for (const fn of ctx.cleanups) safe(fn, this.logger);
    const m = this.services.metrics;
    const o = ctx.outcome;
    m.exchange(ctx.route?.id ?? '(none)', status, o.decision, ctx.listener.name, latencyMs / 1000, ctx.principal?.tenant ?? null, o.code);
    m.inFlightCount--;
    if (ctx.trace !== null) safe(() => ctx.trace?.end(ctx, status), this.logger);
    const log = this.host.accessLog();
    if (log !== null || snap.observers.length > 0) {
      // the end time from the start time and the monotonic latency: one clock read fewer per request
      const record = accessRecord(ctx, status, latencyMs, snap.redactQuery, ctx.now + Math.round(latencyMs));
      for (const o of snap.observers) safe(() => o(record, ctx), this.logger);
      if (log !== null) log.record(record);
    }
    snap.inFlight--;
    if (snap.inFlight === 0) this.host.released(snap);
  }
}

type Chunk = Buffer | string;
interface StreamWrites {
  _write(c: Chunk, enc: BufferEncoding, cb: (e?: Error | null) => void): void;
  _writev?(chunks: { chunk: Chunk; encoding: BufferEncoding }[], cb: (e?: Error | null) => void): void;
}

/**
 * The bytes of one HTTP/2 response body, counted where they enter its stream: the connection's
 * byte count (what HTTP/1.1 reads) mixes every stream of a multiplexed connection, and is gone
 * once the stream closed.
 */
function meterHttp2(req: IncomingMessage): () => number {
  const stream = (req as unknown as { stream: StreamWrites }).stream;
  let n = 0;
  const write = stream._write;
  stream._write = (c, enc, cb) => {
    n += typeof c === 'string' ? Buffer.byteLength(c, enc) : c.length;
    write.call(stream, c, enc, cb);
  };
  const writev = stream._writev;
  if (writev !== undefined)
    stream._writev = (chunks, cb) => {
      for (const x of chunks) n += typeof x.chunk === 'string' ? Buffer.byteLength(x.chunk, x.encoding) : x.chunk.length;
      writev.call(stream, chunks, cb);
    };
  return () => n;
}

/** Records the one reading of the body (or why there is none) for the stages that follow. */
function applyBodyStep(ctx: RequestContext, st: BodyStep): void {
  if (!st.ok) {
    ctx.bodyRefusal = st.deny;
    return;
  }
  ctx.bodyReading = st.reading;
  if (st.decoded) {
    ctx.body = st.body;
    ctx.bodyDecoded = true;
  }
}

/** Runs an observer; an exception is logged, never thrown into the request path. */
export function safe(fn: () => void, logger: Logger): void {
  try {
    fn();
  } catch (e) {
    logger.error({ event: 'observe_error', err: e instanceof Error ? e.message : String(e) });
  }
}

const NO_BODY = Buffer.alloc(0);

/**
 * Runs the stages' inspectors of refused requests on a request intake refused (its line and headers
 * as received; the body is not read): their annotations and monitor-mode verdicts are recorded for
 * the access log; the reply stays intake's.
 */
function inspectRefused(ctx: RequestContext, snap: Snapshot): void {
  const target = ctx.req.url ?? '';
  const q = target.indexOf('?');
  const raw = {
    method: ctx.req.method ?? null,
    target,
    path: q < 0 ? target : target.slice(0, q),
    query: q < 0 ? '' : target.slice(q + 1),
    headers: ctx.req.headers as Record<string, string | string[]>,
    body: NO_BODY,
  };
  for (const inspect of snap.malformedInspectors) {
    const v = inspect(raw, ctx.id);
    if (v === null) continue;
    ctx.annotations[v.stage] = v.annotation;
    if (v.monitor)
      ctx.recordMonitor(v.monitor.stage, { code: v.monitor.code as Deny['code'], ...(v.monitor.reason === null ? {} : { reason: v.monitor.reason }) });
  }
}
