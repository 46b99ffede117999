/**
 * The `cors` stage: browser clients of other origins. A preflight (OPTIONS with Origin and
 * Access-Control-Request-Method) is answered before routing, with the policy of the route the
 * real request would take (204 with the Access-Control-Allow-* headers, or 403
 * PC_ERR_CORS_REJECTED), so that it needs no credentials and never reaches the upstream. On the
 * route itself (phase pre-auth, before authentication) an allowed origin gets the CORS response
 * headers, on the proxied response and on refusals alike (a browser script can read its 401), and
 * `Vary: Origin` is added to the upstream's Vary. Decisions are pure (decide.ts).
 */
import { deny, respond, type Decision } from '../../core/decision.js';
import type { RouteConfig } from '../../core/config.js';
import type { RequestContext, ResponseMeta, RouteStage, StageInstance, StageModule } from '../../core/stage.js';
import { configErrorAt } from '../../config/errors.js';
import { corsGlobalSchema, corsRouteSchema } from './schema.js';
import { compilePolicy, originAllowed, preflight, responseHeaders, settingsProblem, varyWithOrigin, type CorsPolicy, type CorsSettings } from './decide.js';

export const STAGE_ID = 'cors';

type GlobalCors = CorsSettings & { readonly all_routes: boolean };
type RouteCors = 'off' | Partial<CorsSettings> | undefined;

/** The route's settings: the top-level ones, overridden by its own; null when CORS is not on it. */
function settingsFor(g: GlobalCors, r: RouteCors): CorsSettings | null {
  if (r === 'off' || (r === undefined && !g.all_routes)) return null;
  return { ...g, ...(r ?? {}) };
}

class CorsStage implements RouteStage {
  readonly id = STAGE_ID;
  readonly phase = 'pre-auth' as const;
  readonly mode: 'enforce' | 'monitor';
  constructor(private readonly p: CorsPolicy) {
    this.mode = p.mode;
  }

  run(ctx: RequestContext): Decision {
    const origin = ctx.header('origin');
    if (origin === undefined || !originAllowed(this.p, origin)) return undefined;
    if (this.mode === 'monitor') {
      ctx.annotations[STAGE_ID] = { would_allow_origin: origin.slice(0, 100) };
      return undefined;
    }
    Object.assign(ctx.responseHeaders, responseHeaders(this.p, origin));
    return undefined;
  }

  onResponse(_ctx: RequestContext, res: ResponseMeta): undefined {
    // a response that depends on Origin says so, or a cache serves one origin's answer to another
    if (this.mode === 'enforce') res.headers['vary'] = varyWithOrigin(res.headers['vary']);
    return undefined;
  }
}

export const corsStage: StageModule = {
  id: STAGE_ID,
  phase: 'pre-auth',
  order: 0, // before the per-IP limits (100): a preflight costs the client nothing
  schema: { global: { cors: corsGlobalSchema() }, route: { cors: corsRouteSchema() } },

  check(config, env) {
    const g = config['cors'] as GlobalCors;
    const problem = settingsProblem(g);
    if (problem !== null) throw configErrorAt(env.file, ['cors'], problem);
    config.routes.forEach((route, i) => {
      const s = settingsFor(g, route['cors'] as RouteCors);
      const p = s === null ? null : settingsProblem(s);
      if (p !== null) throw configErrorAt(env.file, ['routes', i, 'cors'], p);
    });
  },

  create(env): StageInstance {
    const g = env.config['cors'] as GlobalCors;
    const policies = new Map<string, CorsPolicy>();
    const anyRoute = g.all_routes || env.config.routes.some((r) => r['cors'] !== undefined && r['cors'] !== 'off');
    /** A preflight, answered with the policy of the route the real request would take. */
    const checkClient = (ctx: RequestContext): Decision => {
      if (ctx.method !== 'OPTIONS') return undefined;
      const origin = ctx.header('origin');
      const method = ctx.header('access-control-request-method');
      if (origin === undefined || method === undefined) return undefined;
      const m = ctx.snapshot.router.find(method, ctx.host, ctx.path, ctx.pathHasParameters);
      if (m.kind !== 'found') return undefined; // routing answers (404, or 405 with Allow)
      const p = policies.get(m.value.id);
      if (p === undefined) return undefined;
      const v = preflight(p, origin, method, ctx.header('access-control-request-headers'));
      if (p.mode === 'monitor') {
        ctx.recordMonitor(STAGE_ID, v.ok ? { code: 'respond', reason: 'preflight' } : { code: 'PC_ERR_CORS_REJECTED', reason: v.reason });
        return undefined;
      }
      if (!v.ok)
        return deny('PC_ERR_CORS_REJECTED', { reason: v.reason, headers: { vary: 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers' } });
      return respond(204, { headers: v.headers, reason: 'preflight' });
    };
    return {
      ...(anyRoute ? { checkClient } : {}),
      forRoute(route: RouteConfig): RouteStage | null {
        const s = settingsFor(g, route['cors'] as RouteCors);
        const p = s === null ? null : compilePolicy(s);
        if (p === null) return null;
        policies.set(route.id, p);
        return new CorsStage(p);
      },
    };
  },
};

export default corsStage;
