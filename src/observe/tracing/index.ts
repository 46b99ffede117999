/**
 * Tracing (docs/tracing.md): the kernel's trace recorder (src/core/trace.ts) on the OpenTelemetry
 * SDK. A request's SERVER span is started when it arrives (continuing a trusted `traceparent`,
 * else a new trace; sampled parent-based, by ratio otherwise); the CLIENT span of the upstream
 * exchange when it is forwarded, its id sent upstream in `traceparent`; the stage spans are made
 * when the exchange is over, from the times the pipeline recorded, with their decisions. Nothing
 * secret goes into a span: no header values, no query, no body, no credential.
 */
import {
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  TraceFlags,
  trace,
  type Attributes,
  type Context as OtelContext,
  type Span,
  type Tracer,
} from '@opentelemetry/api';
import { TraceState } from '@opentelemetry/core';
import type { Services } from '../../core/services.js';
import type { RequestContext, RouteStage } from '../../core/stage.js';
import { TIMING_INTAKE, type RequestTrace, type TraceRecorder } from '../../core/trace.js';
import type { CanonicalConfig } from '../../core/config.js';
import { tracingProviders } from './export.js';
import type { TracingConfig } from './schema.js';
import { formatTraceParent, parseTraceParent, parseTraceState } from './traceparent.js';

export { tracingSchema, type TracingConfig } from './schema.js';
export { tracingProviders } from './export.js';

/** The request headers the gateway owns while tracing is on: what a client sent is never forwarded. */
export const TRACE_HEADERS: readonly string[] = ['traceparent', 'tracestate'];
/** Longest path, method and user agent put in a span attribute. */
const MAX_PATH = 2048;
const MAX_SHORT = 256;

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
  const held = tracingProviders(services).acquire(c);
  return { recorder: new Recorder(held.tracer, c.trust_incoming), release: held.release };
}

class Recorder implements TraceRecorder<RequestContext> {
  constructor(
    readonly tracer: Tracer,
    private readonly trust: TracingConfig['trust_incoming'],
  ) {}

  begin(ctx: RequestContext): RequestTrace<RequestContext> {
    let parent: OtelContext = ROOT_CONTEXT;
    if (this.trust === 'all' || (this.trust === 'trusted_proxies' && ctx.peerTrusted)) {
      const headers = ctx.req.headers;
      const tp = parseTraceParent(headers.traceparent);
      if (tp !== null) {
        const ts = parseTraceState(headers.tracestate);
        parent = trace.setSpanContext(ROOT_CONTEXT, {
          traceId: tp.traceId,
          spanId: tp.parentId,
          traceFlags: tp.sampled ? TraceFlags.SAMPLED : TraceFlags.NONE,
          isRemote: true,
          ...(ts === null ? {} : { traceState: new TraceState(ts) }),
        });
      }
    }
    const span = this.tracer.startSpan(ctx.method, { kind: SpanKind.SERVER, startTime: ctx.startMs }, parent);
    const recording = span.isRecording();
    if (recording) ctx.timings = [];
    return new Traced(this.tracer, span, recording);
  }
}

class Traced implements RequestTrace<RequestContext> {
  readonly traceId: string;
  readonly spanId: string;
  private client: Span | null = null;

  constructor(
    private readonly tracer: Tracer,
    private readonly span: Span,
    private readonly recording: boolean,
  ) {
    const sc = span.spanContext();
    this.traceId = sc.traceId;
    this.spanId = sc.spanId;
  }

  upstream(ctx: RequestContext): void {
    let sc = this.span.spanContext();
    if (this.recording) {
      this.client = this.tracer.startSpan('proxy', { kind: SpanKind.CLIENT }, trace.setSpan(ROOT_CONTEXT, this.span));
      sc = this.client.spanContext();
    }
    const h = ctx.upstreamHeaders;
    h.traceparent = formatTraceParent(sc.traceId, sc.spanId, (sc.traceFlags & TraceFlags.SAMPLED) !== 0);
    const state = sc.traceState?.serialize();
    if (state !== undefined && state !== '') h.tracestate = state;
  }

