/**
 * The `waf` stage (inspect phase): the built-in rule set compiled once per config snapshot, a
 * policy compiled once per route, and one synchronous evaluation per request over the parsed
 * request (reusing the body another stage parsed and the schema-validated values).
 */
import { performance } from 'node:perf_hooks';
import { Buffer } from 'node:buffer';
import { deny, type Decision, type Deny } from '../../core/decision.js';
import type { Mode } from '../../core/phases.js';
import type { Services } from '../../core/services.js';
import type { MalformedRequest, MalformedVerdict, ResponseMeta, RouteStage, StageEnv, StageInstance, StageModule } from '../../core/stage.js';
import type { RouteConfig } from '../../core/config.js';
import { ConfigError } from '../../config/errors.js';
import { CleanHeaders, compileExclusions, compileRules, evaluate, parseSelector, type CompiledRules, type EvaluateOptions } from '../../waf/engine.js';
import { BUILTIN_RULES } from '../../waf/rules/index.js';
import type { Evaluation, Exclusion, Policy, WafRequest } from '../../waf/types.js';
import { NO_REDACTION } from '../../observe/query-redaction.js';
import type { QueryRedactor } from '../../core/record.js';
import { wafGlobalSchema, wafRouteSchema } from './schema.js';
import { BUNDLED_CRS, CrsLoadError, loadCrs, type CrsEngine, type CrsVerdict } from '../../waf/crs/engine.js';
import type { CrsTransaction } from '../../waf/crs/transaction.js';
import type { Pair } from '../../core/reading.js';
import { crsRequest, type CrsConnection } from '../../waf/crs/adapter.js';
import { CrsSyntaxError } from '../../waf/crs/parse.js';
import { resolve } from 'node:path';
import type { RequestContext } from '../../core/stage.js';

export const STAGE_ID = 'waf';

interface ExclusionConfig extends Exclusion {
  readonly routes?: readonly string[];
}

/** The top-level `waf` key after defaults. */
export interface WafGlobal {
  mode: Mode;
  paranoia: 1 | 2 | 3 | 4;
  threshold: number;
  exclusions: ExclusionConfig[];
  disabled_rules: string[];
  max_inspected_bytes: number;
  max_json_depth: number;
  on_limit: 'block' | 'allow';
  engine: 'builtin' | 'crs' | 'both';
  crs: {
    path: string | null;
    files: string[];
    inbound_threshold: number;
    outbound_threshold: number;
    inspect_responses: boolean;
    detection_paranoia: number | null;
  };
}

/** The route key `waf`. */
export type WafRoute = 'off' | Partial<Pick<WafGlobal, 'mode' | 'paranoia' | 'threshold' | 'exclusions' | 'disabled_rules'>>;

/** Most matches written to the access log per request. */
const LOG_MATCHES = 8;

/** Builds the engine's view of a request from the context (no copies of the body). */
export function wafRequestOf(ctx: RequestContext): WafRequest {
  return {
    method: ctx.method,
    rawUrl: ctx.req.url ?? '/',
    path: ctx.path,
    query: ctx.query,
    queryPairs: ctx.queryPairs,
    headers: ctx.req.headers,
    body: ctx.body,
    reading: ctx.bodyReading,
    validatedPointers: ctx.validatedPointers,
    params: ctx.params,
  };
}

/** The access-log annotation: rule ids, tags, targets, score; matched values truncated (secrets never: `secret(target)` says which). */
export function annotation(ev: Evaluation, blocked: boolean, secret: (target: string) => boolean): Record<string, unknown> {
  const rules: string[] = [];
  const tags: string[] = [];
  const targets: string[] = [];
  for (const m of ev.matches) {
    if (!rules.includes(m.ruleId)) rules.push(m.ruleId);
    for (const t of m.tags) if (!tags.includes(t)) tags.push(t);
    if (!targets.includes(m.target) && targets.length < LOG_MATCHES) targets.push(m.target);
  }
  return {
    score: ev.score,
    blocked,
    rules,
    tags,
    targets,
    matches: ev.matches.slice(0, LOG_MATCHES).map((m) => ({
      rule: m.ruleId,
      target: m.target,
      matched: secret(m.target) ? '[redacted]' : m.matched.length > 40 ? `${m.matched.slice(0, 40)}...` : m.matched,
    })),
    ...(ev.truncated ? { truncated: true } : {}),
  };
}

