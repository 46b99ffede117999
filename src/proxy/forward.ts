/**
 * Forwarding one route's requests to its upstream group: target choice, the upstream request's
 * path and headers, attempts and retries (idempotent methods, connection failures, within the
 * retry budget), the streamed exchange (exchange.ts) or the buffered one when a respond stage
 * reads the body, the respond stages' hooks, and the upstream's failures and 5xx bodies. Local
 * replies go through the pipeline's `Replies` (src/core/pipeline.ts): the kernel writes them.
 */
import { performance } from 'node:perf_hooks';
import { Buffer } from 'node:buffer';
import type { Dispatcher } from 'undici';
import { isRespond, type BodyTap, type Respond } from '../core/decision.js';
import type { Logger, Metrics } from '../core/services.js';
import type { ResponseMeta } from '../core/stage.js';
import type { CompiledRoute, Forwarder, Replies, SideRequest, SideResponse } from '../core/stage.js';
import type { IncomingHttpHeaders } from 'node:http';
import { clientResponseHeaderList, clientResponseHeaders, type ForwardInfo, rawHeaderObject, upstreamRequestHeaders } from './headers.js';
import type { TrustedProxies } from './client-ip.js';
import { isIdempotent, type Target, type UpstreamGroup } from './upstream.js';
import { Exchange, type ExchangeOwner } from './exchange.js';
import type { RequestContext } from '../core/stage.js';
import { steadyNow } from '../core/clock.js';

const RETRYABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'EAI_AGAIN',
]);
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
]);
/** Client request fields a side request (Forwarder.fetch) never carries, besides every `if-*` precondition: it has no body and asks for the whole representation. */
const SIDE_DROPPED: ReadonlySet<string> = new Set(['range', 'content-length', 'content-type', 'content-encoding', 'transfer-encoding', 'expect']);
/** Most bytes of an upstream 5xx body kept for the log when the body is replaced. */
const ERROR_BODY_LOGGED = 2048;

function isUpstreamFault(code: string): boolean {
  return UPSTREAM_FAULTS.has(code) || code.startsWith('HPE_');
}

/** The client reads trailers: its TE lists `trailers` (RFC 9110 section 10.1.4). */
function wantsTrailers(te: string | undefined): boolean {
  return te !== undefined && /(?:^|,)\s*trailers\s*(?:,|;|$)/i.test(te);
}

function errCode(err: unknown): string {
  const e = err as { code?: string; cause?: { code?: string } };
  return e?.code === 'UND_ERR_SOCKET' && e.cause?.code ? e.cause.code : (e?.code ?? 'UNKNOWN');
}

/** What every forwarder of a snapshot shares. */
export interface ForwardSettings {
  /** request header names never copied upstream (headers.ts notForwardedHeaders) */
  readonly notForwarded: ReadonlySet<string>;
  /** upstream response header names never sent to clients (headers.ts notReturnedHeaders) */
  readonly notReturned: ReadonlySet<string>;
  /** responses.upstream_5xx is `replace` */
  readonly replace5xx: boolean;
  /** request_id.header, lowercase */
  readonly requestIdHeader: string;
  readonly trusted: TrustedProxies;
  readonly metrics: Metrics;
  readonly logger: Logger;
}

/** One attempt to forward a request to one upstream target. */
interface Attempt {
  readonly ctx: RequestContext;
  readonly route: CompiledRoute;
  readonly replies: Replies;
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

function compileRewrite(tpl: string): (params: Record<string, string>) => string {
  const parts = tpl.split(/\{([A-Za-z_][A-Za-z0-9_.-]*)\}/g);
  return (params) => {
    let out = '';
    for (let i = 0; i < parts.length; i++) out += i % 2 === 1 ? encodeURIComponent(params[parts[i] as string] ?? '') : (parts[i] as string);
    return out;
  };
}

/** The forwarder of one route (compiled once per snapshot). */
export class UpstreamForwarder implements Forwarder, ExchangeOwner<Attempt> {
  private readonly stripPrefix: string | null;
  private readonly rewrite: ((params: Record<string, string>) => string) | null;
  private readonly preserveHost: boolean;

  constructor(
    readonly group: UpstreamGroup,
    route: { readonly strip_prefix?: string; readonly rewrite?: string; readonly preserve_host?: boolean },
    protected readonly s: ForwardSettings,
  ) {
    this.stripPrefix = route.strip_prefix ?? null;
    this.rewrite = route.rewrite ? compileRewrite(route.rewrite) : null;
    this.preserveHost = route.preserve_host === true;
  }

