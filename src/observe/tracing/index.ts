/**
 * Tracing (docs/tracing.md): the kernel's trace recorder (src/core/trace.ts). A request's trace
 * is decided when it arrives: it continues a trusted, valid `traceparent` (recorded when that
 * says sampled), else starts a new trace (recorded by ratio of the trace id, as OpenTelemetry's
 * TraceIdRatioBased sampler decides). Its spans are written when the exchange is over, from the
 * times the pipeline recorded: the SERVER span of the request, a child span per stage that ran
 * (its decision, code, WAF rule ids, cache status) and a CLIENT span for the upstream exchange,
 * whose id went upstream in `traceparent` when the request was forwarded. Each span is encoded
 * once, straight into OTLP/JSON, and queued for export (export.ts). Nothing secret goes into a
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

/** OTLP span kinds and status codes (opentelemetry-proto trace.proto) */
const KIND_INTERNAL = 1;
const KIND_SERVER = 2;
const KIND_CLIENT = 3;
const STATUS_ERROR = 2;

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

// ---- OTLP/JSON encoding ------------------------------------------------------------------------
const TIME_ORIGIN = performance.timeOrigin;
/** performance.now() milliseconds as OTLP's Unix nanoseconds (a decimal string, microsecond precision). */
function nanos(ms: number): string {
  return `${Math.round((TIME_ORIGIN + ms) * 1000)}000`;
}
function str(key: string, v: string): string {
  return `{"key":"${key}","value":{"stringValue":${JSON.stringify(v)}}}`;
}
function int(key: string, v: number): string {
  return `{"key":"${key}","value":{"intValue":"${v}"}}`;
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
  /** the fixed attributes of each stage's spans (id, phase, mode), by stage id: stage ids come from config */
  private readonly stageHeads = new Map<string, string>();

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

  /** `"attributes":[` and the stage's fixed attributes */
  stageHead(stage: RouteStage | null, id: string): string {
    let h = this.stageHeads.get(id);
    if (h === undefined) {
      // the mode only when it is not the usual enforce: a span's bytes are most of its cost
      const mode = stage === null || stage.mode === 'enforce' ? '' : `,${str('portcullis.stage.mode', stage.mode)}`;
      h = `"attributes":[${str('portcullis.stage.id', id)},${str('portcullis.stage.phase', stage === null ? 'intake' : stage.phase)}${mode}`;
      this.stageHeads.set(id, h);
    }
    return h;
  }
}

class Traced implements RequestTrace<RequestContext> {
  /** the CLIENT span of the upstream exchange: its id, and when it started */
  private clientId: string | null = null;
  private clientStart = 0;
  /** the start of each child span's JSON: trace id, and the request's span as the parent (made once a request) */
  private childHead = '';

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

  /** The start of a span's JSON, up to its kind; `name` is JSON-safe unless `quote`. */
  private open(spanId: string, parentId: string, name: string, kind: number, quote: boolean): string {
    const st = this.state === null ? '' : `,"traceState":${JSON.stringify(this.state)}`;
    const n = quote ? JSON.stringify(name) : `"${name}"`;
    if (parentId === this.spanId) {
      if (this.childHead === '') this.childHead = `{"traceId":"${this.traceId}","parentSpanId":"${this.spanId}"${st}`;
      return `${this.childHead},"spanId":"${spanId}","name":${n},"kind":${kind}`;
    }
    return `{"traceId":"${this.traceId}","spanId":"${spanId}"${parentId === '' ? '' : `,"parentSpanId":"${parentId}"`}${st},"name":${n},"kind":${kind}`;
  }

