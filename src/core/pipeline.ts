/**
 * The request pipeline: intake → route → request stages by phase → proxy → respond → observe.
 * Stages return decisions; only this file writes local replies (problem+json with the stable
 * code and the request id). Synchronous stages stay synchronous: a promise is awaited only when
 * a stage returns one, so that the common path allocates little.
 */
import { performance } from 'node:perf_hooks';
import { Buffer } from 'node:buffer';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';
import type { Logger } from './services.js';
import { RequestContext, type ListenerInfo } from './context.js';
import { newRequestId } from './request-id.js';
import type { Deny, Decision } from './decision.js';
import { ERRORS, type ErrorCode } from './errors.js';
import { writeProblem } from './problem.js';
import type { Services } from './services.js';
import type { ResponseMeta, RouteStage } from './stage.js';
import type { Snapshot } from '../config/snapshot.js';
import type { ListenerConfig } from './config.js';
import type { CompiledRoute } from '../router/route.js';
import { hostWithoutPort, normalisePath } from '../router/normalise.js';
import { parsePairs } from '../body/form.js';
import { readRequestContentType } from '../body/media.js';
import { stepBody, type BodyStep } from '../body/request-body.js';
import { resolveClientIp, stripMapped } from '../proxy/client-ip.js';
import { clientResponseHeaderList, clientResponseHeaders, rawHeaderObject, upstreamRequestHeaders } from '../proxy/headers.js';
import { isIdempotent, type Target } from '../proxy/upstream.js';
import { Exchange, type ExchangeOwner } from '../proxy/exchange.js';
import { accessRecord, type AccessLog } from '../observe/access-log.js';

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
  accessLog(): AccessLog | null;
  shuttingDown(): boolean;
  /** called when a retired snapshot's last request finished */
  released(snap: Snapshot): void;
}

/** Declared bodies up to this size are buffered before proxying (cheaper than streaming). */
const SMALL_BODY = 16 * 1024;
const REQUEST_ID_OK = /^[A-Za-z0-9._:-]{1,128}$/;
const RETRYABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT', 'EAI_AGAIN']);
/**
 * Failures that are the upstream's (it did not answer, or answered badly): they count against its
 * health and adaptive limits. Anything else (undici refusing the request it was handed) is the
 * gateway's: a 500, never held against the upstream.
 */
const UPSTREAM_FAULTS = new Set([
  ...RETRYABLE_CODES,
  'ETIMEDOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CLOSED',
  'UND_ERR_RES_CONTENT_LENGTH_MISMATCH',
  'UND_ERR_RES_EXCEEDED_MAX_SIZE',
  'UND_ERR_INFO',
  'HPE_INVALID_CONSTANT',
]);
/** Most bytes of an upstream 5xx body kept for the log when the body is replaced. */
const ERROR_BODY_LOGGED = 2048;

function isUpstreamFault(code: string): boolean {
  return UPSTREAM_FAULTS.has(code) || code.startsWith('HPE_');
}

/** Names of headers that must appear once, compared on the raw header list. */
function duplicateHeader(raw: readonly string[]): string | null {
  let host = 0;
  let ct = 0;
  for (let i = 0; i < raw.length; i += 2) {
    const n = raw[i] as string;
    // lengths first: most names are neither
    if (n.length === 4 && (n === 'Host' || n === 'host' || n.toLowerCase() === 'host')) host++;
    else if (n.length === 12 && (n === 'Content-Type' || n === 'content-type' || n.toLowerCase() === 'content-type')) ct++;
  }
  return host > 1 ? 'host' : ct > 1 ? 'content-type' : null;
}
function errCode(err: unknown): string {
  const e = err as { code?: string; cause?: { code?: string } };
  return e?.code === 'UND_ERR_SOCKET' && e.cause?.code ? e.cause.code : (e?.code ?? 'UNKNOWN');
}

function isThenable(v: unknown): v is PromiseLike<Decision> {
  return v !== null && typeof v === 'object' && typeof (v as { then?: unknown }).then === 'function';
}

export class Pipeline implements ExchangeOwner<Attempt> {
  private readonly services: Services;
  private readonly logger: Logger;

  constructor(private readonly host: PipelineHost) {
    this.services = host.services;
    this.logger = host.services.logger;
  }