  forward(ctx: RequestContext, route: CompiledRoute, replies: Replies): void {
    if (!ctx.http2) {
      this.attempt(ctx, route, replies, null, 0);
      return;
    }
    // HTTP/2: forwarded once the rest of the read it came in was processed, so that a stream
    // the client reset in the same read (Rapid Reset: HEADERS then RST_STREAM) is never sent
    // upstream (each such request aborted in flight costs an upstream connection); the exchange
    // of a reset stream is recorded when its response closes
    const stream = (ctx.req as unknown as { stream: { closed: boolean; destroyed: boolean } }).stream;
    setImmediate(() => {
      if (!stream.closed && !stream.destroyed) this.attempt(ctx, route, replies, null, 0);
    });
  }

  async fetch(ctx: RequestContext, req: SideRequest): Promise<SideResponse> {
    const group = this.group;
    const now = steadyNow();
    group.countRequest(now);
    const target = group.pick(now, null);
    if (target === null) throw new Error('no healthy upstream target');
    const client: IncomingHttpHeaders = {};
    for (const k in ctx.req.headers) if (!SIDE_DROPPED.has(k) && !k.startsWith('if-')) client[k] = ctx.req.headers[k];
    const s = this.s;
    const headers = upstreamRequestHeaders(client, s.notForwarded, this.forwardInfo(ctx, target), { ...ctx.upstreamHeadersIfAny, ...req.headers }, null);
    const path = this.upstreamPath(ctx, target);
    target.active++;
    const start = performance.now();
    try {
      const up = await target.pool.request({ method: req.method, path, headers });
      this.s.metrics.upstreamLatency.observe(group.name, (performance.now() - start) / 1000);
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const c of up.body) {
        size += (c as Buffer).length;
        if (size > req.maxBytes) {
          up.body.destroy();
          throw new Error('side response body over maxBytes');
        }
        chunks.push(c as Buffer);
      }
      group.report(target, up.statusCode < 500, up.statusCode < 500 ? 0 : steadyNow());
      return {
        status: up.statusCode,
        headers: clientResponseHeaders(up.headers as Record<string, string | string[] | undefined>, s.notReturned),
        body: Buffer.concat(chunks, size),
      };
    } catch (e) {
      const code = errCode(e);
      if (isUpstreamFault(code)) {
        group.report(target, false, steadyNow());
        s.metrics.upstreamErrors.inc({ upstream: group.name, code });
      }
      throw e;
    } finally {
      target.active--;
    }
  }

  /**
   * The upstream end of a WebSocket handshake (src/websocket/): a target picked as for any request
   * (counted active: the caller gives it back and reports the outcome to the group), the upstream
   * path, and the client's fields with the gateway's hygiene (hop-by-hop, identity and spoofable
   * fields stripped; forwarding and identity fields set). Null when no target is available.
   */
  upgradeTarget(ctx: RequestContext): { readonly target: Target; readonly path: string; readonly headers: string[] } | null {
    const now = steadyNow();
    this.group.countRequest(now);
    const target = this.group.pick(now, null);
    if (target === null) return null;
    ctx.upstreamTarget = target.origin;
    target.active++;
    const headers = upstreamRequestHeaders(ctx.req.headers, this.s.notForwarded, this.forwardInfo(ctx, target), ctx.upstreamHeadersIfAny, null);
    return { target, path: this.upstreamPath(ctx, target), headers };
  }

  /** What the upstream request says about the client and the gateway: forwarded headers, request id, Host. */
  protected forwardInfo(ctx: RequestContext, target: Target): ForwardInfo {
    const s = this.s;
    return {
      clientIp: ctx.clientIp,
      peerIp: ctx.peerIp,
      peerTrusted: ctx.peerTrusted,
      trusted: s.trusted,
      proto: ctx.listener.tls ? 'https' : 'http',
      host: ctx.host,
      requestIdHeader: s.requestIdHeader,
      requestId: ctx.id,
      upstreamHost: this.preserveHost ? (ctx.req.headers.host ?? target.hostPort) : null,
    };
  }

