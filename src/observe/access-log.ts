/**
 * The access log: one JSON line per request through pino (asynchronous destination, so that
 * writing stays off the hot path). Authorization, Cookie and API-key headers are never logged:
 * the line is built from chosen fields only, and secret query parameters are redacted.
 */
import pino, { type Logger } from 'pino';
import type { RequestContext } from '../core/context.js';

export interface AccessLogOptions {
  enabled: boolean;
  path: string;
  redactQuery: ReadonlySet<string>;
}

/**
 * A JSON logger. `redact` is for the gateway's event log (objects there may carry headers);
 * the access log builds its lines from chosen fields only and skips the per-line redaction pass.
 */
export function createLogger(path: string, name: string, redact = true, bufferBytes = 0): Logger {
  // bufferBytes > 0 batches lines into one write of about that size (the access log: one
  // syscall per line costs more than the rest of the line); the owner flushes on a timer.
  const opts = { sync: false, minLength: bufferBytes };
  const dest =
    path === 'stdout'
      ? pino.destination({ fd: 1, ...opts })
      : path === 'stderr'
        ? pino.destination({ fd: 2, ...opts })
        : pino.destination({ dest: path, mkdir: true, append: true, ...opts });
  return pino(
    {
      base: { log: name },
      timestamp: pino.stdTimeFunctions.isoTime,
      messageKey: 'msg',
      formatters: { level: (label) => ({ level: label }) },
      ...(redact
        ? {
            redact: {
              paths: ['headers.authorization', 'headers.cookie', 'headers["x-api-key"]', 'headers["proxy-authorization"]', '*.password', '*.secret', '*.token'],
              censor: '[REDACTED]',
            },
          }
        : {}),
    },
    dest,
  );
}

/** Query string with secret parameter values replaced. */
export function redactQuery(query: string, secret: ReadonlySet<string>): string {
  if (query === '' || secret.size === 0) return query;
  let changed = false;
  const parts = query.split('&').map((p) => {
    const eq = p.indexOf('=');
    const rawName = eq < 0 ? p : p.slice(0, eq);
    let name: string;
    try {
      name = decodeURIComponent(rawName.replace(/\+/g, ' ')).toLowerCase();
    } catch {
      name = rawName.toLowerCase();
    }
    if (eq >= 0 && secret.has(name)) {
      changed = true;
      return `${rawName}=[REDACTED]`;
    }
    return p;
  });
  return changed ? parts.join('&') : query;
}

/** Bounded length of logged paths (hostile URLs must not bloat logs). */
const MAX_LOGGED_PATH = 2048;

export function accessLogRecord(ctx: RequestContext, status: number, latencyMs: number, redact: ReadonlySet<string>): Record<string, unknown> {
  const q = ctx.query === '' ? '' : `?${redactQuery(ctx.query, redact)}`;
  let path = ctx.path + q;
  if (path.length > MAX_LOGGED_PATH) path = `${path.slice(0, MAX_LOGGED_PATH)}...`;
  const o = ctx.outcome;
  const rec: Record<string, unknown> = {
    request_id: ctx.id,
    client_ip: ctx.clientIp,
    method: ctx.method,
    host: ctx.host,
    path,
    route_id: ctx.route?.id ?? null,
    status,
    bytes_in: ctx.bytesIn,
    bytes_out: ctx.bytesOut,
    latency_ms: latencyMs,
    upstream: ctx.upstreamTarget,
    upstream_latency_ms: ctx.upstreamLatencyMs,
    consumer: ctx.principal?.consumer ?? null,
    tenant: ctx.principal?.tenant ?? null,
    decision: o.decision === 'allowed' ? 'allowed' : { stage: o.stage, code: o.code, reason: o.reason },
    listener: ctx.listener.name,
  };
  if (ctx.monitored.length > 0) rec.monitor = ctx.monitored;
  for (const k in ctx.annotations) rec[k] = ctx.annotations[k];
  return rec;
}
