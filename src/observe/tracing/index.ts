/**
 * Tracing (docs/tracing.md): the kernel's trace recorder (src/core/trace.ts). A request's trace
 * is decided when it arrives: it continues a trusted, valid `traceparent` (recorded when that
 * says sampled), else starts a new trace (recorded by ratio of the trace id, as OpenTelemetry's
 * TraceIdRatioBased sampler decides). Its spans are written when the exchange is over, from the
 * times the pipeline recorded: the SERVER span of the request, a child span per stage that ran
 * (its decision, code, WAF rule ids, cache status) and a CLIENT span for the upstream exchange,
 * whose id went upstream in `traceparent` when the request was forwarded. Each span is encoded
 * written once, field by field, straight into the export queue's bytes (encode.ts: OTLP protobuf or
 * JSON) and exported in batches (export.ts). Nothing secret goes into a
 * span: no header values but the User-Agent, no query, no body, no credential.
 */
import { Buffer } from 'node:buffer';
import { randomFillSync } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Services } from '../../core/services.js';
import type { RequestContext, RouteStage } from '../../core/stage.js';
import { TIMING_INTAKE, type RequestTrace, type TraceRecorder } from '../../core/trace.js';
import type { CanonicalConfig } from '../../core/config.js';
import { type SpanExporter, tracingExporters } from './export.js';
import { KIND_CLIENT, KIND_INTERNAL, KIND_SERVER, type SpanEncoder } from './encode.js';
import type { TracingConfig } from './schema.js';
import { formatTraceParent, parseTraceParent, parseTraceState } from './traceparent.js';

export { tracingSchema, type TracingConfig } from './schema.js';
export { tracingExporters } from './export.js';

/** The request headers the gateway owns while tracing is on: what a client sent is never forwarded. */
export const TRACE_HEADERS: readonly string[] = ['traceparent', 'tracestate'];
/** Longest path put in a span attribute; method, host and user agent get MAX_SHORT. */
const MAX_PATH = 2048;
const MAX_SHORT = 256;
/** Most WAF rule ids on a stage span. */
const MAX_RULES = 32;

// ---- ids: random hex drawn in batches from the CSPRNG (as request ids are, core/request-id.ts) ----
const ID_BYTES = 8192;
const idPool = Buffer.allocUnsafe(ID_BYTES);
let idHex = '';
let idAt = ID_BYTES * 2;
/** `n` random bytes as 2n lowercase hex digits, never all zero. */
function randomHex(n: number): string {
  if (idAt + 2 * n > idHex.length) {
    randomFillSync(idPool);
    idHex = idPool.toString('hex');
    idAt = 0;
  }
  const s = idHex.slice(idAt, idAt + 2 * n);
  idAt += 2 * n;
  return /^0+$/.test(s) ? randomHex(n) : s;
}

/** OpenTelemetry's TraceIdRatioBased decision: the xor of the id's 32-bit words against ratio × 2^32. */
function sampledByRatio(traceId: string, ratio: number): boolean {
  if (ratio >= 1) return true;
  if (ratio <= 0) return false;
  let acc = 0;
  for (let i = 0; i < 32; i += 8) acc = (acc ^ Number.parseInt(traceId.slice(i, i + 8), 16)) >>> 0;
  return acc <= Math.floor(ratio * 0xffffffff);
}

function bound(s: string, n: number): string {
  return s.length > n ? s.slice(0, n) : s;
}

/** The section of the config, or null when tracing is off. */
export function tracingConfig(config: CanonicalConfig): TracingConfig | null {
  const t = config.tracing as TracingConfig | undefined;
  return t?.enabled === true ? t : null;
}

/** The snapshot's recorder, with the reference it holds on the shared exporter. */
export interface Tracing {
  readonly recorder: TraceRecorder<RequestContext>;
  /** gives the exporter back (the snapshot was retired) */
  release(): Promise<void>;
}

/** The recorder of a snapshot whose config turns tracing on; null when it is off. */
export function createTracing(config: CanonicalConfig, services: Services): Tracing | null {
  const c = tracingConfig(config);
  if (c === null) return null;
  const held = tracingExporters(services).acquire(c);
  return { recorder: new Recorder(held.exporter, c), release: held.release };
}

class Recorder implements TraceRecorder<RequestContext> {
  constructor(
    readonly exporter: SpanExporter,
    private readonly c: TracingConfig,
  ) {}

  begin(ctx: RequestContext): RequestTrace<RequestContext> {
    const trust = this.c.trust_incoming;
    if (trust === 'all' || (trust === 'trusted_proxies' && ctx.peerTrusted)) {
      const headers = ctx.req.headers;
      const tp = parseTraceParent(headers.traceparent);
      if (tp !== null) return this.start(ctx, tp.traceId, tp.parentId, tp.sampled, parseTraceState(headers.tracestate));
    }
    const traceId = randomHex(16);
    return this.start(ctx, traceId, '', sampledByRatio(traceId, this.c.sample_ratio), null);
  }

  private start(ctx: RequestContext, traceId: string, parentId: string, sampled: boolean, state: string | null): Traced {
    if (sampled) ctx.timings = [];
    return new Traced(this, traceId, randomHex(8), parentId, sampled, state);
  }
}

class Traced implements RequestTrace<RequestContext> {
  /** the CLIENT span of the upstream exchange: its id, and when it started */
  private clientId: string | null = null;
  private clientStart = 0;

  constructor(
    private readonly r: Recorder,
    readonly traceId: string,
    readonly spanId: string,
    private readonly parentId: string,
    private readonly sampled: boolean,
    private readonly state: string | null,
  ) {}