/**
 * Whether a CRS variable's matched value may be logged: values of what the built-in engine never
 * logs either (headers, cookies, bodies, files) are not; arguments follow the secret names.
 */
function crsValueSecret(variable: string, secret: (target: string) => boolean): boolean {
  const colon = variable.indexOf(':');
  const coll = colon < 0 ? variable : variable.slice(0, colon);
  const name = colon < 0 ? '' : variable.slice(colon + 1);
  switch (coll) {
    case 'ARGS':
    case 'ARGS_GET':
    case 'ARGS_POST':
      return name.startsWith('json.') ? secret(`json:/${name.slice(5).split('.').join('/')}`) : secret(`query:${name}`);
    case 'ARGS_NAMES':
    case 'ARGS_GET_NAMES':
    case 'ARGS_POST_NAMES':
    case 'REQUEST_HEADERS_NAMES':
    case 'REQUEST_COOKIES_NAMES':
    case 'REQUEST_METHOD':
    case 'REQUEST_PROTOCOL':
    case 'REQUEST_FILENAME':
    case 'REQUEST_BASENAME':
    case 'TX':
      return false;
    case 'REQUEST_URI':
    case 'REQUEST_URI_RAW':
    case 'REQUEST_LINE':
    case 'QUERY_STRING':
      return secret('uri');
    default:
      return true;
  }
}

/** Adds the CRS verdict to the access-log annotation: its rule ids, tags, variables and score. */
function addCrs(ann: Record<string, unknown>, cv: CrsVerdict, secret: (target: string) => boolean): void {
  const rules = ann['rules'] as string[];
  const tags = ann['tags'] as string[];
  const targets = ann['targets'] as string[];
  const matches = ann['matches'] as { rule: string; target: string; matched: string }[];
  for (const h of cv.hits) {
    if (!rules.includes(h.id)) rules.push(h.id);
    for (const t of h.tags) if (t.startsWith('attack-') && !tags.includes(t)) tags.push(t);
    for (const m of h.matches) {
      if (!targets.includes(m.variable) && targets.length < LOG_MATCHES) targets.push(m.variable);
      if (matches.length < LOG_MATCHES)
        matches.push({
          rule: h.id,
          target: m.variable,
          matched: crsValueSecret(m.variable, secret) ? '[redacted]' : m.value.length > 40 ? `${m.value.slice(0, 40)}...` : m.value,
        });
    }
  }
  ann['crs'] = { score: cv.score, ...(cv.blockedBy === null ? {} : { blocked_by: cv.blockedBy }) };
}

const NO_CONNECTION: CrsConnection = {};

/** The request's protocol as CRS reads it (REQUEST_PROTOCOL). */
function protocolOf(ctx: RequestContext): string {
  return ctx.http2 ? 'HTTP/2.0' : `HTTP/${ctx.req.httpVersion}`;
}
const NO_EVALUATION: Evaluation = { score: 0, blocked: false, matches: [], truncated: false, skippedValidated: 0 };

function checkExclusions(list: readonly Exclusion[], where: string, file: string, known: ReadonlySet<string>): void {
  list.forEach((e, i) => {
    for (const t of e.targets ?? []) {
      try {
        parseSelector(t);
      } catch (err) {
        throw new ConfigError(`${where}.exclusions[${i}]: ${(err as Error).message}`, { file });
      }
    }
    for (const r of e.rules ?? []) if (!known.has(r)) throw new ConfigError(`${where}.exclusions[${i}]: unknown WAF rule '${r}'`, { file });
  });
}

export interface RouteWafSettings {
  readonly mode: Mode;
  readonly policy: Policy;
  readonly onLimit: 'block' | 'allow';
}

/** Merges the global settings and a route's override (pure; exported for tests); routeId null: no route. */
export function routeSettings(g: WafGlobal, routeId: string | null, r: WafRoute | undefined): RouteWafSettings | null {
  if (r === 'off') return null;
  const mode = r?.mode ?? g.mode;
  if (mode === 'off') return null;
  const exclusions: Exclusion[] = [];
  for (const e of [...g.exclusions, ...(r?.exclusions ?? [])]) {
    if (e.routes !== undefined && (routeId === null || !e.routes.includes(routeId))) continue;
    exclusions.push(e);
  }
  const disabled = [...g.disabled_rules, ...(r?.disabled_rules ?? [])];
  if (disabled.length > 0) exclusions.push({ rules: disabled });
  return {
    mode,
    onLimit: g.on_limit,
    policy: { paranoia: r?.paranoia ?? g.paranoia, threshold: r?.threshold ?? g.threshold, exclusions, stopAtThreshold: mode === 'enforce' },
  };
}