  end(ctx: RequestContext, status: number): void {
    if (!this.recording) return;
    const span = this.span;
    const route = ctx.route;
    const o = ctx.outcome;
    const parent = trace.setSpan(ROOT_CONTEXT, span);
    const t = ctx.timings;
    if (t !== null) {
      for (let i = 0; i + 2 < t.length; i += 3) {
        const idx = t[i] as number;
        const stage = idx === TIMING_INTAKE || route === null ? null : (route.requestStages[idx] ?? null);
        const id = stage === null ? 'intake' : stage.id;
        this.tracer
          .startSpan(id, { kind: SpanKind.INTERNAL, startTime: t[i + 1] as number, attributes: stageAttributes(ctx, stage, id) }, parent)
          .end(t[i + 2] as number);
      }
    }
    const client = this.client;
    if (client !== null) {
      const target = ctx.upstreamTarget;
      if (target !== null) {
        const u = origin(target);
        if (u !== null) {
          client.setAttribute('server.address', u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname);
          client.setAttribute('server.port', Number(u.port || (u.protocol === 'https:' ? 443 : 80)));
        }
      }
      client.setAttribute('http.request.method', bound(ctx.method, 32));
      if (ctx.upstreamFault) {
        client.setAttribute('error.type', o.code ?? 'upstream_error');
        client.setStatus({ code: SpanStatusCode.ERROR });
      } else if (ctx.upstreamLatencyMs !== null) client.setAttribute('http.response.status_code', status);
      client.end();
    }
    const a: Attributes = {
      'http.request.method': bound(ctx.method, 32),
      'url.path': bound(ctx.path, MAX_PATH),
      'url.scheme': ctx.listener.tls ? 'https' : 'http',
      'server.address': bound(ctx.host, MAX_SHORT),
      'client.address': ctx.clientIp,
      'network.peer.address': ctx.peerIp,
      'network.protocol.version': ctx.http2 ? '2' : ctx.req.httpVersion,
      'http.response.status_code': status,
      'portcullis.request_id': ctx.id,
      'portcullis.listener': ctx.listener.name,
      'portcullis.decision': o.decision,
    };
    const ua = ctx.req.headers['user-agent'];
    if (typeof ua === 'string') a['user_agent.original'] = bound(ua, MAX_SHORT);
    if (route !== null) a['portcullis.route.id'] = route.id;
    if (o.stage !== null) a['portcullis.stage'] = o.stage;
    if (o.code !== null) a['portcullis.error.code'] = o.code;
    if (ctx.principal !== null && ctx.principal.tenant !== null) a['portcullis.tenant'] = ctx.principal.tenant;
    span.setAttributes(a);
    if (route !== null) span.updateName(`${bound(ctx.method, 32)} ${route.id}`);
    if (status >= 500) {
      span.setAttribute('error.type', o.code ?? String(status));
      span.setStatus({ code: SpanStatusCode.ERROR });
    }
    span.end();
  }
}

/** An upstream target's origin, read once per traced exchange. */
function origin(target: string): URL | null {
  try {
    return new URL(target);
  } catch {
    return null;
  }
}

/** A stage span's attributes: which stage, its phase, what it decided, and what it annotated (WAF rule ids, cache status). */
function stageAttributes(ctx: RequestContext, stage: RouteStage | null, id: string): Attributes {
  const o = ctx.outcome;
  const a: Attributes = { 'portcullis.stage.id': id, 'portcullis.stage.phase': stage === null ? 'intake' : stage.phase };
  if (o.stage === id) {
    a['portcullis.decision'] = o.decision === 'denied' ? 'deny' : 'respond';
    if (o.code !== null) a['portcullis.error.code'] = o.code;
  } else a['portcullis.decision'] = 'continue';
  if (stage === null) return a;
  a['portcullis.stage.mode'] = stage.mode;
  for (const m of ctx.monitored) if (m.stage === id) a['portcullis.monitor.code'] = m.code;
  const ann = ctx.annotationsIfAny?.[id] as { rules?: unknown; score?: unknown; status?: unknown } | undefined;
  if (ann !== undefined && ann !== null && typeof ann === 'object') {
    if (Array.isArray(ann.rules)) a['portcullis.waf.rule_ids'] = ann.rules.filter((r): r is string => typeof r === 'string').slice(0, 32);
    if (typeof ann.score === 'number') a['portcullis.waf.score'] = ann.score;
    if (typeof ann.status === 'string') a['portcullis.cache.status'] = ann.status;
  }
  return a;
}
