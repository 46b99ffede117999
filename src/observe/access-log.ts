/**
 * Logs. The access log: one JSON line per request, built by a fixed-schema serialiser and written
 * in batches off the hot path. Authorization, Cookie and API-key headers are never logged: the
 * line is built from chosen fields only, and secret query parameters are redacted.
 */
import pino, { type Logger } from 'pino';
import type { RequestContext } from '../core/context.js';

export interface AccessLogOptions {
  enabled: boolean;
  path: string;
  redactQuery: ReadonlySet<string>;
}

/**
 * The gateway's event log (pino, JSON lines, secrets redacted by path). The access log does not
 * use it: its lines come from accessLogLine() through a LineWriter (line-writer.ts says why).
 */
export function createLogger(path: string, name: string, redact = true): Logger {
  const opts = { sync: false };
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

/** Characters that JSON strings must escape (and lone surrogates, which JSON.stringify escapes). */
const NEEDS_ESCAPE = /["\\\x00-\x1f\ud800-\udfff]/;
/** A JSON string literal; most logged values need no escaping, and a regex test is cheaper than JSON.stringify. */
const q = (s: string | null): string => (s === null ? 'null' : NEEDS_ESCAPE.test(s) ? JSON.stringify(s) : `"${s}"`);

let isoSec = Number.NaN;
let isoPrefix = '';
/** ISO 8601 time of `ms`: the date and time to the second computed once per second, then the milliseconds appended. */
function isoTime(ms: number): string {
  const sec = Math.floor(ms / 1000);
  if (sec !== isoSec) {
    isoSec = sec;
    isoPrefix = new Date(sec * 1000).toISOString().slice(0, 20); // "2026-12-03T08:15:42."
  }
  const f = ms - sec * 1000;
  return `${isoPrefix}${f < 10 ? '00' : f < 100 ? '0' : ''}${f}Z`;
}
/**
 * A duration in milliseconds with microsecond precision, as a JSON number. Built from integers:
 * converting a fractional double to text costs several times more, on every line.
 */
function ms(x: number | null): string {
  if (x === null || !Number.isFinite(x)) return 'null';
  const us = Math.round(x * 1000);
  if (us < 0) return String(us / 1000);
  const i = Math.floor(us / 1000);
  const f = us - i * 1000;
  return f === 0 ? `${i}` : f < 10 ? `${i}.00${f}` : f < 100 ? `${i}.0${f}` : `${i}.${f}`;
}

/**
 * One access-log line (JSON, newline-terminated), built by a fixed-schema serialiser: the fields
 * are chosen here, so Authorization, Cookie and API-key headers can never appear, and secret
 * query parameters are redacted. Stage annotations (waf, auth, ...) are appended as JSON.
 */
export function accessLogLine(ctx: RequestContext, status: number, latencyMs: number, redact: ReadonlySet<string>, time: number): string {
  const qs = ctx.query === '' ? '' : `?${redactQuery(ctx.query, redact)}`;
  let path = ctx.path + qs;
  if (path.length > MAX_LOGGED_PATH) path = `${path.slice(0, MAX_LOGGED_PATH)}...`;
  const o = ctx.outcome;
  const decision = o.decision === 'allowed' ? '"allowed"' : `{"stage":${q(o.stage)},"code":${q(o.code)},"reason":${q(o.reason)}}`;
  let line =
    `{"level":"info","time":"${isoTime(time)}","log":"access","request_id":${q(ctx.id)},"client_ip":${q(ctx.clientIp)},` +
    `"method":${q(ctx.method)},"host":${q(ctx.host)},"path":${q(path)},"route_id":${q(ctx.route?.id ?? null)},"status":${status},` +
    `"bytes_in":${ctx.bytesIn},"bytes_out":${ctx.bytesOut},"latency_ms":${ms(latencyMs)},"upstream":${q(ctx.upstreamTarget)},` +
    `"upstream_latency_ms":${ms(ctx.upstreamLatencyMs)},` +
    `"consumer":${q(ctx.principal?.consumer ?? null)},"tenant":${q(ctx.principal?.tenant ?? null)},"decision":${decision},"listener":${q(ctx.listener.name)}`;
  if (ctx.monitored.length > 0) line += `,"monitor":${JSON.stringify(ctx.monitored)}`;
  const ann = ctx.annotationsIfAny;
  if (ann !== null) for (const k in ann) line += `,${JSON.stringify(k)}:${JSON.stringify(ann[k]) ?? 'null'}`;
  return `${line}}\n`;
}

/** What the access log records of a request the HTTP parser refused (src/core/malformed.ts). */
export interface RefusedRequestRecord {
  readonly id: string;
  readonly clientIp: string;
  /** from a lenient reading of the bytes received; null when unreadable */
  readonly method: string | null;
  readonly host: string | null;
  readonly path: string | null;
  readonly query: string;
  readonly status: number;
  readonly bytesIn: number;
  readonly bytesOut: number;
  readonly latencyMs: number;
  readonly decision: { readonly stage: string; readonly code: string; readonly reason: string };
  readonly listener: string;
  readonly monitored: readonly { readonly stage: string; readonly code: string; readonly reason: string | null }[];
  readonly annotations: Readonly<Record<string, unknown>>;
}

/**
 * The access-log line of a request the HTTP parser refused: the schema of accessLogLine, with
 * no route, upstream or principal (none was reached). Fields are chosen here too, so no header
 * value is ever logged; secret query parameters are redacted and long values bounded.
 */
export function refusedRequestLogLine(r: RefusedRequestRecord, redact: ReadonlySet<string>, time: number): string {
  const bound = (s: string | null, n: number): string | null => (s !== null && s.length > n ? `${s.slice(0, n)}...` : s);
  const path = r.path === null ? null : bound(r.path + (r.query === '' ? '' : `?${redactQuery(r.query, redact)}`), MAX_LOGGED_PATH);
  const d = r.decision;
  let line =
    `{"level":"info","time":"${isoTime(time)}","log":"access","request_id":${q(r.id)},"client_ip":${q(r.clientIp)},` +
    `"method":${q(bound(r.method, 32))},"host":${q(bound(r.host, 256))},"path":${q(path)},"route_id":null,"status":${r.status},` +
    `"bytes_in":${r.bytesIn},"bytes_out":${r.bytesOut},"latency_ms":${ms(r.latencyMs)},"upstream":null,"upstream_latency_ms":null,` +
    `"consumer":null,"tenant":null,"decision":{"stage":${q(d.stage)},"code":${q(d.code)},"reason":${q(d.reason)}},"listener":${q(r.listener)}`;
  if (r.monitored.length > 0) line += `,"monitor":${JSON.stringify(r.monitored)}`;
  for (const k in r.annotations) line += `,${JSON.stringify(k)}:${JSON.stringify(r.annotations[k]) ?? 'null'}`;
  return `${line}}\n`;
}