/** The WAF's metrics (idempotent: a reload reuses the same series). */
function wafMetrics(env: Pick<StageEnv, 'services'>) {
  const metrics = env.services.metrics;
  return {
    matchesTotal: metrics.counter('portcullis_waf_rule_matches_total', 'WAF rule matches, by rule id (each rule once per request).', ['rule']),
    blocksTotal: metrics.counter(
      'portcullis_waf_blocked_total',
      'Requests whose WAF anomaly score reached the threshold, by route and mode (monitor: would have been blocked).',
      ['route', 'mode'],
    ),
    duration: metrics.fastHistogram(
      'portcullis_waf_duration_seconds',
      'Time spent in WAF inspection per request, by route.',
      'route',
      [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05],
    ),
  };
}

/**
 * Evaluates one request and reports it (metrics, a warning when blocked): null when nothing
 * matched, else the access-log annotation and, when the request is to be blocked, the deny.
 */
function inspect(
  req: WafRequest,
  compiled: CompiledRules | null,
  crs: CrsEngine | null,
  conn: CrsConnection,
  s: RouteWafSettings,
  opts: EvaluateOptions,
  m: ReturnType<typeof wafMetrics>,
  logger: Services['logger'],
  requestId: string,
  routeLabel: string,
  redact: QueryRedactor,
  keep?: (t: CrsTransaction) => void,
): { annotation: Record<string, unknown>; deny: Deny | null } | null {
  const t0 = performance.now();
  const ev = compiled === null ? NO_EVALUATION : evaluate(req, compiled, s.policy, opts);
  const cv = crs === null ? null : crs.evaluate(crsRequest(req, conn));
  if (cv?.transaction != null) keep?.(cv.transaction);
  m.duration.observe(routeLabel, (performance.now() - t0) / 1000);
  const overLimit = ev.truncated && s.onLimit === 'block';
  if (ev.matches.length === 0 && !ev.truncated && (cv === null || cv.hits.length === 0)) return null;
  const blocked = ev.blocked || overLimit || cv?.blocked === true;
  const secret = (t: string): boolean => redact.secretTarget(t, req.query);
  const ann = annotation(ev, blocked, secret);
  if (cv !== null) addCrs(ann, cv, secret);
  const seen = new Set<string>();
  for (const id of ann['rules'] as string[]) {
    seen.add(id);
    m.matchesTotal.inc({ rule: id });
  }
  if (!blocked) return { annotation: ann, deny: null };
  m.blocksTotal.inc({ route: routeLabel, mode: s.mode });
  const rules = [...seen].join(',');
  logger.warn(
    {
      event: 'waf_block',
      request_id: requestId,
      route: routeLabel,
      mode: s.mode,
      score: ev.score,
      rules: [...seen],
      targets: ann['targets'],
      over_limit: overLimit,
    },
    'waf',
  );
  const reason =
    overLimit && !ev.blocked && cv?.blocked !== true
      ? 'waf: request exceeds the inspection limits'
      : ev.blocked || cv === null
        ? `waf score ${ev.score}: ${rules}`
        : `crs rule ${cv.blockedBy} (inbound score ${cv.score}): ${rules}`;
  return { annotation: ann, deny: deny('PC_ERR_WAF_BLOCKED', { reason }) };
}

