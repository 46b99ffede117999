import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { Principal } from './principal.js';
import type { Deny, ProblemItem } from './decision.js';
import type { Phase } from './phases.js';
import type { BodyReading, MediaType, Pair } from './reading.js';
import type { RequestTrace } from './trace.js';

export interface ListenerInfo {
  readonly name: string;
  readonly tls: boolean;
  /** 'required' | 'optional' | 'none' */
  readonly clientAuth: 'required' | 'optional' | 'none';
}

/** What the pipeline recorded about the decision, for logs and metrics. */
export interface Outcome {
  /** 'allowed' (forwarded), 'denied' (a problem reply) or 'responded' (a stage's own response) */
  decision: 'allowed' | 'denied' | 'responded';
  stage: string | null;
  code: string | null;
  reason: string | null;
  /** the refusal's violations (the fields of a validation error), as the problem reply lists them; null when none */
  errors: readonly ProblemItem[] | null;
}

/** What a monitor-mode stage would have done. */
export interface MonitorEvent {
  readonly stage: string;
  readonly code: string;
  readonly reason: string | null;
}

/**
 * One object per request with typed slots; stages read and write only their slots.
 * Fields are all assigned in the constructor so that V8 keeps one hidden class.
 */
const NO_PARAMS: Record<string, string> = Object.freeze({}) as Record<string, string>;
const NO_EVENTS: readonly MonitorEvent[] = Object.freeze([]);
const NO_PAIRS: readonly Pair[] = Object.freeze([]);
/** The outcome until a stage denies (replaced, never mutated). */
const ALLOWED: Outcome = Object.freeze({ decision: 'allowed', stage: null, code: null, reason: null, errors: null });

/**
 * The class of the request context, generic over the snapshot and route types so that this file
 * stands below the stage contract (which defines them): code above the kernel uses
 * `RequestContext` from core/stage.ts, this class with the kernel's own snapshot and route.
 */
export class Context<S = unknown, R = unknown> {
  readonly id: string;
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly snapshot: S;
  readonly listener: ListenerInfo;
  /** performance.now() at arrival (milliseconds, monotonic) */
  readonly startMs: number;
  /** Date.now() at arrival; pass it to pure decision code */
  readonly now: number;
  readonly method: string;
  /** lowercased host without port */
  host: string;
  /** normalised path (decoded once, dot segments resolved); what routes and stages see */
  path: string;
  /** raw query string without '?', '' when none (forwarded as is: `queryPairs` is its one reading) */
  query: string;
  /** the path has `;` parameters (only when limits.path_parameters allows them) */
  pathHasParameters: boolean;
  /** the query decoded once at intake, in order: what every stage reads */
  queryPairs: readonly Pair[];
  /** the request's Content-Type read once at intake, null when none */
  media: MediaType | null;
  /** client IP after trusted-proxy resolution */
  clientIp: string;
  /** TCP peer address */
  readonly peerIp: string;
  /** the peer is in the trusted-proxy CIDRs (its forwarding headers are believed) */
  peerTrusted: boolean;
  route: R | null;
  params: Record<string, string>;
  /** set only by the authenticate phase */
  principal: Principal | null;
  /** buffered request body, when a stage needed it */
  body: Buffer | null;
  /** parsed body (JSON, form, ...), when a stage parsed it; untrusted until validated */
  parsedBody: unknown;
  /** the body as every stage reads it (body/read.ts), once read; null before or without a body */
  bodyReading: BodyReading | null;
  /** why the body could not be read (every stage that needs it returns this), or null */
  bodyRefusal: Deny | null;
  /** the body was decoded from its Content-Encoding (it is forwarded decoded) */
  bodyDecoded: boolean;
  /** the client waits for 100 Continue before it sends the body */
  continuePending: boolean;
  /** the request came over HTTP/2 (no connection-level headers in its response) */
  readonly http2: boolean;
  /** a body follows whose length was not declared (HTTP/1.1 chunked; HTTP/2 DATA without content-length); set at intake */
  bodyLengthUnknown: boolean;
  /** the upstream itself failed (connect error, timeout, reset), as opposed to a gateway-side refusal */
  upstreamFault: boolean;
  /** names of JSON pointers whose values passed a constrained schema type (WAF schema awareness) */
  validatedPointers: Set<string> | null;
  /** headers added to the upstream request (identity headers, cert details) */
  private upstreamHeadersSet: Record<string, string> | null;
  /** headers added to the client response, proxied or local (RateLimit, security headers) */
  private responseHeadersSet: Record<string, string> | null;
  private annotationsSet: Record<string, unknown> | null;
  private monitoredList: MonitorEvent[] | null;
  outcome: Outcome;
  phase: Phase;
  /** upstream target chosen, for logs */
  upstreamTarget: string | null;
  upstreamLatencyMs: number | null;
  bytesIn: number;
  bytesOut: number;
  /** the streamed upstream exchange in progress, aborted if the client leaves first */
  exchange: { abort(): void } | null;
  /** callbacks run when the response finished or the connection closed (release concurrency slots) */
  cleanups: (() => void)[] | null;
  /**
   * The request arrived as an HTTP/1.1 protocol upgrade (node:http's 'upgrade' event): 'websocket',
   * 'other' (served as a plain request, the Upgrade field ignored), or null for an ordinary request.
   */
  upgrade: 'websocket' | 'other' | null;
  /** the connection switched protocols (101): the exchange lasted until the WebSocket closed */
  switched: boolean;
  /** this request's trace (core/trace.ts), null when tracing is off */
  trace: RequestTrace<Context<S, R>> | null;
  /** while traced: [stage index, start, end, ...] (performance.now() ms) of each stage that ran; TIMING_INTAKE for intake */
  timings: number[] | null;

