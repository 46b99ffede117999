/**
 * The abuse stage: IP allow/deny lists, active bans and throttles (phase `intake`, and the
 * consumer's in phase `authorize`), and the detector feed that places them.
 *
 * The stage instance's hooks, which the core runs for every request:
 *   - `checkClient(ctx)` before routing (bans and the global lists also stop unrouted requests
 *     such as 404 scanners);
 *   - `observe(ctx)` once for every finished exchange, routed or not (the detectors and the alert
 *     rules read it).
 * The same are exported as module functions (`checkClient`, `observeExchange`); each runs at most
 * once per request whichever way it is called.
 */
import type { Decision } from '../../core/decision.js';
import { deny } from '../../core/decision.js';
import type { Services } from '../../core/services.js';
import type { RouteStage, StageModule } from '../../core/stage.js';
import type { CanonicalConfig, RouteConfig } from '../../core/config.js';
import { alertsFor } from '../../observe/alerts.js';
import { isPublicRoute } from '../auth/public.js';
import { abuseSchema, ipListsSchema, routeIpListsSchema, type AbuseConfig, type IpListsConfig } from './schema.js';
import { AbuseEngine, compileSettings, type AbuseSettings } from './engine.js';
import { IpList, parseCidr } from './ip-match.js';
import { normaliseIp } from '../../core/ip.js';
import type { AccessRecord } from '../../core/record.js';
import { configErrorAt } from '../../config/errors.js';
import type { RequestContext } from '../../core/stage.js';

export { AbuseEngine } from './engine.js';
export type { AbuseSettings, DenialEvent, FinishedExchange } from './engine.js';

interface Runtime {
  readonly engine: AbuseEngine;
  readonly settings: AbuseSettings;
  readonly services: Services;
}

/** Runtime per config snapshot, keyed by the snapshot's config object. */
const runtimes = new WeakMap<object, Runtime>();
const checked = new WeakSet<RequestContext>();
const observed = new WeakSet<RequestContext>();

/** The abuse engine of a gateway (created on first use, survives reloads). */
export function engineFor(services: Services): AbuseEngine {
  return services.keep('stages.abuse', () => new AbuseEngine(services));
}

function runtimeFor(ctx: RequestContext): Runtime | null {
  return runtimes.get(ctx.snapshot.config) ?? null;
}

/**
 * Before routing, for every request: the global IP lists, then bans and throttles of the client
 * address. Synchronous (a local lookup) unless the client is throttled.
 */
export function checkClient(ctx: RequestContext): Decision | Promise<Decision> {
  const rt = runtimeFor(ctx);
  return rt ? checkWith(rt, ctx) : undefined;
}

function checkWith(rt: Runtime, ctx: RequestContext): Decision | Promise<Decision> {
  if (checked.has(ctx)) return undefined;
  checked.add(ctx);
  return rt.engine.checkIp(rt.settings, ctx.clientIp, ctx.now, (d) => ctx.recordMonitor('ip_lists', d));
}

/**
 * Once per finished exchange, routed or not, refused by the HTTP parser or not (`ctx` null):
 * feeds the detectors and the alert rules.
 */
function observeWith(rt: Runtime, r: AccessRecord, ctx: RequestContext | null): void {
  if (ctx !== null) {
    if (observed.has(ctx)) return;
    observed.add(ctx);
  }
  const o = r.outcome;
  void rt.engine.observe(
    {
      status: r.status,
      decision: o.decision,
      code: o.code,
      stage: o.stage,
      routeId: r.routeId,
      params: ctx?.params ?? {},
      path: r.path ?? '',
      ip: r.clientIp,
      consumer: r.consumer,
      tenant: r.tenant,
      requestId: r.id,
      method: r.method ?? '',
    },
    ctx?.now ?? r.time,
  );
}

function checkCidrs(file: string, list: unknown, path: (string | number)[]): void {
  if (!Array.isArray(list)) return;
  list.forEach((v, i) => {
    if (typeof v !== 'string' || parseCidr(v) === null) throw configErrorAt(file, [...path, i], `'${String(v)}' is not an IP address or CIDR`);
  });
}

