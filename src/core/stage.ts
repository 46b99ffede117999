/**
 * The stage contract and the compiled snapshot stages run in: what a stage module declares
 * (phase, order, config keys), what its factory returns per snapshot and per route (the hooks,
 * by phase: docs/stage-contract.md), and the kernel's view of a compiled config: routes with
 * their stage chains, body readers and forwarders, the intake reader, the router, the observers.
 * The implementations above the kernel: src/config/snapshot.ts compiles it, src/stages/ are the
 * stages, src/intake/, src/body/, src/router/ and src/proxy/ the readers, router and forwarders.
 */
import type { Buffer } from 'node:buffer';
import type { BodyTap, Decision, Deny, Respond } from './decision.js';
import type { Mode, Phase } from './phases.js';
import type { Context, MonitorEvent } from './context.js';
import type { Services } from './services.js';
import type { CanonicalConfig, ListenerConfig, RouteConfig } from './config.js';
import type { JsonSchema } from './json-schema.js';
import type { AccessRecord, QueryRedactor } from './record.js';
import type { BodyStep, MediaType } from './reading.js';
import type { TraceRecorder } from './trace.js';

/** The request context as stages and the kernel see it (the Context class with this contract's snapshot and route). */
export type RequestContext = Context<Snapshot, CompiledRoute>;

/** The upstream (or local) response as the respond phase sees it. */
export interface ResponseMeta {
  status: number;
  /** lowercase header names; mutable by respond stages */
  headers: Record<string, string | string[]>;
}

/**
 * A request the HTTP parser refused, read leniently for inspection only (src/server/raw-request.ts).
 * It is never proxied: the reply is 400 (or what an inspecting stage decides).
 */
export interface MalformedRequest {
  /** null when the first line received is not a request line */
  readonly method: string | null;
  /** request target as received (path and query), null with `method` */
  readonly target: string | null;
  /** the target's path ('' when none) and query without '?' ('' when none) */
  readonly path: string;
  readonly query: string;
  /** lowercase names; repeated headers as arrays */
  readonly headers: Readonly<Record<string, string | readonly string[]>>;
  /** what followed the blank line, bounded by the bytes received, Content-Length and a cap */
  readonly body: Buffer;
}

/** What a stage makes of a request the HTTP parser refused. */
export interface MalformedVerdict {
  /** access-log annotation, under this stage id */
  readonly stage: string;
  readonly annotation: Record<string, unknown>;
  /** the reply the stage would have made (enforce mode) */
  readonly deny?: Deny;
  /** what it would have done in monitor mode */
  readonly monitor?: MonitorEvent;
}

/**
 * What a stage does on one route. Built once per route per config snapshot (in the factory),
 * then called for many requests. Decision code is synchronous where it can be.
 */
export interface RouteStage {
  /** dot-namespaced id, e.g. 'auth.jwt', 'limit.rate', 'waf' */
  readonly id: string;
  readonly phase: Phase;
  /** monitor: the pipeline logs the deny and continues */
  readonly mode: Mode;
  /** the pipeline buffers the request body (within the route's limit) before this stage runs */
  readonly needsBody?: boolean;
  /** request phases: return a Deny to stop, undefined to continue */
  run?(ctx: RequestContext): Decision | Promise<Decision>;
  /**
   * respond phase. Called with the upstream status and headers before they are sent; it may
   * change them (`res` is mutable). When `needsResponseBody` is true, `onResponseBody` receives
   * the whole upstream body (bounded) and returns the body to send (rewritten or not), a Deny to
   * replace the response with a problem reply, or a Respond to replace it with another response.
   */
  readonly needsResponseBody?: boolean;
  /**
   * May also return a Respond: it is sent instead of the upstream response, whose body is
   * discarded (a cache answering a 304 to its revalidation with the stored response), or a
   * BodyTap that receives the streamed body (a cache storing it).
   */
  onResponse?(ctx: RequestContext, res: ResponseMeta): Respond | BodyTap | undefined;
  /**
   * The upstream could not answer (connection failure, timeout, or a 5xx the gateway replaces):
   * a stage may answer instead of the gateway's 502/503/504 (a cache serving a stale response).
   */
  onUpstreamFailure?(ctx: RequestContext, reason: string): Respond | undefined;
  onResponseBody?(ctx: RequestContext, res: ResponseMeta, body: Buffer): Buffer | Deny | Respond;
}

/** Context given to a stage module's factory, once per snapshot. */
export interface StageEnv {
  readonly config: CanonicalConfig;
  /** the config file path, for resolving relative paths and for error messages */
  readonly file: string;
  readonly baseDir: string;
  readonly services: Services;
  /** the snapshot's secret query parameters: a stage that logs request data redacts with it */
  readonly redactQuery?: QueryRedactor;
}