  end(ctx: RequestContext, status: number): void {
    if (!this.sampled) return;
    const endMs = performance.now();
    const route = ctx.route;
    const o = ctx.outcome;
    const spans: string[] = [];
    const t = ctx.timings;
    if (t !== null) {
      for (let i = 0; i + 2 < t.length; i += 3) {
        const idx = t[i] as number;
        const stage = idx === TIMING_INTAKE || route === null ? null : (route.requestStages[idx] ?? null);
        const id = stage === null ? 'intake' : stage.id;
        spans.push(
          `${this.open(randomHex(8), this.spanId, id, KIND_INTERNAL, true)},"startTimeUnixNano":"${nanos(t[i + 1] as number)}","endTimeUnixNano":"${nanos(t[i + 2] as number)}",${this.r.stageHead(stage, id)}${stageDecision(ctx, stage, id)}]}`,
        );
      }
    }
    const method = bound(ctx.method, 32);
    if (this.clientId !== null) {
      let a = str('http.request.method', method);
      const target = ctx.upstreamTarget;
      const colon = target === null ? -1 : target.lastIndexOf(':');
      if (target !== null && colon > target.indexOf(':')) {
        const host = target.slice(target.indexOf('//') + 2, colon);
        a += `,${str('server.address', host.startsWith('[') ? host.slice(1, -1) : host)},${int('server.port', Number(target.slice(colon + 1)))}`;
      }
      let st = '';
      if (ctx.upstreamFault) {
        a += `,${str('error.type', o.code ?? 'upstream_error')}`;
        st = `,"status":{"code":${STATUS_ERROR}}`;
      } else if (ctx.upstreamLatencyMs !== null) a += `,${int('http.response.status_code', status)}`;
      spans.push(
        `${this.open(this.clientId, this.spanId, 'proxy', KIND_CLIENT, false)},"startTimeUnixNano":"${nanos(this.clientStart)}","endTimeUnixNano":"${nanos(endMs)}","attributes":[${a}]${st}}`,
      );
    }
    let a =
      `${str('http.request.method', method)},${str('url.path', bound(ctx.path, MAX_PATH))},${str('url.scheme', ctx.listener.tls ? 'https' : 'http')}` +
      `,${str('server.address', bound(ctx.host, MAX_SHORT))},${str('client.address', ctx.clientIp)}` +
      (ctx.peerIp === ctx.clientIp ? '' : `,${str('network.peer.address', ctx.peerIp)}`) +
      `,${str('network.protocol.version', ctx.http2 ? '2' : ctx.req.httpVersion)},${int('http.response.status_code', status)}` +
      `,${str('portcullis.request_id', ctx.id)},${str('portcullis.listener', ctx.listener.name)},${str('portcullis.decision', o.decision)}`;
    const ua = ctx.req.headers['user-agent'];
    if (typeof ua === 'string') a += `,${str('user_agent.original', bound(ua, MAX_SHORT))}`;
    if (route !== null) a += `,${str('portcullis.route.id', route.id)}`;
    if (o.stage !== null) a += `,${str('portcullis.stage', o.stage)}`;
    if (o.code !== null) a += `,${str('portcullis.error.code', o.code)}`;
    const tenant = ctx.principal?.tenant ?? null;
    if (tenant !== null) a += `,${str('portcullis.tenant', tenant)}`;
    let st = '';
    if (status >= 500) {
      a += `,${str('error.type', o.code ?? String(status))}`;
      st = `,"status":{"code":${STATUS_ERROR}}`;
    }
    spans.push(
      `${this.open(this.spanId, this.parentId, route === null ? method : `${method} ${route.id}`, KIND_SERVER, true)},"startTimeUnixNano":"${nanos(ctx.startMs)}","endTimeUnixNano":"${nanos(endMs)}","attributes":[${a}]${st}}`,
    );
    this.r.exporter.add(spans);
  }
}

/** A stage span's decision attributes (each with a leading comma): what it decided, and what it annotated (WAF rule ids, cache status). */
function stageDecision(ctx: RequestContext, stage: RouteStage | null, id: string): string {
  const o = ctx.outcome;
  let a: string;
  if (o.stage === id) {
    a = `,${str('portcullis.decision', o.decision === 'denied' ? 'deny' : 'respond')}`;
    if (o.code !== null) a += `,${str('portcullis.error.code', o.code)}`;
  } else a = ',{"key":"portcullis.decision","value":{"stringValue":"continue"}}';
  if (stage === null) return a;
  for (const m of ctx.monitored) if (m.stage === id) a += `,${str('portcullis.monitor.code', m.code)}`;
  const ann = ctx.annotationsIfAny?.[id] as { rules?: unknown; score?: unknown; status?: unknown } | undefined;
  if (ann !== undefined && ann !== null && typeof ann === 'object') {
    if (Array.isArray(ann.rules)) {
      const ids = ann.rules.filter((r): r is string => typeof r === 'string').slice(0, MAX_RULES);
      a += `,{"key":"portcullis.waf.rule_ids","value":{"arrayValue":{"values":[${ids.map((r) => `{"stringValue":${JSON.stringify(r)}}`).join(',')}]}}}`;
    }
    if (typeof ann.score === 'number' && Number.isSafeInteger(ann.score)) a += `,${int('portcullis.waf.score', ann.score)}`;
    if (typeof ann.status === 'string') a += `,${str('portcullis.cache.status', bound(ann.status, MAX_SHORT))}`;
  }
  return a;
}