function routeStage(rt: Runtime, route: RouteConfig): RouteStage | null {
  const lists = route.ip_lists as IpListsConfig | undefined;
  const allow = lists && lists.mode !== 'off' ? new IpList(lists.allow) : null;
  const denyList = lists && lists.mode !== 'off' ? new IpList(lists.deny) : null;
  const mode = lists?.mode ?? 'enforce';
  const active = (allow?.size ?? 0) + (denyList?.size ?? 0) > 0;
  // bans and global lists run in checkClient, before routing, for every request: a route
  // without lists of its own needs no stage
  if (!active) return null;
  return {
    id: 'abuse',
    phase: 'intake',
    mode: 'enforce',
    run(ctx) {
      if (!checked.has(ctx)) {
        // the core did not run the client check before routing: do it now
        const r = checkWith(rt, ctx);
        if (r !== undefined) {
          if (r instanceof Promise) return r.then((d) => d ?? routeLists(ctx));
          return r;
        }
      }
      return routeLists(ctx);
    },
  };
  function routeLists(ctx: RequestContext): Decision {
    if (!active) return undefined;
    const ip = normaliseIp(ctx.clientIp);
    const denied = (denyList?.has(ip) ?? false) || ((allow?.size ?? 0) > 0 && !(allow?.has(ip) ?? false));
    if (!denied) return undefined;
    const d = deny('PC_ERR_IP_DENIED', { reason: denyList?.has(ip) ? 'route deny list' : 'not in route allow list' });
    if (mode === 'enforce') return d;
    ctx.recordMonitor('ip_lists', d);
    return undefined;
  }
}

function register(env: { config: CanonicalConfig; services: Services }): Runtime {
  const engine = engineFor(env.services);
  const settings = compileSettings(env.config.abuse as AbuseConfig, env.config.ip_lists as IpListsConfig, env.config.client_ip);
  engine.configure(settings);
  const alerts = alertsFor(env.services);
  engine.alertSink = (a) => alerts.notifyAbuse(a);
  const rt: Runtime = { engine, settings, services: env.services };
  runtimes.set(env.config, rt);
  return rt;
}

/** Intake: IP lists, bans and throttles of the address; contributes the `abuse` and `ip_lists` keys. */
export const abuseModule: StageModule = {
  id: 'abuse',
  phase: 'intake',
  order: 10,
  schema: {
    global: { abuse: abuseSchema, ip_lists: ipListsSchema },
    route: { ip_lists: routeIpListsSchema },
  },
  check(config, env) {
    const a = config.abuse as AbuseConfig | undefined;
    const shared = config.client_ip.ipv6_prefix;
    if (a?.ipv6_prefix !== undefined && a.ipv6_prefix !== shared) {
      throw configErrorAt(
        env.file,
        ['abuse', 'ipv6_prefix'],
        `abuse.ipv6_prefix (${a.ipv6_prefix}) differs from client_ip.ipv6_prefix (${shared}): bans, abuse counters and rate limits share one prefix; set client_ip.ipv6_prefix and remove abuse.ipv6_prefix`,
      );
    }
    checkCidrs(env.file, a?.allow?.ips, ['abuse', 'allow', 'ips']);
    const g = config.ip_lists as IpListsConfig | undefined;
    checkCidrs(env.file, g?.allow, ['ip_lists', 'allow']);
    checkCidrs(env.file, g?.deny, ['ip_lists', 'deny']);
    config.routes.forEach((r, i) => {
      const l = r.ip_lists as IpListsConfig | undefined;
      checkCidrs(env.file, l?.allow, ['routes', i, 'ip_lists', 'allow']);
      checkCidrs(env.file, l?.deny, ['routes', i, 'ip_lists', 'deny']);
    });
  },
  create(env) {
    const rt = register(env);
    rt.engine.acquire();
    let closed = false;
    // hooks run for every request: register them only when something needs them
    const enabled = (env.config.abuse as AbuseConfig | undefined)?.enabled !== false;
    const g = env.config.ip_lists as IpListsConfig | undefined;
    const globalLists = g !== undefined && g.mode !== 'off' && (g.allow?.length ?? 0) + (g.deny?.length ?? 0) > 0;
    return {
      forRoute: (route) => routeStage(rt, route),
      ...(enabled || globalLists ? { checkClient: (ctx: RequestContext) => checkWith(rt, ctx) } : {}),
      ...(enabled ? { observe: (r: AccessRecord, ctx: RequestContext | null) => observeWith(rt, r, ctx) } : {}),
      close() {
        if (closed) return;
        closed = true;
        rt.engine.release();
      },
    };
  },
};

/** Authorize (first): bans and throttles of the authenticated consumer. */
export const abuseConsumerModule: StageModule = {
  id: 'abuse.consumer',
  phase: 'authorize',
  order: 0,
  create(env) {
    const rt = runtimes.get(env.config) ?? register(env);
    return {
      // a public route never has a principal
      forRoute: (route): RouteStage | null =>
        isPublicRoute(route)
          ? null
          : {
              id: 'abuse.consumer',
              phase: 'authorize',
              mode: 'enforce',
              run(ctx) {
                const c = ctx.principal?.consumer;
                return c ? rt.engine.checkConsumer(rt.settings, c, ctx.now) : undefined;
              },
            },
    };
  },
};

/** Everything this folder registers: add `...ABUSE_MODULES` to src/stages/index.ts. */
export const ABUSE_MODULES: readonly StageModule[] = [abuseModule, abuseConsumerModule];