/** Context given to a stage module's `prepare`: the factory's, and the schema of a route (every stage's keys). */
export interface PrepareEnv extends Omit<StageEnv, 'config'> {
  /** the JSON Schema of one route, composed from the core and every registered stage (to check generated routes) */
  readonly routeSchema: JsonSchema;
}

/** A stage factory for one config snapshot. */
export interface StageInstance {
  /** returns null when the stage does not apply to the route */
  forRoute(route: RouteConfig): RouteStage | null;
  /**
   * Headers this stage sets upstream (identity, certificate details, claims). The core strips
   * incoming copies of them from every request on every route, always.
   */
  readonly upstreamHeaderNames?: readonly string[];
  /**
   * Runs for every request before routing (also for requests no route matches): bans and
   * global IP deny lists, so that scanners of unknown paths are refused too.
   */
  checkClient?(ctx: RequestContext): Decision | Promise<Decision>;
  /**
   * Inspects a request the HTTP parser refused (bare LF, invalid header characters), route-less,
   * with the stage's global settings; null when there is nothing to report. `requestId` is the
   * id of the reply, for the stage's own log lines.
   */
  inspectMalformed?(raw: MalformedRequest, requestId: string): MalformedVerdict | null;
  /**
   * observe phase: runs once for every finished exchange, routed or not, local reply or not,
   * with its access record; `ctx` is null for a request the HTTP parser refused (no context
   * exists for it). Abuse detection, alert rules and adaptive limits feed on it.
   */
  observe?(record: AccessRecord, ctx: RequestContext | null): void;
  /** called when the snapshot is retired (after its in-flight requests finished) */
  close?(): Promise<void> | void;
}

/**
 * A pipeline stage module: one folder under src/stages/, registered in src/stages/index.ts.
 * Its config schema is composed into the gateway's schema; its factory is called for each snapshot.
 */
export interface StageModule {
  readonly id: string;
  readonly phase: Phase;
  /** order within the phase; lower runs first */
  readonly order: number;
  /** config keys this stage contributes at the top level and on each route */
  readonly schema?: {
    readonly global?: Readonly<Record<string, JsonSchema>>;
    readonly route?: Readonly<Record<string, JsonSchema>>;
  };
  /**
   * Optional async step before compilation, e.g. turning OpenAPI documents into routes.
   * May mutate `config` (it is a fresh copy per load). Throw ConfigError for bad input.
   */
  prepare?(config: CanonicalConfig, env: PrepareEnv): Promise<void>;
  /**
   * Query parameters this stage reads credentials from (after `prepare`): their values are
   * redacted wherever a query is logged, on every route.
   */
  credentialQueryParams?(config: CanonicalConfig): readonly string[];
  /** Checks across keys that a JSON Schema cannot express. Throw ConfigError. */
  check?(config: CanonicalConfig, env: Omit<StageEnv, 'config'>): void;
  create(env: StageEnv): Promise<StageInstance> | StageInstance;
}

// ---- the compiled snapshot the stages run in --------------------------------------------------

export type RouteMatch<T> =
  | { readonly kind: 'found'; readonly value: T; readonly params: Record<string, string> }
  | { readonly kind: 'method'; readonly allow: readonly string[] }
  | { readonly kind: 'none' };

/** Host + method + path routing (src/router/router.ts). */
export interface RouteTable<T> {
  /** host: lowercase without port; path: canonical; semicolon: the path has `;` parameters */
  find(method: string, host: string, path: string, semicolon?: boolean): RouteMatch<T>;
}

/** The trusted-proxy list: peers whose forwarding headers are believed. */
export interface PeerTrust {
  has(ip: string): boolean;
}

/**
 * The intake step (src/intake/): the one reading of the request line, target and headers into
 * the context (client address, path, query, host, media type), or the refusal of a request that
 * cannot be read one way.
 */
export type Intake = (ctx: RequestContext, listener: ListenerConfig) => Deny | undefined;

/** Reads a buffered body once for every stage (src/body/request-body.ts); asynchronous only when it decodes. */
export interface BodyReader {
  read(raw: Buffer, contentEncoding: string | undefined, media: MediaType | null): BodyStep | Promise<BodyStep>;
}

/** What a forwarder may ask of the pipeline: the local replies it writes, and the response decoration. */
export interface Replies {
  /** a problem reply (a refusal, an upstream failure) */
  reply(ctx: RequestContext, d: Deny, stageId: string): void;
  /** a stage's own response, in place of the upstream's */
  respond(ctx: RequestContext, r: Respond, stageId: string): void;
  internalError(ctx: RequestContext, e: unknown, stageId?: string): void;
  /** adds the request id, stage response headers and `connection: close` when stopping */
  decorate(ctx: RequestContext, out: Record<string, string | string[]> | string[]): void;
}

