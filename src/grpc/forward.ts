/**
 * The forwarder of `protocol: grpc` routes: one gRPC call per request, over an HTTP/2 stream to
 * the upstream (src/proxy/h2-upstream.ts). Both bodies stream as they arrive (bidirectional calls
 * work), every message prefix is read on the way (FrameMeter: a message over `max_message_bytes`
 * ends the call with RESOURCE_EXHAUSTED both ways), the deadline is the client's `grpc-timeout`
 * bounded by the route's `timeout_ms`, and the upstream's trailers reach the client: as HTTP/2
 * trailers, or for gRPC-Web as the body's last frame (flag 0x80), base64 in text mode.
 *
 * Refusals before the response head go through the pipeline (which writes them as gRPC statuses,
 * src/core/grpc.ts); after it, the call is ended here with the status in the trailers.
 */
import { steadyNow } from '../core/clock.js';
import { performance } from 'node:perf_hooks';
import { Buffer } from 'node:buffer';
import * as http2 from 'node:http2';
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import type { Deny } from '../core/decision.js';
import type { ErrorCode } from '../core/errors.js';
import { ERRORS } from '../core/errors.js';
import { GRPC, encodeGrpcMessage, grpcStatusOf, grpcWebTrailerFrame, grpcWireOf, type GrpcWire } from '../core/grpc.js';
import type { GrpcRouteConfig } from '../core/config.js';
import type { CompiledRoute, Replies, RequestContext, SideResponse } from '../core/stage.js';
import { UpstreamForwarder, type ForwardSettings } from '../proxy/forward.js';
import { upstreamRequestHeaders } from '../proxy/headers.js';
import type { Target, UpstreamGroup } from '../proxy/upstream.js';
import { Base64Decoder, FrameMeter } from './framing.js';

const { NGHTTP2_CANCEL, NGHTTP2_NO_ERROR, NGHTTP2_FLAG_END_STREAM, NGHTTP2_REFUSED_STREAM } = http2.constants;
/** Request fields a gRPC-Web call carries for the browser's sake, not sent upstream. */
const WEB_ONLY: ReadonlySet<string> = new Set(['x-grpc-web', 'x-user-agent', 'accept']);
/** Fields set here, whatever the client sent. */
const SET_HERE: ReadonlySet<string> = new Set(['host', 'content-length', 'content-type', 'grpc-timeout', 'te']);
const TIMEOUT = /^(\d{1,8})([HMSmun])$/;
const UNIT_MS: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 0.001, n: 0.000001 };

/** `grpc-timeout` in milliseconds; undefined when absent, null when not valid. */
export function parseGrpcTimeout(v: string | undefined): number | undefined | null {
  if (v === undefined) return undefined;
  const m = TIMEOUT.exec(v);
  if (m === null) return null;
  return Math.ceil(Number(m[1]) * (UNIT_MS[m[2] as string] as number));
}

/** The upstream's Content-Type for a call: gRPC's, with the client's subtype (+proto, +json). */
function upstreamType(ct: string): string {
  const essence = (ct.split(';')[0] as string).trim().toLowerCase();
  if (essence.startsWith('application/grpc-web-text')) return `application/grpc${essence.slice(25)}`;
  if (essence.startsWith('application/grpc-web')) return `application/grpc${essence.slice(20)}`;
  return essence;
}

/** The client's Content-Type for the response on a gRPC-Web call. */
function webType(wire: GrpcWire, upstream: string | undefined): string {
  if (wire === 'grpc-web-text') return 'application/grpc-web-text';
  const ct = (upstream ?? 'application/grpc').split(';')[0]?.trim().toLowerCase() ?? 'application/grpc';
  return ct.startsWith('application/grpc') ? `application/grpc-web${ct.slice(16)}` : 'application/grpc-web';
}

export class GrpcForwarder extends UpstreamForwarder {
  constructor(
    group: UpstreamGroup,
    route: { readonly strip_prefix?: string; readonly rewrite?: string; readonly preserve_host?: boolean },
    s: ForwardSettings,
    readonly grpc: GrpcRouteConfig,
  ) {
    super(group, route, s);
  }

