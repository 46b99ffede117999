/**
 * The record of a finished exchange: what one access-log line says, what observers (abuse
 * detection, alerts, metrics) read. Built once when the exchange ends; it does not keep the
 * request context, its request or its response.
 */
import type { Context, MonitorEvent, Outcome } from './context.js';

/** Redacts secret query parameters wherever a query is logged (src/observe/query-redaction.ts). */
export interface QueryRedactor {
  /** the raw query with the values of secret parameters replaced */
  redact(query: string): string;
  /** whether a WAF target of this name (`query:token`, `uri`, ...) may hold a secret of this query */
  secretTarget(target: string, query: string): boolean;
}

/** Everything one access-log line says: copied from the request context when the exchange ends. */
export interface AccessRecord {
  /** Date.now() at the end */
  readonly time: number;
  /** JSON-safe, written as is: a generated UUID, or an incoming id that matched [A-Za-z0-9._:-]{1,128} (core/pipeline.ts) */
  readonly id: string;
  /** JSON-safe, written as is: the socket's peer address, or an address from a forwarding header that node:net's isIP accepted */
  readonly clientIp: string;
  /** null when unreadable (a request the HTTP parser refused) */
  readonly method: string | null;
  readonly host: string | null;
  /** normalised path, without the query; null when unreadable */
  readonly path: string | null;
  /** raw query string ('' when none); secret parameters are redacted when the line is written */
  readonly query: string;
  /** the snapshot's secret query parameters */
  readonly redact: QueryRedactor;
  readonly routeId: string | null;
  readonly status: number;
  readonly bytesIn: number;
  readonly bytesOut: number;
  readonly latencyMs: number;
  readonly upstream: string | null;
  readonly upstreamLatencyMs: number | null;
  readonly consumer: string | null;
  readonly tenant: string | null;
  readonly outcome: Readonly<Outcome>;
  readonly listener: string;
  readonly monitored: readonly MonitorEvent[];
  readonly annotations: Readonly<Record<string, unknown>> | null;
  /** the request's trace id and the gateway's span id (32 and 16 lowercase hex digits); null or absent when tracing is off */
  readonly traceId?: string | null;
  readonly spanId?: string | null;
}

/** The access record of a finished exchange (does not keep the context, its request or response). */
export function accessRecord(
  ctx: Context<unknown, { readonly id: string }>,
  status: number,
  latencyMs: number,
  redact: QueryRedactor,
  time: number,
): AccessRecord {
  return {
    time,
    id: ctx.id,
    clientIp: ctx.clientIp,
    method: ctx.method,
    host: ctx.host,
    path: ctx.path,
    query: ctx.query,
    redact,
    routeId: ctx.route?.id ?? null,
    status,
    bytesIn: ctx.bytesIn,
    bytesOut: ctx.bytesOut,
    latencyMs,
    upstream: ctx.upstreamTarget,
    upstreamLatencyMs: ctx.upstreamLatencyMs,
    consumer: ctx.principal?.consumer ?? null,
    tenant: ctx.principal?.tenant ?? null,
    outcome: ctx.outcome,
    listener: ctx.listener.name,
    monitored: ctx.monitored,
    annotations: ctx.annotationsIfAny,
    // optional chaining: contexts made by hand (tests, the parser's refusals) may not have the slot
    traceId: ctx.trace?.traceId ?? null,
    spanId: ctx.trace?.spanId ?? null,
  };
}