  protected upstreamPath(ctx: RequestContext, target: Target): string {
    let path = ctx.path;
    if (this.rewrite) path = this.rewrite(ctx.params);
    else if (this.stripPrefix !== null && (path === this.stripPrefix || path.startsWith(`${this.stripPrefix}/`))) {
      path = path.slice(this.stripPrefix.length) || '/';
    }
    if (target.basePath !== '') path = target.basePath + path;
    return ctx.query === '' ? path : `${path}?${ctx.query}`;
  }

  private attempt(ctx: RequestContext, route: CompiledRoute, replies: Replies, tried: Set<Target> | null, attempt: number): void {
    const group = this.group;
    const now = attempt === 0 ? performance.timeOrigin + ctx.startMs : steadyNow(); // steady: a clock step cannot stretch an ejection
    if (attempt === 0) group.countRequest(now);
    const target = group.pick(now, tried);
    if (target === null) return void replies.reply(ctx, { code: 'PC_ERR_UPSTREAM_NO_HEALTHY' }, 'proxy');
    const req = ctx.req;
    const s = this.s;
    const headers = upstreamRequestHeaders(
      req.headers,
      s.notForwarded,
      this.forwardInfo(ctx, target),
      ctx.upstreamHeadersIfAny,
      ctx.body === null ? null : ctx.body.length,
      ctx.bodyDecoded,
    );
    // `te: trailers` (the one TE value HTTP/2 allows) tells an HTTP/2 upstream the client reads
    // trailers (over HTTP/1.1 TE is hop-by-hop and stays here); they are relayed (exchange.ts)
    const trailers = wantsTrailers(ctx.header('te'));
    if (trailers && this.group.config.protocol === 'h2') headers.push('te', 'trailers');
    const streamedBody = ctx.body === null && ctx.announcesBody();
    const opts: Dispatcher.DispatchOptions = {
      method: ctx.method as Dispatcher.HttpMethod,
      path: this.upstreamPath(ctx, target),
      headers,
      body: ctx.body ?? (streamedBody ? req : null),
    };
    ctx.upstreamTarget = target.origin;
    target.active++;
    const a: Attempt = { ctx, route, replies, target, tried, attempt, streamedBody, upStart: performance.now(), released: false };
    if (route.needsResponseBody) {
      target.pool.request(opts).then(
        (up) => this.bufferedResponse(a, up),
        (err: Error) => this.upstreamFailed(a, err),
      );
      return;
    }
    const x = new Exchange<Attempt>(this, ctx.res, a);
    x.relayTrailers = trailers || ctx.http2;
    ctx.exchange = x;
    target.pool.dispatch(opts, x.handler);
  }

  /** The upstream answered: its latency is the time to the response head. */
  private headArrived(a: Attempt): void {
    const ms = performance.now() - a.upStart;
    a.ctx.upstreamLatencyMs = ms;
    this.s.metrics.upstreamLatency.observe(this.group.name, ms / 1000);
  }

  /** ExchangeOwner: the upstream response head arrived; respond stages see it, then it is sent. */
  exchangeHead(x: Exchange<Attempt>, status: number, raw: readonly Buffer[]): void {
    const a = x.state;
    const { ctx, route, replies } = a;
    this.headArrived(a);
    const s = this.s;
    if (status >= 500 && s.replace5xx) {
      if (route.failureStages.length > 0 && this.answerFailure(a, `upstream status ${status}`)) {
        x.discard = true;
        return;
      }
      // the body is kept (its start, for the log) and replaced by a problem reply at its end
      x.capture = [];
      x.captureStatus = status;
      x.captureHeaders = raw;
      return;
    }
    if (route.respondStages.length > 0) {
      const out = clientResponseHeaders(rawHeaderObject(raw), s.notReturned);
      const meta: ResponseMeta = { status, headers: out };
      ctx.phase = 'respond';
      for (const st of route.respondStages) {
        if (st.onResponse === undefined) continue;
        let v: Respond | BodyTap | undefined;
        try {
          v = st.onResponse(ctx, meta);
        } catch (e) {
          x.discard = true;
          replies.internalError(ctx, e, st.id);
          return;
        }
        if (v === undefined) continue;
        if (v.kind === 'tap') {
          x.tap = x.tap === null ? v : teeTaps(x.tap, v);
          continue;
        }
        x.discard = true;
        x.tap?.abort();
        x.tap = null;
        replies.respond(ctx, v, st.id);
        return;
      }
      replies.decorate(ctx, out);
      // the last chunk ends the response in the same write, as in the common case below
      if (ctx.method !== 'HEAD') x.bodyLeft = bodyLength(out['content-length']);
      x.res.writeHead(meta.status, out);
      return;
    }
    // the common case: the headers go out as a list, without an object per response
    const list = clientResponseHeaderList(raw, s.requestIdHeader, ctx.responseHeadersIfAny, s.notReturned);
    if (ctx.method !== 'HEAD') {
      for (let i = 0; i < list.length; i += 2) {
        if (list[i] === 'content-length') {
          x.bodyLeft = bodyLength(list[i + 1]);
          break;
        }
      }
    }
    replies.decorate(ctx, list);
    x.res.writeHead(status, list);
  }