  override forward(ctx: RequestContext, _route: CompiledRoute, replies: Replies): void {
    const wire = grpcWireOf(ctx.header('content-type'));
    const refuse = (code: ErrorCode, detail: string, headers?: Record<string, string>): void =>
      replies.reply(ctx, { code, detail, ...(headers ? { headers } : {}) }, 'proxy');
    if (wire === null) return void refuse('PC_ERR_UNSUPPORTED_MEDIA_TYPE', 'a gRPC route takes application/grpc or application/grpc-web calls');
    if (wire === 'grpc' && !ctx.http2) return void refuse('PC_ERR_PROTOCOL', 'gRPC needs HTTP/2 (gRPC-Web works over HTTP/1.1)');
    if (wire !== 'grpc' && !this.grpc.web) return void refuse('PC_ERR_UNSUPPORTED_MEDIA_TYPE', 'gRPC-Web is not accepted on this route');
    if (ctx.method !== 'POST') return void refuse('PC_ERR_METHOD_NOT_ALLOWED', 'gRPC calls are POST', { allow: 'POST' });
    const timeout = parseGrpcTimeout(ctx.header('grpc-timeout'));
    if (timeout === null) return void refuse('PC_ERR_BAD_REQUEST', 'grpc-timeout is not valid');
    const budget = Math.min(timeout ?? Number.POSITIVE_INFINITY, this.grpc.timeout_ms);
    new GrpcCall(this, ctx, replies, wire, performance.now() + budget).start(null);
  }

  override fetch(): Promise<SideResponse> {
    return Promise.reject(new Error('side requests are not made on gRPC routes'));
  }

  /** The upstream request's header block (HTTP/2: pseudo-headers, no Host, `te: trailers`). */
  requestHeaders(ctx: RequestContext, target: Target, wire: GrpcWire, remainingMs: number): OutgoingHttpHeaders {
    const list = upstreamRequestHeaders(ctx.req.headers, this.s.notForwarded, this.forwardInfo(ctx, target), ctx.upstreamHeadersIfAny, null);
    const out: OutgoingHttpHeaders = {
      ':method': 'POST',
      ':scheme': target.origin.startsWith('https:') ? 'https' : 'http',
      ':authority': target.hostPort,
      ':path': this.upstreamPath(ctx, target),
    };
    for (let i = 0; i < list.length; i += 2) {
      const k = list[i] as string;
      const v = list[i + 1] as string;
      if (k === 'host') {
        out[':authority'] = v; // preserve_host
        continue;
      }
      if (SET_HERE.has(k) || (wire !== 'grpc' && WEB_ONLY.has(k))) continue;
      const prev = out[k];
      out[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [String(prev), v];
    }
    out['content-type'] = upstreamType(ctx.header('content-type') ?? 'application/grpc');
    out.te = 'trailers';
    if (Number.isFinite(remainingMs)) out['grpc-timeout'] = `${Math.max(1, Math.floor(remainingMs))}m`;
    return out;
  }

  /** The upstream answered (time to its response head). */
  callHeadArrived(ctx: RequestContext, upStart: number): void {
    const ms = performance.now() - upStart;
    ctx.upstreamLatencyMs = ms;
    this.s.metrics.upstreamLatency.observe(this.group.name, ms / 1000);
  }

  get settings(): ForwardSettings {
    return this.s;
  }
}

/** Response fields never relayed (pseudo-headers, hop-by-hop, the length of a body that is rewritten). */
function relayed(h: IncomingHttpHeaders, drop: ReadonlySet<string>, skip: ReadonlySet<string>): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const k in h) {
    if (k.charCodeAt(0) === 0x3a || drop.has(k) || skip.has(k)) continue;
    const v = h[k];
    if (v !== undefined) out[k] = v;
  }
  return out;
}

const RESPONSE_SKIP: ReadonlySet<string> = new Set(['content-length', 'content-type']);

