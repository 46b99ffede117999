/**
 * Logs. The access log: one JSON line per request, built by a fixed-schema serialiser and written
 * in batches off the hot path. Authorization, Cookie and API-key headers are never logged: the
 * line is built from chosen fields only, and secret query parameters are redacted.
 */
import { accessRecord, type AccessRecord, type QueryRedactor } from '../core/record.js';
import type { LineWriter } from './line-writer.js';
import type { RequestContext } from '../core/stage.js';

/** Bounded length of logged paths (hostile URLs must not bloat logs). */
const MAX_LOGGED_PATH = 2048;

/**
 * Lines are pure ASCII: every non-ASCII character is written as a `\u` escape, which JSON reads as
 * the same character. Why: the writer then copies a line into its buffer as Latin-1, straight from
 * the pieces it was concatenated from, where UTF-8 encoding first copies them into a flat string
 * (measured under callgrind: about 600 instructions less per request). It also hardens the log:
 * no raw control, bidi (U+202E) or other Unicode characters from clients reach a terminal or a parser.
 */
const NON_ASCII = /[\u0080-\uffff]/;
const NON_ASCII_ALL = /[\u0080-\uffff]/g;
const uEscape = (c: string): string => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
/** JSON text with its non-ASCII characters written as `\u` escapes (the same JSON value). */
const ascii = (json: string): string => (NON_ASCII.test(json) ? json.replace(NON_ASCII_ALL, uEscape) : json);
/** Characters that a JSON string in a line must escape: JSON's own, and every non-ASCII one (lone surrogates among them). */
const NEEDS_ESCAPE = /["\\\x00-\x1f\u0080-\uffff]/;
/**
 * The inside of a JSON string literal (where the line's literals hold the quotes: two
 * concatenations fewer). Most logged values need no escaping, and a regex test is cheaper than JSON.stringify.
 */
const e = (s: string): string => (NEEDS_ESCAPE.test(s) ? ascii(JSON.stringify(s).slice(1, -1)) : s);
/** A JSON string literal, or null. */
const q = (s: string | null): string => (s === null ? 'null' : `"${e(s)}"`);

type TailTree = Map<string | null, TailTree | string>;
/** Combinations kept: routes × upstream targets × listeners × methods in use; others are built each time. */
const MAX_TAILS = 4096;

const tailJson = (method: string | null, routeId: string | null, upstream: string | null, listener: string): string =>
  `,"method":${q(method)},"route_id":${q(routeId)},"upstream":${q(upstream)},"listener":${q(listener)}`;

/** '0'..'999' and '000'..'999': numbers that every line has (status, milliseconds, small sizes) without a conversion each time */
const SMALL = Array.from({ length: 1000 }, (_, i) => String(i));
const PAD3 = Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, '0'));
/** '' and '.001'..'.999': the fraction of a duration in milliseconds */
const FRACTION = PAD3.map((p, i) => (i === 0 ? '' : `.${p}`));
/** A non-negative integer as text. */
const int = (n: number): string => (n >= 0 && n < 1000 && Number.isInteger(n) ? (SMALL[n] as string) : String(n));

/** what follows the time's milliseconds, up to the request id's value */
const AFTER_TIME = 'Z","log":"access","request_id":"';
/** '000Z","log":...' .. '999Z",...': the milliseconds with the text that follows them */
const MS_AFTER_TIME = PAD3.map((p) => p + AFTER_TIME);
/**
 * A duration in milliseconds with microsecond precision, as a JSON number. Built from integers:
 * converting a fractional double to text costs several times more, on every line.
 */
function ms(x: number | null): string {
  if (x === null || !Number.isFinite(x)) return 'null';
  const us = Math.round(x * 1000);
  if (us < 0) return String(us / 1000);
  const i = Math.floor(us / 1000);
  return int(i) + (FRACTION[us - i * 1000] as string);
}

const bound = (s: string | null, n: number): string | null => (s !== null && s.length > n ? `${s.slice(0, n)}...` : s);

