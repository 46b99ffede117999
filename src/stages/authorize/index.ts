/**
 * The authorization stage (phase `authorize`): checks the principal set by the authenticate phase
 * against the route's `authorize` section and the tenants owning the route (`tenants[].routes`).
 * Decision logic is pure (decide.ts); this file compiles policies once per route and counts denials.
 */
import type { Decision, Deny } from '../../core/decision.js';
import type { Mode } from '../../core/phases.js';
import type { RouteStage, StageEnv, StageInstance, StageModule } from '../../core/stage.js';
import type { RouteConfig } from '../../core/config.js';
import { challenge } from '../auth/decide.js';
import { isPublicRoute } from '../auth/public.js';
import { authorizeRouteSchema } from './schema.js';
import { compilePolicy, decide, DN_CLAIMS, dnKeyOf, isEmpty, type Policy } from './decide.js';
import { configErrorAt } from '../../config/errors.js';
import type { RequestContext } from '../../core/stage.js';

interface TenantEntry {
  id: string;
  routes?: string[];
}

class AuthorizeStage implements RouteStage {
  readonly id = 'authorize';
  readonly phase = 'authorize' as const;
  constructor(
    readonly mode: Mode,
    private readonly policy: Policy,
    private readonly routeId: string,
    private readonly realm: string,
    private readonly onDeny: (d: Deny, ctx: RequestContext, route: string) => void,
  ) {}

  run(ctx: RequestContext): Decision {
    const d = decide(ctx.principal, this.policy, ctx.params);
    if (d === undefined) return undefined;
    this.onDeny(d, ctx, this.routeId);
    ctx.annotations.authorize = { result: 'denied', code: d.code, reason: d.reason ?? null };
    if (d.code === 'PC_ERR_INSUFFICIENT_SCOPE' && ctx.principal?.methods.includes('jwt') === true) {
      const scopes = this.policy.scopes ? [...this.policy.scopes.allOf, ...this.policy.scopes.anyOf] : [];
      return { ...d, headers: { 'www-authenticate': challenge(this.realm, ['jwt'], d.code, scopes) } };
    }
    return d;
  }
}

export const authorizeStage: StageModule = {
  id: 'authorize',
  phase: 'authorize',
  order: 10, // after the ban check on the consumer (abuse, order 0)
  schema: { route: { authorize: authorizeRouteSchema } },

  check(config, env) {
    const publicRoutes = new Set(config.routes.filter(isPublicRoute).map((r) => r.id));
    for (const [i, t] of ((config.tenants ?? []) as TenantEntry[]).entries()) {
      for (const [j, id] of (t.routes ?? []).entries()) {
        if (publicRoutes.has(id))
          throw configErrorAt(env.file, ['tenants', i, 'routes', j], `route '${id}' is public (auth none or off) and cannot be owned by a tenant`);
      }
    }
    config.routes.forEach((r, i) => {
      const a = r.authorize as { bind?: { param: string }[]; mode?: Mode } | undefined;
      if (a === undefined) return;
      if (isPublicRoute(r)) {
        throw configErrorAt(env.file, ['routes', i, 'authorize'], 'authorize needs an authenticated route (auth is none or off)');
      }
      // certificate names are compared as structures (decide.ts): they must parse
      ((a as { claims?: { claim: string; equals?: unknown; in?: unknown[] }[] }).claims ?? []).forEach((c, j) => {
        if (!DN_CLAIMS.has(c.claim)) return;
        const at = ['routes', i, 'authorize', 'claims', j];
        const bad = (path: (string | number)[]): never => {
          throw configErrorAt(env.file, [...at, ...path], `${c.claim} must be an RFC 4514 distinguished name, e.g. "CN=billing,O=Acme"`);
        };
        if (c.equals !== undefined && dnKeyOf(c.equals) === null) bad(['equals']);
        (c.in ?? []).forEach((v, k) => {
          if (dnKeyOf(v) === null) bad(['in', k]);
        });
      });
      (a.bind ?? []).forEach((b, j) => {
        const path = r.match.path ?? '';
        if (!path.includes(`{${b.param}}`)) {
          throw configErrorAt(env.file, ['routes', i, 'authorize', 'bind', j, 'param'], `path parameter {${b.param}} is not in the route path`);
        }
      });
    });
  },

  create(env: StageEnv): StageInstance {
    const tenants = (env.config.tenants ?? []) as TenantEntry[];
    const owners = new Map<string, string[]>();
    for (const t of tenants) for (const r of t.routes ?? []) owners.set(r, [...(owners.get(r) ?? []), t.id]);
    const consumerIds = new Set(((env.config.consumers ?? []) as { id: string }[]).map((c) => c.id));
    const tenantIds = new Set(tenants.map((t) => t.id));
    const realm = ((env.config.auth as { realm?: string } | undefined)?.realm ?? 'portcullis') as string;
    const denials = env.services.metrics.counter(
      'portcullis_authorize_denials_total',
      'Authorization refusals by error code, route, and consumer/tenant (configured ones only).',
      ['code', 'route', 'consumer', 'tenant'],
    );
    const onDeny = (d: Deny, ctx: RequestContext, route: string): void => {
      const c = ctx.principal?.consumer ?? null;
      const t = ctx.principal?.tenant ?? null;
      denials.inc({ code: d.code, route, consumer: c !== null && consumerIds.has(c) ? c : '', tenant: t !== null && tenantIds.has(t) ? t : '' });
    };
    return {
      forRoute(route: RouteConfig): RouteStage | null {
        const section = route.authorize as (Record<string, unknown> & { mode?: Mode }) | undefined;
        const mode = section?.mode ?? 'enforce';
        if (mode === 'off') return null;
        if (isPublicRoute(route)) return null;
        const policy = compilePolicy(section, owners.get(route.id) ?? []);
        if (isEmpty(policy)) return null;
        return new AuthorizeStage(mode, policy, route.id, realm, onDeny);
      },
    };
  },
};

export default authorizeStage;