/** One call in flight. */
class GrpcCall {
  private target: Target | null = null;
  private upstream: http2.ClientHttp2Stream | null = null;
  private sessionDone: (() => void) | null = null;
  private readonly reqMeter: FrameMeter;
  private readonly resMeter: FrameMeter;
  private readonly text: Base64Decoder | null;
  /** gRPC-Web text: the 0-2 response bytes not yet base64-encoded (groups of three go out whole) */
  private textRest: Buffer | null = null;
  private trailers: IncomingHttpHeaders | null = null;
  private over = false;
  private headSent = false;
  private timer: NodeJS.Timeout | null = null;
  private upStart = 0;

  constructor(
    private readonly f: GrpcForwarder,
    private readonly ctx: RequestContext,
    private readonly replies: Replies,
    private readonly wire: GrpcWire,
    private readonly deadline: number,
  ) {
    const max = f.grpc.max_message_bytes;
    this.reqMeter = new FrameMeter(max);
    this.resMeter = new FrameMeter(max);
    this.text = wire === 'grpc-web-text' ? new Base64Decoder() : null;
  }

  start(tried: Set<Target> | null): void {
    const { ctx, f } = this;
    const group = f.group;
    const now = steadyNow();
    if (tried === null) {
      group.countRequest(now);
      ctx.exchange = { abort: () => this.cancel() };
      const left = this.deadline - performance.now();
      this.timer = setTimeout(() => this.fail({ code: 'PC_ERR_UPSTREAM_TIMEOUT', detail: 'deadline exceeded', reason: 'grpc deadline' }), Math.max(0, left));
      this.timer.unref();
    }
    const target = group.pick(now, tried);
    if (target === null) return void this.fail({ code: 'PC_ERR_UPSTREAM_NO_HEALTHY' });
    this.target = target;
    ctx.upstreamTarget = target.origin;
    target.active++;
    this.upStart = performance.now();
    target.sessions.acquire().then(
      ({ session, done }) => {
        this.sessionDone = done;
        if (this.over) return void this.release();
        this.open(session, target);
      },
      (err: Error & { code?: string }) => {
        target.active--;
        this.target = null;
        if (this.over) return;
        const code = err.code ?? 'UNKNOWN';
        group.report(target, false, steadyNow());
        f.settings.metrics.upstreamErrors.inc({ upstream: group.name, code });
        ctx.upstreamFault = true;
        // nothing was sent: another target may take the call
        const next = tried ?? new Set<Target>();
        next.add(target);
        if (next.size < group.targets.length && next.size <= group.config.retries.attempts && group.allowRetry(steadyNow())) return void this.start(next);
        this.fail({ code: code === 'UND_ERR_CONNECT_TIMEOUT' ? 'PC_ERR_UPSTREAM_TIMEOUT' : 'PC_ERR_UPSTREAM_UNAVAILABLE', reason: code });
      },
    );
  }

  private open(session: http2.ClientHttp2Session, target: Target): void {
    const { ctx, f } = this;
    const req = ctx.req;
    let up: http2.ClientHttp2Stream;
    try {
      up = session.request(f.requestHeaders(ctx, target, this.wire, this.deadline - performance.now()), { endStream: !ctx.announcesBody() });
    } catch (e) {
      this.release();
      return void this.fail({ code: 'PC_ERR_UPSTREAM_UNAVAILABLE', reason: (e as Error).message });
    }
    this.upstream = up;
    up.on('response', (h, flags) => this.head(h, flags));
    up.on('data', (c: Buffer) => this.data(c));
    up.on('trailers', (t) => {
      this.trailers = t;
    });
    up.on('end', () => this.end());
    up.on('error', () => undefined); // read on 'close' (rstCode)
    up.on('close', () => {
      this.release();
      if (!this.over) this.upstreamClosed(up.rstCode);
    });
    if (!ctx.announcesBody()) return;
    req.on('error', () => this.cancel()); // the client reset its stream or closed the connection
    ctx.bytesIn = 0; // counted as the body streams (a declared Content-Length was counted at routing)
    req.on('data', (c: Buffer) => {
      if (this.over) return;
      let b: Buffer | null = c;
      if (this.text !== null) {
        b = this.text.push(c);
        if (b === null) return void this.fail({ code: 'PC_ERR_BODY_MALFORMED', detail: 'gRPC-Web text body is not base64' });
      }
      ctx.bytesIn += c.length;
      const v = this.reqMeter.push(b);
      if (!v.ok)
        return void this.fail(
          v.kind === 'too_large' ? { code: 'PC_ERR_BODY_TOO_LARGE', detail: v.reason } : { code: 'PC_ERR_BODY_MALFORMED', detail: v.reason },
        );
      if (!up.write(b)) {
        req.pause();
        up.once('drain', () => req.resume());
      }
    });
    req.on('end', () => {
      if (this.over) return;
      if (!this.reqMeter.atBoundary || (this.text !== null && !this.text.complete))
        return void this.fail({ code: 'PC_ERR_BODY_MALFORMED', detail: 'the request ended inside a message' });
      up.end();
    });
  }