/** A stage's own request to the route's upstream (Forwarder.fetch): no body. */
export interface SideRequest {
  readonly method: 'GET' | 'HEAD';
  /** headers set on top of the client's (lowercase names), e.g. a cache's validators */
  readonly headers: Readonly<Record<string, string>>;
  /** most body bytes read; a longer body rejects the promise */
  readonly maxBytes: number;
}

export interface SideResponse {
  readonly status: number;
  /** as a client would get them (hop-by-hop and stripped fields removed), lowercase names */
  readonly headers: Record<string, string | string[]>;
  readonly body: Buffer;
}

/** Sends a request upstream and its response to the client (src/proxy/forward.ts). */
export interface Forwarder {
  forward(ctx: RequestContext, route: CompiledRoute, replies: Replies): void;
  /**
   * A side request for a stage (a cache's background revalidation): to the same upstream group,
   * target choice, path rewriting and forwarded headers as the client's request `ctx`, with the
   * client's conditional, range and body fields left out and `req.headers` added. One attempt,
   * never retried; its outcome counts for the target's health. Reads `ctx` synchronously only,
   * so it may outlive the client's exchange. Rejects on a connection failure, no healthy target
   * or a body over `req.maxBytes`.
   */
  fetch(ctx: RequestContext, req: SideRequest): Promise<SideResponse>;
}

/**
 * The WebSocket side of a route (src/websocket/): the handshake checks run before the request
 * stages (RFC 6455 fields, origin allow-list); `forward` runs in place of the forwarder once every
 * request stage passed, opens the upstream WebSocket and answers 101 only after the upstream did.
 */
export interface Upgrader {
  check(ctx: RequestContext): Deny | undefined;
  forward(ctx: RequestContext, route: CompiledRoute, replies: Replies): void;
}

/** A route compiled once per snapshot: match data, its stage chain, its body reader and its forwarder. */
export interface CompiledRoute {
  readonly id: string;
  readonly config: RouteConfig;
  /** uppercase methods, or null for any */
  readonly methods: ReadonlySet<string> | null;
  readonly maxBodyBytes: number;
  /** how bodies are decoded and read on this route */
  readonly body: BodyReader;
  readonly forwarder: Forwarder;
  /** accepts WebSocket upgrades on this route; null: an upgrade request is refused (PC_ERR_UPGRADE_NOT_ALLOWED) */
  readonly upgrader: Upgrader | null;
  /** request-phase stages in run order */
  readonly requestStages: readonly RouteStage[];
  /** stages with onResponse / onResponseBody */
  readonly respondStages: readonly RouteStage[];
  /** stages with onUpstreamFailure */
  readonly failureStages: readonly RouteStage[];
  /** true when some request stage needs the buffered body */
  readonly needsBody: boolean;
  readonly needsResponseBody: boolean;
  /**
   * The request body is streamed to the forwarder as it arrives, never buffered (gRPC calls, whose
   * streams last as long as the call): stages that need the body do not get it, and the HTTP/2
   * body deadline gives way to the forwarder's own.
   */
  readonly streaming?: boolean;
}

/** Runs once for every finished exchange (ctx null: a request the HTTP parser refused). */
export type ExchangeObserver = (record: AccessRecord, ctx: RequestContext | null) => void;

/** Where access records are written (the access log), when it is on. */
export interface AccessLogSink {
  record(r: AccessRecord): void;
}

export interface Snapshot {
  readonly id: number;
  readonly file: string;
  readonly hash: string;
  readonly config: CanonicalConfig;
  readonly router: RouteTable<CompiledRoute>;
  readonly routes: readonly CompiledRoute[];
  readonly trusted: PeerTrust;
  readonly intake: Intake;
  /** secret query parameters, redacted wherever a query is logged */
  readonly redactQuery: QueryRedactor;
  /** request_id.header, lowercase (as Node gives incoming header names) */
  readonly requestIdHeader: string;
  readonly instances: readonly StageInstance[];
  /** instance hooks that run for every request before routing */
  readonly clientChecks: readonly ((ctx: RequestContext) => Decision | Promise<Decision>)[];
  /** instance hooks that run for every finished exchange, refused by the HTTP parser or not */
  readonly observers: readonly ExchangeObserver[];
  /** instance hooks that inspect requests the HTTP parser refused */
  readonly malformedInspectors: readonly ((raw: MalformedRequest, requestId: string) => MalformedVerdict | null)[];
  /** makes each request's trace (src/observe/tracing/); null when tracing is off */
  readonly tracer: TraceRecorder<RequestContext> | null;
  inFlight: number;
}