  /** ExchangeOwner: the response was streamed to the end. */
  exchangeEnd(x: Exchange<Attempt>): void {
    const a = x.state;
    release(a);
    if (x.capture !== null) {
      this.group.report(a.target, false, steadyNow());
      const headers = rawHeaderObject(x.captureHeaders ?? []);
      this.replaceUpstreamError(a, x.captureStatus, headers, Buffer.concat(x.capture));
      return;
    }
    const ok = x.res.statusCode < 500;
    this.group.report(a.target, ok, ok ? 0 : steadyNow()); // the time matters only for a failure
  }

  /** ExchangeOwner: the upstream exchange failed. */
  exchangeError(x: Exchange<Attempt>, err: Error): void {
    this.upstreamFailed(x.state, err);
  }

  /**
   * An upstream 5xx whose body is not sent (responses.upstream_5xx: replace): the client gets a
   * problem reply with the same status (and Retry-After), the log gets the start of the original.
   */
  private replaceUpstreamError(a: Attempt, status: number, headers: Record<string, string | string[]>, body: Buffer): void {
    const { ctx, route } = a;
    this.s.logger.warn({
      event: 'upstream_error_body',
      request_id: ctx.id,
      route: route.id,
      upstream: this.group.name,
      status,
      body: body.subarray(0, ERROR_BODY_LOGGED).toString('utf8'),
      truncated: body.length > ERROR_BODY_LOGGED,
    });
    const retry = headers['retry-after'];
    a.replies.reply(
      ctx,
      {
        code: 'PC_ERR_UPSTREAM_ERROR',
        status,
        ...(typeof retry === 'string' ? { headers: { 'retry-after': retry } } : {}),
        reason: `upstream status ${status}`,
      },
      'proxy',
    );
  }

  /** An upstream attempt failed: retried when safe, else 502/504 (or the response is cut off). */
  private upstreamFailed(a: Attempt, err: Error): void {
    release(a);
    const { ctx, route, target, replies } = a;
    const group = this.group;
    const res = ctx.res;
    const code = errCode(err);
    if (res.headersSent) {
      group.report(target, false, steadyNow());
      res.destroy();
      return;
    }
    if (res.destroyed || res.socket == null || res.socket.destroyed) return; // the client went away (an HTTP/2 response whose stream is gone has no socket: undefined)
    if (!isUpstreamFault(code)) {
      // undici refused what it was handed: the gateway's fault, not the upstream's health
      this.s.logger.error({ event: 'upstream_request_refused', request_id: ctx.id, route: route.id, code, err: err.message });
      return void replies.reply(ctx, { code: 'PC_ERR_INTERNAL', reason: `upstream client refused the request: ${code}` }, 'proxy');
    }
    ctx.upstreamFault = true;
    const connectFailure = RETRYABLE_CODES.has(code);
    group.report(target, !connectFailure && code !== 'UND_ERR_HEADERS_TIMEOUT', steadyNow());
    this.s.metrics.upstreamErrors.inc({ upstream: group.name, code });
    if (connectFailure && !a.streamedBody && isIdempotent(ctx.method) && a.attempt < group.config.retries.attempts && group.allowRetry(steadyNow())) {
      const next = a.tried ?? new Set<Target>();
      next.add(target);
      if (next.size >= group.targets.length) next.clear(); // all tried once: any may be retried
      this.attempt(ctx, route, replies, next, a.attempt + 1);
      return;
    }
    if (route.failureStages.length > 0 && this.answerFailure(a, code)) return;
    const timeout = code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT';
    replies.reply(ctx, { code: timeout ? 'PC_ERR_UPSTREAM_TIMEOUT' : 'PC_ERR_UPSTREAM_UNAVAILABLE', reason: code }, 'proxy');
  }