  upstream(ctx: RequestContext): void {
    let id = this.spanId;
    if (this.sampled) {
      id = this.clientId = randomHex(8);
      this.clientStart = performance.now();
    }
    const h = ctx.upstreamHeaders;
    h.traceparent = formatTraceParent(this.traceId, id, this.sampled);
    if (this.state !== null) h.tracestate = this.state;
  }

  end(ctx: RequestContext, status: number): void {
    if (!this.sampled) return;
    const t = ctx.timings;
    const n = (t === null ? 0 : Math.floor(t.length / 3)) + (this.clientId === null ? 1 : 2);
    const w = this.r.exporter.reserve(n);
    if (w === null) return;
    const endMs = performance.now();
    const route = ctx.route;
    const o = ctx.outcome;
    const traceId = this.traceId;
    const state = this.state;
    if (t !== null) {
      for (let i = 0; i + 2 < t.length; i += 3) {
        const idx = t[i] as number;
        const stage = idx === TIMING_INTAKE || route === null ? null : (route.requestStages[idx] ?? null);
        const id = stage === null ? 'intake' : stage.id;
        w.begin(traceId, randomHex(8), this.spanId, state, id, KIND_INTERNAL, t[i + 1] as number, t[i + 2] as number);
        // a stage's fixed attributes, with the usual decision (continue), are encoded once
        if (o.stage === id) {
          stageHead(w, stage, id);
          w.str('portcullis.decision', o.decision === 'denied' ? 'deny' : 'respond');
          if (o.code !== null) w.str('portcullis.error.code', o.code);
        } else
          w.cached(stage === null || stage.mode === 'enforce' ? id : `${id}\u0001${stage.mode}`, () => {
            stageHead(w, stage, id);
            w.str('portcullis.decision', 'continue');
          });
        if (stage !== null) stageNotes(w, ctx, id);
        w.end();
      }
    }
    const method = bound(ctx.method, 32);
    if (this.clientId !== null) {
      w.begin(traceId, this.clientId, this.spanId, state, 'proxy', KIND_CLIENT, this.clientStart, endMs);
      w.str('http.request.method', method);
      const target = ctx.upstreamTarget;
      const colon = target === null ? -1 : target.lastIndexOf(':');
      if (target !== null && colon > target.indexOf(':')) {
        const host = target.slice(target.indexOf('//') + 2, colon);
        w.str('server.address', host.startsWith('[') ? host.slice(1, -1) : host);
        w.int('server.port', Number(target.slice(colon + 1)));
      }
      if (ctx.upstreamFault) {
        w.str('error.type', o.code ?? 'upstream_error');
        w.error();
      } else if (ctx.upstreamLatencyMs !== null) w.int('http.response.status_code', status);
      w.end();
    }
    w.begin(traceId, this.spanId, this.parentId, state, route === null ? method : `${method} ${route.id}`, KIND_SERVER, ctx.startMs, endMs);
    w.str('http.request.method', method);
    w.str('url.path', bound(ctx.path, MAX_PATH));
    w.str('url.scheme', ctx.listener.tls ? 'https' : 'http');
    w.str('server.address', bound(ctx.host, MAX_SHORT));
    w.str('client.address', ctx.clientIp);
    if (ctx.peerIp !== ctx.clientIp) w.str('network.peer.address', ctx.peerIp);
    w.str('network.protocol.version', ctx.http2 ? '2' : ctx.req.httpVersion);
    w.int('http.response.status_code', status);
    w.str('portcullis.request_id', ctx.id);
    w.str('portcullis.listener', ctx.listener.name);
    w.str('portcullis.decision', o.decision);
    const ua = ctx.req.headers['user-agent'];
    if (typeof ua === 'string') w.str('user_agent.original', bound(ua, MAX_SHORT));
    if (route !== null) w.str('portcullis.route.id', route.id);
    if (o.stage !== null) w.str('portcullis.stage', o.stage);
    if (o.code !== null) w.str('portcullis.error.code', o.code);
    const tenant = ctx.principal?.tenant ?? null;
    if (tenant !== null) w.str('portcullis.tenant', tenant);
    if (status >= 500) {
      w.str('error.type', o.code ?? String(status));
      w.error();
    }
    w.end();
    this.r.exporter.written(n);
  }
}

/** A stage span's fixed attributes: its id, phase and (when it is not the usual enforce) its mode. */
function stageHead(w: SpanEncoder, stage: RouteStage | null, id: string): void {
  w.str('portcullis.stage.id', id);
  w.str('portcullis.stage.phase', stage === null ? 'intake' : stage.phase);
  // the mode only when it is not the usual enforce: a span's bytes are most of its cost
  if (stage !== null && stage.mode !== 'enforce') w.str('portcullis.stage.mode', stage.mode);
}

/** What a stage noted besides its decision: monitor-mode codes, WAF rule ids and score, cache status. */
function stageNotes(w: SpanEncoder, ctx: RequestContext, id: string): void {
  for (const m of ctx.monitored) if (m.stage === id) w.str('portcullis.monitor.code', m.code);
  const ann = ctx.annotationsIfAny?.[id] as { rules?: unknown; score?: unknown; status?: unknown } | undefined;
  if (ann !== undefined && ann !== null && typeof ann === 'object') {
    if (Array.isArray(ann.rules)) w.strs('portcullis.waf.rule_ids', ann.rules.filter((r): r is string => typeof r === 'string').slice(0, MAX_RULES));
    if (typeof ann.score === 'number' && Number.isSafeInteger(ann.score) && ann.score >= 0) w.int('portcullis.waf.score', ann.score);
    if (typeof ann.status === 'string') w.str('portcullis.cache.status', bound(ann.status, MAX_SHORT));
  }
}