  /** The upstream's response head: relayed, or the whole response when it is Trailers-Only. */
  private head(h: http2.IncomingHttpHeaders & http2.IncomingHttpStatusHeader, flags: number): void {
    const { ctx, f } = this;
    f.callHeadArrived(ctx, this.upStart);
    const status = h[':status'];
    const ct = h['content-type'];
    if (status !== 200 || typeof ct !== 'string' || grpcWireOf(ct) !== 'grpc') {
      this.upstream?.close(NGHTTP2_CANCEL);
      if (this.target !== null) f.group.report(this.target, false, steadyNow());
      return void this.fail({ code: 'PC_ERR_UPSTREAM_PROTOCOL', reason: `upstream answered ${status} ${typeof ct === 'string' ? ct : ''}` });
    }
    if (this.target !== null) f.group.report(this.target, true, 0);
    const out = relayed(h, f.settings.notReturned, RESPONSE_SKIP);
    out['content-type'] = this.wire === 'grpc' ? ct : webType(this.wire, ct);
    // respond stages see the head (CORS adds Vary); a stage's own answer or body tap has no place in a call
    const stages = ctx.route?.respondStages ?? [];
    if (stages.length > 0) {
      ctx.phase = 'respond';
      const meta = { status: 200, headers: out };
      for (const st of stages) {
        try {
          st.onResponse?.(ctx, meta);
        } catch (e) {
          this.upstream?.close(NGHTTP2_CANCEL);
          this.over = true;
          this.clearTimer();
          return void this.replies.internalError(ctx, e, st.id);
        }
      }
    }
    this.replies.decorate(ctx, out);
    this.headSent = true;
    if ((flags & NGHTTP2_FLAG_END_STREAM) !== 0) {
      // Trailers-Only: the status is in this one block
      this.over = true;
      this.clearTimer();
      ctx.annotations.grpc_status = Number(h['grpc-status'] ?? GRPC.UNKNOWN);
      const res = ctx.res;
      res.statusCode = 200;
      if (ctx.http2) (res as unknown as { stream: http2.ServerHttp2Stream }).stream.respond({ ':status': 200, ...out }, { endStream: true });
      else {
        out['content-length'] = '0';
        res.writeHead(200, out);
        res.end();
      }
      this.stopClient();
      return;
    }
    ctx.res.writeHead(200, out);
  }

  private data(c: Buffer): void {
    if (this.over) return;
    const v = this.resMeter.push(c);
    if (!v.ok) {
      return void this.fail(
        v.kind === 'too_large' ? { code: 'PC_ERR_BODY_TOO_LARGE', detail: `response ${v.reason}` } : { code: 'PC_ERR_UPSTREAM_PROTOCOL', reason: v.reason },
      );
    }
    const out = this.wire === 'grpc-web-text' ? this.encodeText(c, false) : c;
    const res = this.ctx.res;
    if (out.length > 0 && !res.write(out) && !res.destroyed) {
      const up = this.upstream;
      up?.pause();
      res.once('drain', () => up?.resume());
    }
  }

  /** base64 in whole groups of three bytes, so that the text is one unbroken base64 stream */
  private encodeText(c: Buffer, last: boolean): Buffer {
    const all = this.textRest === null ? c : Buffer.concat([this.textRest, c]);
    const whole = last ? all.length : all.length - (all.length % 3);
    this.textRest = whole < all.length ? all.subarray(whole) : null;
    return Buffer.from(all.subarray(0, whole).toString('base64'), 'latin1');
  }