  constructor(id: string, req: IncomingMessage, res: ServerResponse, snapshot: S, listener: ListenerInfo, startMs: number, now: number, peerIp: string) {
    this.id = id;
    this.req = req;
    this.res = res;
    this.snapshot = snapshot;
    this.listener = listener;
    this.startMs = startMs;
    this.now = now;
    this.method = req.method ?? 'GET';
    this.host = '';
    this.path = '/';
    this.query = '';
    this.pathHasParameters = false;
    this.queryPairs = NO_PAIRS;
    this.media = null;
    this.peerIp = peerIp;
    this.clientIp = this.peerIp;
    this.peerTrusted = false;
    this.route = null;
    this.params = NO_PARAMS;
    this.principal = null;
    this.body = null;
    this.parsedBody = undefined;
    this.bodyReading = null;
    this.bodyRefusal = null;
    this.bodyDecoded = false;
    this.continuePending = false;
    // node:http2's compatibility request (never an HTTP/1.x line that claims version 2)
    this.http2 = req.httpVersionMajor === 2 && (req as { stream?: unknown }).stream !== undefined;
    this.bodyLengthUnknown = false;
    this.upstreamFault = false;
    this.validatedPointers = null;
    // created on first use: most requests need none of them
    this.upstreamHeadersSet = null;
    this.responseHeadersSet = null;
    this.annotationsSet = null;
    this.monitoredList = null;
    this.outcome = ALLOWED;
    this.phase = 'intake';
    this.upstreamTarget = null;
    this.upstreamLatencyMs = null;
    this.bytesIn = 0;
    this.bytesOut = 0;
    this.exchange = null;
    this.cleanups = null;
    this.upgrade = null;
    this.switched = false;
    this.trace = null;
    this.timings = null;
  }

  /** The TLS socket when the listener is HTTPS. */
  get tlsSocket(): TLSSocket | null {
    return this.listener.tls ? (this.req.socket as TLSSocket) : null;
  }

  /** Register work to run once the exchange is over (success, error or client abort). */
  onCleanup(fn: () => void): void {
    (this.cleanups ??= []).push(fn);
  }

  /** The request announced a body (Transfer-Encoding or HTTP/2 DATA of unknown length, or a Content-Length other than 0). */
  announcesBody(): boolean {
    const cl = this.req.headers['content-length'];
    return this.bodyLengthUnknown || (cl !== undefined && cl !== '0');
  }

  /** First value of a request header (lowercase name). */
  header(name: string): string | undefined {
    const v = this.req.headers[name];
    return Array.isArray(v) ? v[0] : v;
  }

  /** The deny recorded by a monitor-mode stage (for logs). */
  /** headers added to the upstream request (identity headers, cert details) */
  get upstreamHeaders(): Record<string, string> {
    return (this.upstreamHeadersSet ??= {});
  }
  /** headers added to the client response, proxied or local (RateLimit, security headers) */
  get responseHeaders(): Record<string, string> {
    return (this.responseHeadersSet ??= {});
  }
  /** annotations for the access log, by stage id (e.g. waf rule ids) */
  get annotations(): Record<string, unknown> {
    return (this.annotationsSet ??= {});
  }
  /** what monitor-mode stages would have done */
  get monitored(): readonly MonitorEvent[] {
    return this.monitoredList ?? NO_EVENTS;
  }
  /** the same four without creating them: null when nothing was added */
  get upstreamHeadersIfAny(): Readonly<Record<string, string>> | null {
    return this.upstreamHeadersSet;
  }
  get responseHeadersIfAny(): Readonly<Record<string, string>> | null {
    return this.responseHeadersSet;
  }
  get annotationsIfAny(): Readonly<Record<string, unknown>> | null {
    return this.annotationsSet;
  }

  /** What a monitor-mode stage would have done: its refusal, or `{code: 'respond'}` for its own response. */
  recordMonitor(stage: string, d: Pick<Deny, 'code' | 'reason'> | { readonly code: 'respond'; readonly reason?: string }): void {
    (this.monitoredList ??= []).push({ stage, code: d.code, reason: d.reason ?? null });
  }
}