/** consumer, tenant and decision; most lines, anonymous and allowed, share one string */
const ANONYMOUS_ALLOWED = ',"consumer":null,"tenant":null,"decision":"allowed"';
function whoAndDecision(r: AccessRecord): string {
  const o = r.outcome;
  const allowed = o.decision === 'allowed';
  if (allowed && r.consumer === null && r.tenant === null) return ANONYMOUS_ALLOWED;
  const decision = allowed
    ? '"allowed"'
    : o.decision === 'responded'
      ? `{"stage":${q(o.stage)},"responded":true,"reason":${q(o.reason)}}`
      : `{"stage":${q(o.stage)},"code":${q(o.code)},"reason":${q(o.reason)}}`;
  return `,"consumer":${q(r.consumer)},"tenant":${q(r.tenant)},"decision":${decision}`;
}

/** JSON of frozen annotation objects, kept while the object lives (e.g. an identity's cached auth annotation). */
const frozenJson = new WeakMap<object, string>();

/** An annotation as JSON. A frozen object is serialised once: the stage that froze it promises not to change it. */
function annotationJson(v: unknown): string {
  if (v !== null && typeof v === 'object' && Object.isFrozen(v)) {
    let j = frozenJson.get(v);
    if (j === undefined) {
      j = ascii(JSON.stringify(v) ?? 'null');
      frozenJson.set(v, j);
    }
    return j;
  }
  return ascii(JSON.stringify(v) ?? 'null');
}

/**
 * Formats access records into lines. Its caches (the start of the line for the current second,
 * the repeated tails of route, upstream, listener and method) belong to the instance: one per
 * access log, reset with it.
 */
export class LineFormatter {
  private readonly tails: TailTree = new Map();
  private tailCount = 0;
  private last: { method: string | null; routeId: string | null; upstream: string | null; listener: string | null; tail: string } = {
    method: null,
    routeId: null,
    upstream: null,
    listener: null, // no listener is named null: the first line never matches
    tail: '',
  };
  private isoSec = Number.NaN;
  private linePrefix = '';

  /**
   * One access-log line (JSON, newline-terminated, ASCII only), built by a fixed-schema serialiser: the fields
   * are chosen here, so Authorization, Cookie and API-key headers can never appear, secret query
   * parameters are redacted and long values bounded. Stage annotations (waf, auth, ...) are
   * appended as JSON.
   */
  format(r: AccessRecord): string {
    const path = r.path === null ? null : bound(r.query === '' ? r.path : `${r.path}?${r.redact.redact(r.query)}`, MAX_LOGGED_PATH);
    const host = bound(r.host, 256);
    // written as one expression of few parts: each part is a concatenation, and each concatenation
    // a string that the writer walks again when it encodes the line
    let line =
      this.lineStart(r.time) +
      r.id +
      '","client_ip":"' +
      r.clientIp +
      (host !== null && path !== null ? `","host":"${e(host)}","path":"${e(path)}","status":` : `","host":${q(host)},"path":${q(path)},"status":`) +
      int(r.status) +
      ',"bytes_in":' +
      int(r.bytesIn) +
      ',"bytes_out":' +
      int(r.bytesOut) +
      ',"latency_ms":' +
      ms(r.latencyMs) +
      ',"upstream_latency_ms":' +
      ms(r.upstreamLatencyMs) +
      whoAndDecision(r) +
      this.repeatedTail(bound(r.method, 32), r.routeId, r.upstream, r.listener);
    // hex digits made by the tracer (or checked by traceparent.ts): JSON-safe as they are
    if (typeof r.traceId === 'string') line += `,"trace_id":"${r.traceId}","span_id":"${r.spanId}"`;
    if (r.monitored.length > 0) line += `,"monitor":${ascii(JSON.stringify(r.monitored))}`;
    const ann = r.annotations;
    if (ann !== null) for (const k in ann) line += `,${q(k)}:${annotationJson(ann[k])}`;
    return `${line}}\n`;
  }