/** Builds the RouteStage of one route (exported for tests). */
export function wafRouteStage(
  compiled: CompiledRules | null,
  s: RouteWafSettings,
  env: Pick<StageEnv, 'services' | 'redactQuery'>,
  routeId: string,
  crs: CrsEngine | null = null,
): RouteStage {
  // one policy per route: header values found clean are remembered for this route's requests
  const opts: EvaluateOptions = { exclusions: compileExclusions(s.policy.exclusions), cleanHeaders: new CleanHeaders() };
  const m = wafMetrics(env);
  const logger = env.services.logger;
  const redact = env.redactQuery ?? NO_REDACTION;
  // CRS transactions waiting for their response phases, by request (dropped with the request)
  const kept = new WeakMap<RequestContext, CrsTransaction>();
  const keep = crs?.inspectResponses === true ? (ctx: RequestContext, t: CrsTransaction): void => void kept.set(ctx, t) : null;
  return {
    id: STAGE_ID,
    phase: 'inspect',
    mode: s.mode,
    needsBody: true,
    run(ctx: RequestContext): Decision {
      // a body the gateway could not read is inspected as raw text, and refused as such
      if (ctx.bodyRefusal !== null && s.mode !== 'enforce') ctx.recordMonitor(STAGE_ID, ctx.bodyRefusal);
      const conn: CrsConnection = crs === null ? NO_CONNECTION : { remoteAddr: ctx.clientIp, protocol: protocolOf(ctx) };
      const r = inspect(wafRequestOf(ctx), compiled, crs, conn, s, opts, m, logger, ctx.id, routeId, redact, keep === null ? undefined : (t) => keep(ctx, t));
      if (r !== null) ctx.annotations[STAGE_ID] = r.annotation;
      // a body the gateway could not read stays refused as such (its raw text was inspected above)
      if (ctx.bodyRefusal !== null && s.mode === 'enforce') return ctx.bodyRefusal;
      return r?.deny ?? undefined;
    },
    ...(crs?.inspectResponses === true
      ? {
          needsResponseBody: true,
          onResponseBody(ctx: RequestContext, res: ResponseMeta, body: Buffer): Buffer | Deny {
            const t = kept.get(ctx);
            if (t === undefined) return body;
            kept.delete(ctx);
            const headers: Pair[] = [];
            for (const [k, v] of Object.entries(res.headers)) for (const x of Array.isArray(v) ? v : [v]) headers.push([k, x]);
            const cv = crs.respond(t, { status: res.status, protocol: protocolOf(ctx), headers }, body);
            if (cv.hits.length === 0 && !cv.blocked) return body;
            const secret = (x: string): boolean => redact.secretTarget(x, ctx.query);
            const ann = (ctx.annotations[STAGE_ID] as Record<string, unknown> | undefined) ?? {
              score: 0,
              blocked: false,
              rules: [],
              tags: [],
              targets: [],
              matches: [],
            };
            addCrs(ann, cv, secret);
            for (const h of cv.hits) m.matchesTotal.inc({ rule: h.id });
            ctx.annotations[STAGE_ID] = ann;
            if (!cv.blocked) return body;
            const d = deny('PC_ERR_WAF_BLOCKED', { reason: `crs rule ${cv.blockedBy} (response)` });
            m.blocksTotal.inc({ route: routeId, mode: s.mode });
            if (s.mode !== 'enforce') {
              ctx.recordMonitor(STAGE_ID, d);
              return body;
            }
            ann['blocked'] = true;
            return d;
          },
        }
      : {}),
  };
}

/**
 * The hook for requests the HTTP parser refused: the global settings, route-less (exclusions
 * scoped to routes do not apply); undefined when the WAF is off.
 */
function malformedInspector(
  compiled: CompiledRules | null,
  crs: CrsEngine | null,
  g: WafGlobal,
  env: Pick<StageEnv, 'services' | 'redactQuery'>,
): StageInstance['inspectMalformed'] {
  const s = routeSettings(g, null, undefined);
  if (s === null) return undefined;
  // no remembered values: a refused request is rare and its headers are the odd ones
  const opts: EvaluateOptions = { exclusions: compileExclusions(s.policy.exclusions) };
  const m = wafMetrics(env);
  const logger = env.services.logger;
  return (raw: MalformedRequest, requestId: string): MalformedVerdict | null => {
    const req: WafRequest = {
      method: raw.method ?? '',
      rawUrl: raw.target ?? '',
      path: raw.path,
      query: raw.query,
      headers: raw.headers,
      body: raw.body.length > 0 ? raw.body : null,
    };
    const r = inspect(req, compiled, crs, NO_CONNECTION, s, opts, m, logger, requestId, '(none)', env.redactQuery ?? NO_REDACTION);
    if (r === null) return null;
    if (r.deny === null) return { stage: STAGE_ID, annotation: r.annotation };
    if (s.mode === 'monitor')
      return { stage: STAGE_ID, annotation: r.annotation, monitor: { stage: STAGE_ID, code: r.deny.code, reason: r.deny.reason ?? null } };
    return { stage: STAGE_ID, annotation: r.annotation, deny: r.deny };
  };
}

