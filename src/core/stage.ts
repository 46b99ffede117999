import type { Decision, Deny } from './decision.js';
import type { Mode, Phase } from './phases.js';
import type { MonitorEvent, RequestContext } from './context.js';
import type { Services } from './services.js';
import type { CanonicalConfig, RouteConfig } from './config.js';
import type { JsonSchema } from './json-schema.js';
import type { AccessRecord, QueryRedactor } from './record.js';

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
   * respond phase. Called with the upstream status and headers before they are sent.
   * When `needsResponseBody` is true, `body` receives the whole upstream body (bounded) and
   * returns the body to send, or a Deny to replace the response with a local reply.
   */
  readonly needsResponseBody?: boolean;
  onResponse?(ctx: RequestContext, res: ResponseMeta): void;
  onResponseBody?(ctx: RequestContext, res: ResponseMeta, body: Buffer): Buffer | Deny;
  /** observe phase: always called once when the exchange is over (also after local replies) */
  onFinish?(ctx: RequestContext): void;
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
  /** Runs once for every finished exchange, routed or not (abuse detection, alerting feeds). */
  observe?(ctx: RequestContext): void;
  /**
   * Runs once for every request the HTTP parser refused, with its access record (no request
   * context exists for it): abuse detection and alert rules count these refusals too.
   */
  observeRefused?(r: AccessRecord): void;
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
  prepare?(config: CanonicalConfig, env: Omit<StageEnv, 'config'>): Promise<void>;
  /**
   * Query parameters this stage reads credentials from (after `prepare`): their values are
   * redacted wherever a query is logged, on every route.
   */
  credentialQueryParams?(config: CanonicalConfig): readonly string[];
  /** Checks across keys that a JSON Schema cannot express. Throw ConfigError. */
  check?(config: CanonicalConfig, env: Omit<StageEnv, 'config'>): void;
  create(env: StageEnv): Promise<StageInstance> | StageInstance;
}