  /** The upstream's stream ended: its trailers end the client's call. */
  private end(): void {
    if (this.over) return;
    if (!this.resMeter.atBoundary) return void this.fail({ code: 'PC_ERR_UPSTREAM_PROTOCOL', reason: 'response ended inside a message' });
    const t = this.trailers;
    if (t === null || t['grpc-status'] === undefined) {
      return void this.endCall({ 'grpc-status': String(GRPC.INTERNAL), 'grpc-message': 'upstream ended the call without a status' }, GRPC.INTERNAL);
    }
    this.endCall(relayed(t, this.f.settings.notReturned, RESPONSE_SKIP), Number(t['grpc-status']));
  }

  /** Ends the client's call with these trailers (the response head was sent). */
  private endCall(trailers: Record<string, string | string[]>, grpcStatus: number): void {
    this.over = true;
    this.clearTimer();
    const { ctx } = this;
    ctx.annotations.grpc_status = grpcStatus; // the access log's `grpc_status`
    const res = ctx.res;
    if (res.destroyed) return;
    if (this.wire === 'grpc') {
      res.addTrailers(trailers);
      res.end();
      return;
    }
    const frame = grpcWebTrailerFrame(trailers);
    res.end(this.wire === 'grpc-web-text' ? this.encodeText(frame, true) : frame);
  }

  /** The upstream stream closed before its end: reset, or its session went away. */
  private upstreamClosed(rstCode: number | undefined): void {
    if (this.target !== null) this.f.group.report(this.target, false, steadyNow());
    this.ctx.upstreamFault = true;
    const code =
      rstCode === NGHTTP2_REFUSED_STREAM || rstCode === undefined || rstCode === NGHTTP2_NO_ERROR ? 'PC_ERR_UPSTREAM_UNAVAILABLE' : 'PC_ERR_UPSTREAM_ERROR';
    this.fail({ code, reason: `upstream stream closed (code ${rstCode ?? 'none'})` });
  }

  /**
   * The gateway ends the call: before the response head, as a refusal the pipeline writes (a gRPC
   * status); after it, with the status in the trailers. The upstream stream is cancelled.
   */
  private fail(d: Deny): void {
    if (this.over) return;
    this.over = true;
    this.clearTimer();
    this.upstream?.close(NGHTTP2_CANCEL);
    const { ctx } = this;
    if (!this.headSent) {
      this.replies.reply(ctx, d, 'proxy');
      this.stopClient();
      return;
    }
    ctx.outcome = { decision: 'denied', stage: 'proxy', code: d.code, reason: d.reason ?? null, errors: null };
    const status = grpcStatusOf(d.code, d.status ?? ERRORS[d.code].status);
    this.over = false;
    this.endCall({ 'grpc-status': String(status), 'grpc-message': encodeGrpcMessage(d.detail ?? ERRORS[d.code].title), 'pc-error-code': d.code }, status);
    this.stopClient();
  }

  /** The call is over before the client finished sending: HTTP/2 tells it to stop (RST_STREAM NO_ERROR after the response). */
  private stopClient(): void {
    const { ctx } = this;
    if (ctx.req.readableEnded) return;
    ctx.req.removeAllListeners('data');
    if (ctx.http2) {
      const stream = (ctx.req as unknown as { stream: http2.ServerHttp2Stream }).stream;
      setImmediate(() => {
        if (!stream.destroyed) stream.close(NGHTTP2_NO_ERROR);
      });
    } else ctx.req.resume();
  }

  /** The client left: the upstream call is cancelled. */
  private cancel(): void {
    if (this.over) return;
    this.over = true;
    this.clearTimer();
    this.upstream?.close(NGHTTP2_CANCEL);
  }

  private clearTimer(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  private release(): void {
    this.sessionDone?.();
    this.sessionDone = null;
    if (this.target !== null) {
      this.target.active--;
      this.target = null;
    }
  }
}