  /** Entry point for every request on a traffic listener. */
  handle(req: IncomingMessage, res: ServerResponse, listener: ListenerRuntime): void {
    const snap = this.host.snapshot();
    snap.inFlight++;
    this.services.metrics.inFlightCount++;
    const startMs = performance.now();
    const now = this.services.clock();
    const cfg = snap.config;
    const peer = req.socket.remoteAddress ?? '';
    const peerTrusted = snap.trusted.has(peer);
    const incomingId = req.headers[snap.requestIdHeader];
    const id =
      peerTrusted && cfg.request_id.trust_incoming && typeof incomingId === 'string' && REQUEST_ID_OK.test(incomingId) ? incomingId : newRequestId();
    const ctx = new RequestContext(id, req, res, snap, listener.info, startMs, now, peer);
    ctx.peerTrusted = peerTrusted;
    if (peerTrusted) ctx.clientIp = resolveClientIp(peer, req.headers[snap.trusted.header], snap.trusted);
    else ctx.clientIp = stripMapped(peer);
    const socket = req.socket;
    const baseWritten = socket.bytesWritten;
    // 'close' is emitted once per response (finished or aborted); `on` spares the once-wrapper
    res.on('close', () => {
      ctx.bytesOut = socket.bytesWritten - baseWritten;
      this.finish(ctx);
    });
    if (this.host.shuttingDown()) res.setHeader('connection', 'close');

    // ---- intake: one reading of the method, target, headers and media type ---------------
    const url = req.url ?? '/';
    if (url.length > listener.config.max_url_bytes) return void this.reply(ctx, { code: 'PC_ERR_URL_TOO_LONG' }, 'intake');
    if (url.charCodeAt(0) !== 0x2f) return void this.reply(ctx, { code: 'PC_ERR_PROTOCOL', reason: 'request target is not in origin form' }, 'intake');
    // an HTTP/0.9 request line (no version) is refused, as RFC 9112 section 2.3 asks of HTTP/1.1 servers
    if (req.httpVersionMajor !== 1) return void this.reply(ctx, { code: 'PC_ERR_PROTOCOL', reason: 'not an HTTP/1.x request line' }, 'intake');
    const h = req.headers;
    if (h['transfer-encoding'] !== undefined) {
      if (h['content-length'] !== undefined) return void this.reply(ctx, { code: 'PC_ERR_PROTOCOL', reason: 'both Content-Length and Transfer-Encoding' }, 'intake');
      if (!/^\s*chunked\s*$/i.test(h['transfer-encoding'])) return void this.reply(ctx, { code: 'PC_ERR_PROTOCOL', reason: 'unsupported transfer-encoding' }, 'intake');
    }
    // Node keeps the first of repeated Host and Content-Type lines; others may read the last
    const dup = duplicateHeader(req.rawHeaders);
    if (dup !== null) return void this.reply(ctx, { code: 'PC_ERR_PROTOCOL', reason: `${dup} header given twice` }, 'intake');
    const qi = url.indexOf('?');
    const rawPath = qi < 0 ? url : url.slice(0, qi);
    if (qi >= 0) {
      const query = url.slice(qi + 1);
      ctx.query = query;
      if (query.length > 0) {
        if (cfg.limits.query_semicolons === 'refuse' && query.indexOf(';') >= 0) {
          return void this.reply(ctx, { code: 'PC_ERR_QUERY_AMBIGUOUS', reason: "';' in the query (read as a separator by some frameworks)" }, 'intake');
        }
        // '??a=1': URL parsers that strip a leading '?' read `a`, node:querystring reads `?a`
        if (query.charCodeAt(0) === 0x3f) return void this.reply(ctx, { code: 'PC_ERR_QUERY_AMBIGUOUS', reason: "query starts with '?'" }, 'intake');
        const pairs = parsePairs(query, { maxParams: cfg.limits.max_query_params, maxValueLength: listener.config.max_url_bytes });
        if (!pairs.ok) return void this.reply(ctx, { code: pairs.code === 'too_many_params' ? 'PC_ERR_TOO_MANY_PARAMETERS' : 'PC_ERR_QUERY_AMBIGUOUS', reason: `query: ${pairs.reason}` }, 'intake');
        ctx.queryPairs = pairs.pairs;
      }
    }
    const norm = normalisePath(rawPath, cfg.limits.path_parameters);
    if (!norm.ok) return void this.reply(ctx, { code: norm.injection ? 'PC_ERR_PATH_INJECTION' : 'PC_ERR_PATH_AMBIGUOUS', reason: norm.reason }, 'intake');
    // Clients resolve dot segments before sending (browsers, curl, HTTP libraries); a '..' on
    // the wire is a traversal attempt, refused unless the config asks to resolve it.
    if (norm.dotDot && cfg.limits.dot_segments === 'refuse') return void this.reply(ctx, { code: 'PC_ERR_PATH_TRAVERSAL', reason: 'dot-dot segment' }, 'intake');
    ctx.path = norm.path;
    ctx.pathHasParameters = norm.semicolon;
    ctx.host = hostWithoutPort(h.host ?? '');
    const ct = h['content-type'];
    if (ct !== undefined) {
      const media = readRequestContentType(ct);
      if (!media.ok) return void this.reply(ctx, { code: media.unsupported ? 'PC_ERR_UNSUPPORTED_MEDIA_TYPE' : 'PC_ERR_MEDIA_TYPE_INVALID', reason: `content-type: ${media.reason}` }, 'intake');
      ctx.media = media.media;
      // the upstream receives the one serialisation the gateway read
      if (media.media.canonical !== ct) ctx.upstreamHeaders['content-type'] = media.media.canonical;
    }
    if (h.expect !== undefined) ctx.continuePending = true;

    if (snap.clientChecks.length > 0) {
      const r = this.runChecks(ctx, snap, 0);
      if (isThenable(r)) {
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
      if (isThenable(d)) {
        return Promise.resolve(d).then((dd) => {
          if (dd) {
            this.reply(ctx, dd, 'intake');
            return false;
          }
          return this.runChecks(ctx, snap, i + 1);
        });
      }
      if (d) {
        this.reply(ctx, d, 'intake');
        return false;
      }
    }
    return true;
  }

  // ---- route ---------------------------------------------------------------------------------
  private route(ctx: RequestContext, snap: Snapshot): void {
    ctx.phase = 'route';
    const m = snap.router.find(ctx.method, ctx.host, ctx.path, ctx.pathHasParameters);
    if (m.kind === 'none') return void this.reply(ctx, { code: 'PC_ERR_ROUTE_NOT_FOUND' }, 'route');
    if (m.kind === 'method') return void this.reply(ctx, { code: 'PC_ERR_METHOD_NOT_ALLOWED', headers: { allow: m.allow.join(', ') } }, 'route');
    const route = m.value;
    ctx.route = route;
    ctx.params = m.params;
    const cl = ctx.req.headers['content-length'];
    if (cl !== undefined) {
      const n = Number(cl);
      if (!Number.isSafeInteger(n) || n < 0) return void this.reply(ctx, { code: 'PC_ERR_PROTOCOL', reason: 'invalid content-length' }, 'intake');
      if (n > route.maxBodyBytes) return void this.reply(ctx, { code: 'PC_ERR_BODY_TOO_LARGE' }, 'intake');
      ctx.bytesIn = n;
    }
    this.runStages(ctx, route, 0);
  }

  private hasBody(ctx: RequestContext): boolean {
    const h = ctx.req.headers;
    return h['transfer-encoding'] !== undefined || (h['content-length'] !== undefined && h['content-length'] !== '0');
  }

  /** Runs the route's request stages from index `i`; continues asynchronously only when needed. */
  private runStages(ctx: RequestContext, route: CompiledRoute, from: number): void {
    const stages = route.requestStages;
    for (let i = from; i < stages.length; i++) {
      const stage = stages[i] as RouteStage;
      if (stage.needsBody === true && ctx.bodyReading === null && ctx.bodyRefusal === null && this.hasBody(ctx)) {
        if (ctx.body === null) {
          this.readBody(ctx, route.maxBodyBytes).then(
            (ok) => ok && this.runStages(ctx, route, i),
            (e: unknown) => this.internalError(ctx, e),
          );
          return;
        }
        const step = stepBody(ctx.body, ctx.req.headers['content-encoding'], ctx.media, route.body);
        if (isThenable(step)) {
          (step as Promise<BodyStep>).then(
            (st) => {
              this.applyBodyStep(ctx, st);
              this.runStages(ctx, route, i);
            },
            (e: unknown) => this.internalError(ctx, e),
          );
          return;
        }
        this.applyBodyStep(ctx, step as BodyStep);
      }
      ctx.phase = stage.phase;
      let d: Decision | Promise<Decision>;
      try {
        d = (stage.run as (c: RequestContext) => Decision | Promise<Decision>)(ctx);
      } catch (e) {
        return this.internalError(ctx, e, stage.id);
      }
      if (isThenable(d)) {
        Promise.resolve(d).then(
          (dd) => {
            if (dd && !this.applyDeny(ctx, stage, dd)) return;
            this.runStages(ctx, route, i + 1);
          },
          (e: unknown) => this.internalError(ctx, e, stage.id),
        );
        return;
      }
      if (d && !this.applyDeny(ctx, stage, d)) return;
    }
    // A body without a declared length is buffered (within the limit) so that an oversized
    // one gets 413 before the upstream is contacted. Small declared bodies are buffered too:
    // measured here, handing undici one Buffer costs less than piping the request stream.
    if (ctx.body === null && (ctx.req.headers['transfer-encoding'] !== undefined || (ctx.bytesIn > 0 && ctx.bytesIn <= SMALL_BODY))) {
      this.readBody(ctx, route.maxBodyBytes).then(
        (ok) => ok && this.forward(ctx, route, null, 0),
        (e: unknown) => this.internalError(ctx, e),
      );
      return;
    }
    this.forward(ctx, route, null, 0);
  }

  /** Records the one reading of the body (or why there is none) for the stages that follow. */
  private applyBodyStep(ctx: RequestContext, st: BodyStep): void {
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

  /** Sends 100 Continue once, when the gateway is about to read the body the client holds back. */
  private continueIfAsked(ctx: RequestContext): void {
    if (!ctx.continuePending) return;
    ctx.continuePending = false;
    if (!ctx.res.headersSent) ctx.res.writeContinue();
  }

  /** true: continue (monitor mode), false: a reply was written */
  private applyDeny(ctx: RequestContext, stage: RouteStage, d: Deny): boolean {
    if (stage.mode === 'monitor') {
      ctx.recordMonitor(stage.id, d);
      this.services.metrics.monitored.inc({ stage: stage.id, code: d.code });
      return true;
    }
    this.reply(ctx, d, stage.id);
    return false;
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

  // ---- proxy ---------------------------------------------------------------------------------
  private upstreamPath(ctx: RequestContext, route: CompiledRoute, target: Target): string {
    let path = ctx.path;
    if (route.rewrite) path = route.rewrite(ctx.params);
    else if (route.stripPrefix !== null && (path === route.stripPrefix || path.startsWith(route.stripPrefix + '/'))) {
      path = path.slice(route.stripPrefix.length) || '/';
    }
    if (target.basePath !== '') path = target.basePath + path;
    return ctx.query === '' ? path : `${path}?${ctx.query}`;
  }

  private forward(ctx: RequestContext, route: CompiledRoute, tried: Set<Target> | null, attempt: number): void {
    ctx.phase = 'proxy';
    const group = route.upstream;
    const now = attempt === 0 ? ctx.now : Date.now();
    if (attempt === 0) group.countRequest(now);
    const target = group.pick(now, tried);
    if (target === null) return void this.reply(ctx, { code: 'PC_ERR_UPSTREAM_NO_HEALTHY' }, 'proxy');
    const req = ctx.req;
    const snap = ctx.snapshot;
    const headers = upstreamRequestHeaders(
      req.headers,
      snap.notForwarded,
      {
        clientIp: ctx.clientIp,
        peerIp: ctx.peerIp,
        peerTrusted: ctx.peerTrusted,
        trusted: snap.trusted,
        proto: ctx.listener.tls ? 'https' : 'http',
        host: ctx.host,
        requestIdHeader: snap.requestIdHeader,
        requestId: ctx.id,
        upstreamHost: route.config.preserve_host === true ? (req.headers.host ?? target.hostPort) : null,
      },
      ctx.upstreamHeadersIfAny,
      ctx.body === null ? null : ctx.body.length,
      ctx.bodyDecoded,
    );
    const streamedBody = ctx.body === null && this.hasBody(ctx);
    if (streamedBody) this.continueIfAsked(ctx);
    const opts: Dispatcher.DispatchOptions = {
      method: ctx.method as Dispatcher.HttpMethod,
      path: this.upstreamPath(ctx, route, target),
      headers,
      body: ctx.body ?? (streamedBody ? req : null),
    };
    ctx.upstreamTarget = target.origin;
    target.active++;
    const a: Attempt = { ctx, route, target, tried, attempt, streamedBody, upStart: performance.now(), released: false };
    if (route.needsResponseBody) {
      target.pool.request(opts).then(
        (up) => this.bufferedResponse(a, up),
        (err: Error) => this.upstreamFailed(a, err),
      );
      return;
    }
    const x = new Exchange<Attempt>(this, ctx.res, a);
    ctx.exchange = x;
    target.pool.dispatch(opts, x.handler);
  }

  /** ExchangeOwner: the upstream response head arrived; respond stages see it, then it is sent. */
  exchangeHead(x: Exchange<Attempt>, status: number, raw: readonly Buffer[]): void {
    const { ctx, route } = x.state;
    ctx.upstreamLatencyMs = performance.now() - x.state.upStart;
    const snap = ctx.snapshot;
    if (status >= 500 && snap.replace5xx) {
      // the body is kept (its start, for the log) and replaced by a problem reply at its end
      x.capture = [];
      x.captureStatus = status;
      x.captureHeaders = raw;
      return;
    }
    if (route.respondStages.length > 0) {
      const out = clientResponseHeaders(rawHeaderObject(raw), snap.notReturned);
      const meta: ResponseMeta = { status, headers: out };
      for (const s of route.respondStages) s.onResponse?.(ctx, meta);
      this.decorate(ctx, out);
      x.res.writeHead(meta.status, out);
      return;
    }
    // the common case: the headers go out as a list, without an object per response
    const list = clientResponseHeaderList(raw, snap.requestIdHeader, ctx.responseHeadersIfAny, snap.notReturned);
    if (ctx.method !== 'HEAD') {
      for (let i = 0; i < list.length; i += 2) {
        if (list[i] === 'content-length') {
          const n = Number(list[i + 1]);
          if (Number.isSafeInteger(n) && n > 0) x.bodyLeft = n;
          break;
        }
      }
    }
    this.decorate(ctx, list);
    x.res.writeHead(status, list);
  }

  /** ExchangeOwner: the response was streamed to the end. */
  exchangeEnd(x: Exchange<Attempt>): void {
    const a = x.state;
    release(a);
    if (x.capture !== null) {
      a.route.upstream.report(a.target, false, Date.now());
      const headers = rawHeaderObject(x.captureHeaders ?? []);
      this.replaceUpstreamError(a.ctx, x.captureStatus, headers, Buffer.concat(x.capture));
      return;
    }
    const ok = x.res.statusCode < 500;
    a.route.upstream.report(a.target, ok, ok ? 0 : Date.now()); // the time matters only for a failure
  }

  /**
   * An upstream 5xx whose body is not sent (responses.upstream_5xx: replace): the client gets a
   * problem reply with the same status (and Retry-After), the log gets the start of the original.
   */
  private replaceUpstreamError(ctx: RequestContext, status: number, headers: Record<string, string | string[]>, body: Buffer): void {
    const route = ctx.route;
    this.logger.warn({
      event: 'upstream_error_body',
      request_id: ctx.id,
      route: route?.id ?? null,
      upstream: route?.upstream.name ?? null,
      status,
      body: body.subarray(0, ERROR_BODY_LOGGED).toString('utf8'),
      truncated: body.length > ERROR_BODY_LOGGED,
    });
    const retry = headers['retry-after'];
    this.reply(ctx, { code: 'PC_ERR_UPSTREAM_ERROR', status, ...(typeof retry === 'string' ? { headers: { 'retry-after': retry } } : {}), reason: `upstream status ${status}` }, 'proxy');
  }

  /** ExchangeOwner: the upstream exchange failed. */
  exchangeError(x: Exchange<Attempt>, err: Error): void {
    this.upstreamFailed(x.state, err);
  }

  /** An upstream attempt failed: retried when safe, else 502/504 (or the response is cut off). */
  private upstreamFailed(a: Attempt, err: Error): void {
    release(a);
    const { ctx, route, target } = a;
    const group = route.upstream;
    const res = ctx.res;
    const code = errCode(err);
    if (res.headersSent) {
      group.report(target, false, Date.now());
      res.destroy();
      return;
    }
    if (res.destroyed || res.socket === null || res.socket.destroyed) return; // the client went away
    if (!isUpstreamFault(code)) {
      // undici refused what it was handed: the gateway's fault, not the upstream's health
      this.logger.error({ event: 'upstream_request_refused', request_id: ctx.id, route: route.id, code, err: err.message });
      return void this.reply(ctx, { code: 'PC_ERR_INTERNAL', reason: `upstream client refused the request: ${code}` }, 'proxy');
    }
    ctx.upstreamFault = true;
    const connectFailure = RETRYABLE_CODES.has(code);
    group.report(target, !connectFailure && code !== 'UND_ERR_HEADERS_TIMEOUT' ? true : false, Date.now());
    this.services.metrics.upstreamErrors.inc({ upstream: group.name, code });
    if (
      connectFailure &&
      !a.streamedBody &&
      isIdempotent(ctx.method) &&
      a.attempt < group.config.retries.attempts &&
      group.allowRetry(Date.now())
    ) {
      const next = a.tried ?? new Set<Target>();
      next.add(target);
      if (next.size >= group.targets.length) next.clear(); // all tried once: any may be retried
      this.forward(ctx, route, next, a.attempt + 1);
      return;
    }
    const timeout = code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT';
    this.reply(ctx, { code: timeout ? 'PC_ERR_UPSTREAM_TIMEOUT' : 'PC_ERR_UPSTREAM_UNAVAILABLE', reason: code }, 'proxy');
  }

  private async bufferedResponse(a: Attempt, up: Dispatcher.ResponseData): Promise<void> {
    const { ctx, route, target } = a;
    ctx.upstreamLatencyMs = performance.now() - a.upStart;
    const group = route.upstream;
    const limit = group.config.max_response_bytes;
    const chunks: Buffer[] = [];
    let size = 0;
    try {
      for await (const c of up.body) {
        size += (c as Buffer).length;
        if (size > limit) {
          up.body.destroy();
          release(a);
          return void this.reply(ctx, { code: 'PC_ERR_UPSTREAM_PROTOCOL', reason: 'response too large to inspect' }, 'respond');
        }
        chunks.push(c as Buffer);
      }
    } catch (e) {
      release(a);
      group.report(target, false, Date.now());
      ctx.upstreamFault = true;
      return void this.reply(ctx, { code: 'PC_ERR_UPSTREAM_UNAVAILABLE', reason: errCode(e) }, 'proxy');
    }
    release(a);
    group.report(target, up.statusCode < 500, Date.now());
    let body: Buffer = Buffer.concat(chunks, size);
    if (up.statusCode >= 500 && ctx.snapshot.replace5xx) return this.replaceUpstreamError(ctx, up.statusCode, up.headers as Record<string, string | string[]>, body);
    const meta: ResponseMeta = { status: up.statusCode, headers: clientResponseHeaders(up.headers as Record<string, string | string[] | undefined>, ctx.snapshot.notReturned) };
    ctx.phase = 'respond';
    for (const s of route.respondStages) {
      try {
        s.onResponse?.(ctx, meta);
        if (s.onResponseBody) {
          const r = s.onResponseBody(ctx, meta, body);
          if (!Buffer.isBuffer(r)) {
            if (s.mode === 'monitor') {
              ctx.recordMonitor(s.id, r);
              continue;
            }
            return void this.reply(ctx, r, s.id);
          }
          body = r;
        }
      } catch (e) {
        return this.internalError(ctx, e, s.id);
      }
    }
    delete meta.headers['transfer-encoding'];
    meta.headers['content-length'] = String(body.length);
    this.decorate(ctx, meta.headers);
    ctx.res.writeHead(meta.status, meta.headers);
    ctx.res.end(ctx.method === 'HEAD' ? undefined : body);
  }

  /**
   * Adds the request id and stage response headers (RateLimit, security headers) to a response,
   * as an object or as a [name, value, ...] list (names the upstream sent are left out of a list
   * beforehand by clientResponseHeaderList; in an object they are replaced).
   */
  private decorate(ctx: RequestContext, out: Record<string, string | string[]> | string[]): void {
    const idHeader = ctx.snapshot.requestIdHeader;
    const extra = ctx.responseHeadersIfAny;
    const closing = this.host.shuttingDown();
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
    ctx.outcome = { decision: 'denied', stage: stageId, code: d.code, reason: d.reason ?? null };
    this.services.metrics.denials.inc({ stage: stageId, code: d.code });
    if (res.headersSent || res.destroyed) {
      res.destroy();
      return;
    }
    const extra = ctx.responseHeadersIfAny;
    if (extra !== null) for (const k in extra) res.setHeader(k, extra[k] as string);
    res.setHeader(ctx.snapshot.requestIdHeader, ctx.id);
    // An unread request body is not drained: the connection is closed after the reply.
    if ((this.hasBody(ctx) && !ctx.req.complete) || this.host.shuttingDown()) res.setHeader('connection', 'close');
    writeProblem(res, d.code, status, ctx.id, d.headers ?? null, d.detail, d.errors);
  }

  private internalError(ctx: RequestContext, e: unknown, stageId = 'gateway'): void {
    this.logger.error({ event: 'internal_error', request_id: ctx.id, stage: stageId, err: e instanceof Error ? { message: e.message, stack: e.stack } : String(e) });
    this.reply(ctx, { code: 'PC_ERR_INTERNAL', reason: 'internal error' }, stageId);
  }

  // ---- observe -------------------------------------------------------------------------------
  private finish(ctx: RequestContext): void {
    const snap = ctx.snapshot;
    const res = ctx.res;
    const status = res.headersSent ? res.statusCode : 499; // 499: the client closed first (as nginx)
    const latencyMs = performance.now() - ctx.startMs;
    ctx.phase = 'observe';
    if (ctx.exchange !== null) ctx.exchange.abort(); // no-op when the exchange is over
    const route = ctx.route;
    if (ctx.cleanups) for (const fn of ctx.cleanups) safe(fn, this.logger);
    if (route) for (const s of route.finishStages) safe(() => s.onFinish?.(ctx), this.logger);
    for (const o of snap.observers) safe(() => o(ctx), this.logger);
    const m = this.services.metrics;
    const routeId = route?.id ?? '(none)';
    m.exchange(routeId, status, ctx.outcome.decision, ctx.listener.name, latencyMs / 1000);
    if (ctx.upstreamLatencyMs !== null && route) m.upstreamLatency.observe(route.upstream.name, ctx.upstreamLatencyMs / 1000);
    m.inFlightCount--;
    const log = this.host.accessLog();
    // the end time from the start time and the monotonic latency: one clock read fewer per request
    if (log) log.record(accessRecord(ctx, status, latencyMs, snap.redactQuery, ctx.now + Math.round(latencyMs)));
    snap.inFlight--;
    if (snap.inFlight === 0) this.host.released(snap);
  }

  /** The current snapshot, access log and services, for requests the HTTP parser refused (core/malformed.ts). */
  outsideHost(): Pick<PipelineHost, 'services' | 'snapshot' | 'accessLog'> {
    return this.host;
  }
}

/** One attempt to forward a request to one upstream target. */
interface Attempt {
  readonly ctx: RequestContext;
  readonly route: CompiledRoute;
  readonly target: Target;
  /** targets already tried by earlier attempts, or null on the first */
  readonly tried: Set<Target> | null;
  readonly attempt: number;
  /** the request body is streamed (so the attempt cannot be replayed) */
  readonly streamedBody: boolean;
  /** performance.now() when the attempt started */
  readonly upStart: number;
  released: boolean;
}

/** Gives the target's in-flight slot back (once). */
function release(a: Attempt): void {
  if (!a.released) {
    a.released = true;
    a.target.active--;
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

export type { ErrorCode };