  /**
   * The end of a line: the fields whose values repeat across requests (method, route id, upstream
   * target, listener), as JSON, made once per combination and looked up by its four values (their
   * hashes are cached in the strings, which come from config): measured here, this spares about a
   * tenth of the cost of a line. At most MAX_TAILS combinations are kept, since methods come from clients.
   */
  private repeatedTail(method: string | null, routeId: string | null, upstream: string | null, listener: string): string {
    // consecutive lines often share all four (one busy route): compared before four Map lookups
    const last = this.last;
    if (method === last.method && routeId === last.routeId && upstream === last.upstream && listener === last.listener) return last.tail;
    const tail = this.cachedTail(method, routeId, upstream, listener);
    this.last = { method, routeId, upstream, listener, tail };
    return tail;
  }

  private cachedTail(method: string | null, routeId: string | null, upstream: string | null, listener: string): string {
    const byRoute = this.tailLevel(this.tails, listener);
    const byUpstream = byRoute && this.tailLevel(byRoute, routeId);
    const byMethod = byUpstream && this.tailLevel(byUpstream, upstream);
    if (!byMethod) return tailJson(method, routeId, upstream, listener);
    let line = byMethod.get(method) as string | undefined;
    if (line === undefined) {
      line = tailJson(method, routeId, upstream, listener);
      if (this.tailCount < MAX_TAILS) {
        byMethod.set(method, line);
        this.tailCount++;
      }
    }
    return line;
  }

  /** The subtree of `t` under `k`, created when there is room; null when the cache is full. */
  private tailLevel(t: TailTree, k: string | null): TailTree | null {
    let next = t.get(k) as TailTree | undefined;
    if (next === undefined) {
      if (this.tailCount >= MAX_TAILS) return null;
      next = new Map();
      t.set(k, next);
    }
    return next;
  }

  /**
   * The start of a line at time `ms`, up to the request id's value: the part to the second is made
   * once per second, then the milliseconds come from a table (one concatenation per line).
   */
  private lineStart(ms: number): string {
    const sec = Math.floor(ms / 1000);
    if (sec !== this.isoSec) {
      this.isoSec = sec;
      this.linePrefix = `{"level":"info","time":"${new Date(sec * 1000).toISOString().slice(0, 20)}`; // ...T08:15:42.
    }
    return this.linePrefix + (MS_AFTER_TIME[Math.floor(ms - sec * 1000)] as string);
  }
}

/** The access-log line of a finished exchange (with a formatter of its own: for tests and one-off lines). */
export function accessLogLine(ctx: RequestContext, status: number, latencyMs: number, redact: QueryRedactor, time: number): string {
  return new LineFormatter().format(accessRecord(ctx, status, latencyMs, redact, time));
}

/**
 * The access log: records are kept as they come and formatted in batches. Why: formatting a line
 * in the middle of the request path ran about three times slower than in a loop over many lines
 * (measured in the gateway against a micro-benchmark): the serialiser's code and data stay in the
 * CPU caches for a batch. Records are small copies, so no request or response outlives its exchange.
 */
export class AccessLog {
  private pending: AccessRecord[] = [];
  private readonly formatter = new LineFormatter();

  constructor(
    private readonly writer: LineWriter,
    private readonly batch = 64,
  ) {
    writer.beforeFlush = () => this.drain();
  }

  record(r: AccessRecord): void {
    this.pending.push(r);
    if (this.pending.length >= this.batch) this.drain();
  }

  /** Formats and hands over every pending record, in order. */
  drain(): void {
    if (this.pending.length === 0) return;
    const p = this.pending;
    this.pending = [];
    for (let i = 0; i < p.length; i++) this.writer.write(this.formatter.format(p[i] as AccessRecord));
  }

  /** Formats the pending records and writes everything out now. */
  flush(): void {
    this.drain();
    this.writer.flush();
  }

  /** Writes everything out; waits for a stream sink at most `waitMs` (LineWriter.close); resolves with the lines dropped then. */
  close(waitMs?: number): Promise<number> {
    this.drain();
    return this.writer.close(waitMs);
  }

  /** Ends a waiting close() now. */
  abort(): void {
    this.writer.abort();
  }
}