  /** A stage answers in place of the upstream that failed (a cache's stale response); false: none did. */
  private answerFailure(a: Attempt, reason: string): boolean {
    const { ctx, route, replies } = a;
    for (const st of route.failureStages) {
      let r: Respond | undefined;
      try {
        r = st.onUpstreamFailure?.(ctx, reason);
      } catch (e) {
        replies.internalError(ctx, e, st.id);
        return true;
      }
      if (r !== undefined) {
        replies.respond(ctx, r, st.id);
        return true;
      }
    }
    return false;
  }

  /** The response of a route whose respond stages read the body: buffered (bounded), then their hooks. */
  private async bufferedResponse(a: Attempt, up: Dispatcher.ResponseData): Promise<void> {
    const { ctx, route, target, replies } = a;
    this.headArrived(a);
    const group = this.group;
    const limit = group.config.max_response_bytes;
    const chunks: Buffer[] = [];
    let size = 0;
    try {
      for await (const c of up.body) {
        size += (c as Buffer).length;
        if (size > limit) {
          up.body.destroy();
          release(a);
          return void replies.reply(ctx, { code: 'PC_ERR_UPSTREAM_PROTOCOL', reason: 'response too large to inspect' }, 'respond');
        }
        chunks.push(c as Buffer);
      }
    } catch (e) {
      release(a);
      group.report(target, false, steadyNow());
      ctx.upstreamFault = true;
      return void replies.reply(ctx, { code: 'PC_ERR_UPSTREAM_UNAVAILABLE', reason: errCode(e) }, 'proxy');
    }
    release(a);
    group.report(target, up.statusCode < 500, steadyNow());
    let body: Buffer = Buffer.concat(chunks, size);
    if (up.statusCode >= 500 && this.s.replace5xx && route.failureStages.length > 0 && this.answerFailure(a, `upstream status ${up.statusCode}`)) return;
    if (up.statusCode >= 500 && this.s.replace5xx) return this.replaceUpstreamError(a, up.statusCode, up.headers as Record<string, string | string[]>, body);
    const meta: ResponseMeta = {
      status: up.statusCode,
      headers: clientResponseHeaders(up.headers as Record<string, string | string[] | undefined>, this.s.notReturned),
    };
    ctx.phase = 'respond';
    // taps see the body the client gets, once every stage accepted it
    let tap: BodyTap | null = null;
    for (const st of route.respondStages) {
      try {
        const v = st.onResponse?.(ctx, meta);
        if (v !== undefined) {
          if (v.kind === 'respond') {
            tap?.abort();
            return void replies.respond(ctx, v, st.id);
          }
          tap = tap === null ? v : teeTaps(tap, v);
        }
        if (st.onResponseBody) {
          const r = st.onResponseBody(ctx, meta, body);
          if (!Buffer.isBuffer(r)) {
            if (st.mode === 'monitor') {
              ctx.recordMonitor(st.id, isRespond(r) ? { code: 'respond', reason: `would respond ${r.status}` } : r);
              continue;
            }
            tap?.abort();
            if (isRespond(r)) return void replies.respond(ctx, r, st.id);
            return void replies.reply(ctx, r, st.id);
          }
          body = r;
        }
      } catch (e) {
        tap?.abort();
        return replies.internalError(ctx, e, st.id);
      }
    }
    if (tap !== null) {
      if (tap.chunk(body)) tap.end();
      else tap.abort();
    }
    delete meta.headers['transfer-encoding'];
    meta.headers['content-length'] = String(body.length);
    replies.decorate(ctx, meta.headers);
    ctx.res.writeHead(meta.status, meta.headers);
    ctx.res.end(ctx.method === 'HEAD' ? undefined : body);
  }
}

/** Two taps on one body (two stages tapping the same response). */
function teeTaps(a: BodyTap, b: BodyTap): BodyTap {
  let first: BodyTap | null = a;
  let second: BodyTap | null = b;
  return {
    kind: 'tap',
    chunk(c) {
      if (first !== null && !first.chunk(c)) first = null;
      if (second !== null && !second.chunk(c)) second = null;
      return first !== null || second !== null;
    },
    end() {
      first?.end();
      second?.end();
    },
    abort() {
      first?.abort();
      second?.abort();
    },
  };
}

/** A response's Content-Length as the exchange counts it down (-1: none, or not one positive integer). */
function bodyLength(v: string | readonly string[] | undefined): number {
  const n = typeof v === 'string' ? Number(v) : Number.NaN;
  return Number.isSafeInteger(n) && n > 0 ? n : -1;
}