export const wafStage: StageModule = {
  id: STAGE_ID,
  phase: 'inspect',
  order: 100,
  schema: {
    global: { waf: wafGlobalSchema() },
    route: { waf: wafRouteSchema() },
  },
  check(config, env): void {
    const g = config['waf'] as WafGlobal; // defaults filled by the schema (schema.ts), the one place they are written
    const known = new Set(BUILTIN_RULES.map((r) => r.id));
    checkExclusions(g.exclusions, 'waf', env.file, known);
    for (const id of g.disabled_rules) if (!known.has(id)) throw new ConfigError(`waf.disabled_rules: unknown WAF rule '${id}'`, { file: env.file });
    config.routes.forEach((route, i) => {
      const r = route['waf'] as WafRoute | undefined;
      if (r === undefined || r === 'off') return;
      checkExclusions(r.exclusions ?? [], `routes[${i}].waf`, env.file, known);
      for (const id of r.disabled_rules ?? [])
        if (!known.has(id)) throw new ConfigError(`routes[${i}].waf.disabled_rules: unknown WAF rule '${id}'`, { file: env.file });
    });
  },
  create(env: StageEnv): StageInstance {
    const g = env.config['waf'] as WafGlobal;
    const compiled =
      g.engine === 'crs' ? null : compileRules(BUILTIN_RULES, { maxInspectedBytes: g.max_inspected_bytes, maxJsonDepth: g.max_json_depth, maxTargets: 10000 });
    if (compiled !== null) warmUp(compiled);
    const crs = g.engine === 'builtin' ? null : crsEngineOf(g, env);
    const inspectMalformed = malformedInspector(compiled, crs, g, env);
    return {
      ...(inspectMalformed ? { inspectMalformed } : {}),
      forRoute(route: RouteConfig): RouteStage | null {
        const s = routeSettings(g, route.id, route['waf'] as WafRoute | undefined);
        return s === null ? null : wafRouteStage(compiled, s, env, route.id, crs);
      },
    };
  },
};

/** Loads the CRS of `waf.crs` (paths relative to the config file); a folder or file that cannot be loaded is a config error. */
function crsEngineOf(g: WafGlobal, env: Pick<StageEnv, 'file' | 'baseDir' | 'services'>): CrsEngine {
  const c = g.crs;
  try {
    const engine = loadCrs({
      path: c.path === null ? BUNDLED_CRS : resolve(env.baseDir, c.path),
      files: c.files.map((f) => resolve(env.baseDir, f)),
      paranoia: g.paranoia,
      ...(c.detection_paranoia === null ? {} : { detectionParanoia: Math.max(c.detection_paranoia, g.paranoia) }),
      inboundThreshold: c.inbound_threshold,
      outboundThreshold: c.outbound_threshold,
      inspectResponses: c.inspect_responses,
    });
    const skipped = engine.rules.unsupported;
    if (skipped.length > 0)
      env.services.logger.warn(
        { event: 'crs_rules_unsupported', count: skipped.length, rules: skipped.slice(0, 50).map((u) => `${u.id}: ${u.reason}`) },
        'waf',
      );
    return engine;
  } catch (e) {
    if (e instanceof CrsLoadError) throw new ConfigError(`waf.crs: ${e.message}`, { file: env.file });
    if (e instanceof CrsSyntaxError) throw new ConfigError(`waf.crs: ${e.message}`, { file: env.file });
    throw e;
  }
}

/** Runs every rule once so that regexes are compiled before the first real request. */
function warmUp(compiled: CompiledRules): void {
  const body = Buffer.from(
    JSON.stringify({ a: "x' or 1=1 -- <script>alert(1)</script> ; cat /etc/passwd ${jndi:x} {{7*7}} ../../", b: ['select 1 from t', 'http://127.0.0.1/'] }),
  );
  const req: WafRequest = {
    method: 'POST',
    rawUrl: '/warm/up?q=%27%20or%201%3D1--&x=..%2F..%2Fetc%2Fpasswd',
    path: '/warm/up',
    query: 'q=%27%20or%201%3D1--&x=..%2F..%2Fetc%2Fpasswd&y=%3Cscript%3E&z=%24%7Bjndi%3Aldap%3A%2F%2Fx%7D',
    headers: { 'content-type': 'application/json', 'user-agent': 'warm-up () { :; }; /bin/sh', cookie: 'a=b' },
    body,
  };
  evaluate(req, compiled, { paranoia: 4, threshold: 1000, exclusions: [] }, { allMatches: true });
}
