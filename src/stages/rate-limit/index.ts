/**
 * Rate limiting: two stage modules over one compiled config.
 *   limit.pre-auth (phase pre-auth): limits keyed by client IP (and route, method, header), so that
 *     hostile traffic is cut before authentication costs anything;
 *   limit.rate (phase limits): limits keyed by consumer, tenant or claim, plan and tenant limits,
 *     and every other limit.
 * In each stage, all limits of the request are decided together in one store call (one EVALSHA on
 * Redis): a request refused by one limit consumes nothing from the others.
 */
import { deny, type Decision } from '../../core/decision.js';
import type { Phase } from '../../core/phases.js';
import type { Services } from '../../core/services.js';
import type { RouteStage, StageInstance, StageModule } from '../../core/stage.js';
import type { RouteConfig } from '../../core/config.js';
import { MemoryStore } from '../../store/memory.js';
import { DEFAULT_MAX_ENTRIES } from '../../store/index.js';
import type { LimitCheck, LimitResult, StateStore } from '../../core/state.js';
import { AdaptiveController, scaleBucket, type AdaptiveConfig } from './adaptive.js';
import { checkRateLimits } from './check.js';
import { globalPlan, quotaPolicy, routePlan, windowOf, type CompiledLimit, type GlobalPlan, type KeyPart } from './compile.js';
import { bucketWindowSeconds, claimPart, DENY_CODE, encodeKeyPart, limitItem, pickRefusal, policyItem, retryAfterSeconds, type CheckKind } from './decide.js';
import { RATE_LIMITS_SCHEMA, ROUTE_RATE_LIMIT_SCHEMA } from './schema.js';
import { agedResult, fingerprint, OverLimitCache } from './over-limit.js';
import type { RequestContext } from '../../core/stage.js';

const HDR_LIMIT = 'ratelimit';
const HDR_POLICY = 'ratelimit-policy';

interface Counter<L extends string> {
  inc(labels: Partial<Record<L, string>>): void;
}

/** Long-lived per process (survives reloads): the fallback store, metrics, outage logging. */
export class Runtime {
  readonly services: Services;
  private localStore: MemoryStore | null = null;
  private readonly fallbacks: Counter<'policy'>;
  readonly denials: Counter<'limit' | 'code'>;
  /** refusals answered without the shared store (over-limit.ts) */
  readonly overLimit = new OverLimitCache();
  readonly localRefusals: Counter<never>;
  /** per policy: a fail-open and a fail-closed degradation are different news, each logged */
  private readonly lastLog = { open: 0, closed: 0 };
  private readonly suppressed = { open: 0, closed: 0 };
  private waited = false;
  maxEntries = DEFAULT_MAX_ENTRIES;

  constructor(services: Services) {
    this.services = services;
    const m = services.metrics;
    this.fallbacks = m.counter(
      'portcullis_ratelimit_store_fallbacks_total',
      'Rate-limit decisions made without the shared store, by policy (open: local limits, closed: 503).',
      ['policy'],
    );
    this.denials = m.counter('portcullis_ratelimit_denials_total', 'Requests refused by a rate limit, by limit name and code.', ['limit', 'code']);
    this.localRefusals = m.counter(
      'portcullis_ratelimit_local_refusals_total',
      'Rate-limit refusals answered from the local over-limit cache, without asking the shared store.',
      [],
    );
  }

  /**
   * Waits (once per process, at most 5 s) for the shared store to connect before the first
   * snapshot serves traffic, so that a fresh gateway does not answer its first requests from the
   * outage path. A store that stays down is reported and the gateway starts anyway (each limit
   * then follows its on_store_failure policy).
   */
  async storeReady(): Promise<void> {
    if (this.waited) return;
    this.waited = true;
    const s = this.store;
    if (!s.whenReady) return;
    if (!(await s.whenReady(5000))) {
      this.services.logger.warn({ stage: 'rate-limit', store: s.kind }, 'state store not reachable at startup; limits follow their on_store_failure policy');
    }
  }

  get store(): StateStore {
    return this.services.store;
  }

  /** The in-process store used when the shared one is down (fail-open limits). */
  get local(): MemoryStore {
    if (this.store instanceof MemoryStore) return this.store;
    return (this.localStore ??= new MemoryStore({ maxEntries: this.maxEntries }));
  }

  /** Counts a degraded decision; logs at most once per 10 s per policy and process. */
  degraded(policy: 'open' | 'closed', err: unknown): void {
    this.fallbacks.inc({ policy });
    const now = Date.now();
    if (now - this.lastLog[policy] < 10000) {
      this.suppressed[policy]++;
      return;
    }
    this.services.logger.warn(
      {
        stage: 'rate-limit',
        store: this.store.kind,
        policy,
        suppressed: this.suppressed[policy],
        err: err instanceof Error ? err.message : err === null ? 'unhealthy' : String(err),
      },
      policy === 'open' ? 'state store unavailable: enforcing rate limits locally' : 'state store unavailable: refusing requests of fail-closed limits',
    );
    this.lastLog[policy] = now;
    this.suppressed[policy] = 0;
  }
}

/** What each check of a request came from, for headers and refusals. */
interface Owner {
  readonly limit: CompiledLimit;
  readonly kind: CheckKind;
  readonly policy: string;
  readonly policyName: string;
}

function partValue(p: KeyPart, ctx: RequestContext, routeId: string, client: string): string | null {
  switch (p.t) {
    case 'ip':
      return client;
    case 'consumer':
      return ctx.principal?.consumer ?? null;
    case 'tenant':
      return ctx.principal?.tenant ?? null;
    case 'route':
      return routeId;
    case 'method':
      // HEAD is counted as GET: the upstream runs its GET handler for it
      return ctx.method === 'HEAD' ? 'GET' : ctx.method;
    case 'header':
      return ctx.header(p.name) ?? null;
    case 'claim': {
      const claims = ctx.principal?.claims;
      return claims && Object.hasOwn(claims, p.name) ? claimPart(claims[p.name]) : null;
    }
  }
}

/**
 * The key value of a limit for a request; a missing part falls back to the client (marked `~`,
 * which encoded values never contain). `client`: the client key of the request's address
 * (src/core/ip.ts: its network of the `client_ip` prefix).
 */
export function keyOf(limit: CompiledLimit, ctx: RequestContext, routeId: string, client: string): string {
  let s = limit.prefix;
  for (let i = 0; i < limit.parts.length; i++) {
    const p = limit.parts[i]!;
    const v = partValue(p, ctx, routeId, client);
    if (i > 0) s += '|';
    s += p.label;
    s += v === null || v === '' ? `~${encodeKeyPart(client)}` : encodeKeyPart(v);
  }
  return s;
}

function appendHeader(ctx: RequestContext, name: string, value: string): void {
  const old = ctx.responseHeaders[name];
  ctx.responseHeaders[name] = old ? `${old}, ${value}` : value;
}

const RETRY_503 = { 'retry-after': '1' } as const;

/** Times a request waits for another's store decision of the same fingerprint before asking itself. */
const MAX_WAITS = 3;

/** The tag of a limit's state keys (CompiledLimit.tagPart) from its key `<prefix><part>|<part>...`. */
export function tagOf(limit: CompiledLimit, key: string): string {
  if (limit.tagPart === -1) return key;
  const parts = key.slice(limit.prefix.length).split('|');
  return parts[limit.tagPart] ?? key;
}

export class LimitStage implements RouteStage {
  readonly id: string;
  readonly phase: Phase;
  readonly mode = 'enforce' as const;

  constructor(
    private readonly rt: Runtime,
    private readonly g: GlobalPlan,
    private readonly routeId: string,
    id: string,
    phase: Phase,
    private readonly fixed: readonly CompiledLimit[],
    private readonly dynamic: boolean,
    private readonly adaptive: AdaptiveController | null,
  ) {
    this.id = id;
    this.phase = phase;
  }

  /** The limits of this request: fixed ones, then its plan's and its tenant's. */
  private limitsFor(ctx: RequestContext): readonly CompiledLimit[] {
    if (!this.dynamic) return this.fixed;
    const pr = ctx.principal;
    const plan = pr?.plan ?? this.g.defaultPlan;
    const planLimits = plan === null ? undefined : this.g.plans.get(plan);
    const tenant = pr?.tenant;
    const tenantLimits = tenant ? this.g.tenants.get(tenant) : undefined;
    if (!planLimits && !tenantLimits) return this.fixed;
    return [...this.fixed, ...(planLimits ?? []), ...(tenantLimits ?? [])];
  }

  run(ctx: RequestContext): Decision | Promise<Decision> {
    const limits = this.limitsFor(ctx);
    if (limits.length === 0) return undefined;
    // decision time from the services clock (replaceable in tests; the same wall clock as ctx.now otherwise)
    const now = this.rt.services.clock();
    const factor = this.adaptive === null ? 1 : this.adaptive.factorAt(now);
    const checks: LimitCheck[] = [];
    const owners: Owner[] = [];
    const client = this.g.keys.of(ctx.clientIp);
    const store = this.rt.store;
    // tags only matter to a shared store (Redis Cluster slots)
    const tagged = store.limitSync === undefined;
    for (const l of limits) {
      if (l.methods !== null && !l.methods.has(ctx.method)) continue;
      const key = keyOf(l, ctx, this.routeId, client);
      const tag = tagged ? tagOf(l, key) : undefined;
      if (l.bucket) {
        const b = l.bucket;
        const s = factor < 1 ? scaleBucket(b.intervalMs, b.burst, factor) : b;
        checks.push({ kind: 'bucket', key: `b:${key}`, intervalMs: s.intervalMs, burst: s.burst, enforce: l.enforce, tag });
        owners.push({ limit: l, kind: 'bucket', policyName: b.policyName, policy: factor < 1 ? scaledPolicy(b.policyName, s) : b.policy });
      }
      if (l.quota) {
        const w = windowOf(l.quota, now);
        checks.push({ kind: 'quota', key: `q:${key}:${w.id}`, limit: l.quota.limit, resetAt: w.resetAt, enforce: l.enforce, tag });
        owners.push({ limit: l, kind: 'quota', policyName: l.quota.policyName, policy: quotaPolicy(l.quota, w) });
      }
      if (l.concurrency) {
        const c = l.concurrency;
        checks.push({ kind: 'concurrency', key: `c:${key}`, max: c.max, leaseMs: c.leaseMs, enforce: l.enforce, tag });
        owners.push({ limit: l, kind: 'concurrency', policyName: c.policyName, policy: c.policy });
      }
    }
    if (checks.length === 0) return undefined;
    if (store.limitSync !== undefined) return this.finish(ctx, store, checks, owners, store.limitSync(checks, now));
    if (!store.healthy()) return this.degraded(ctx, checks, owners, null, now);
    return this.shared(ctx, store, checks, owners, now, 0);
  }

  /**
   * A decision by the shared store, through the over-limit cache: a fingerprint refused until later
   * is answered here; when its time is up, one request asks the store and the others wait for it.
   */
  private shared(ctx: RequestContext, store: StateStore, checks: LimitCheck[], owners: Owner[], now: number, depth: number): Decision | Promise<Decision> {
    const cache = this.rt.overLimit;
    const fp = fingerprint(checks);
    const e = depth < MAX_WAITS ? cache.get(fp) : undefined;
    if (e !== undefined) {
      if (now < e.until) {
        this.rt.localRefusals.inc({});
        return this.finish(ctx, store, checks, owners, agedResult(e, now));
      }
      if (e.probe !== null) {
        e.waiters++;
        return e.probe.then(() => {
          e.waiters--;
          return this.shared(ctx, store, checks, owners, this.rt.services.clock(), depth + 1);
        });
      }
      let done = (): void => undefined;
      e.probe = new Promise<void>((resolve) => {
        done = resolve;
      });
      return store.limit(checks, now).then(
        (r) => {
          e.probe = null;
          cache.learn(fp, checks, r, now);
          done();
          return this.decided(ctx, store, checks, owners, r, now);
        },
        (err: unknown) => {
          e.probe = null;
          cache.forget(fp);
          done();
          return this.degraded(ctx, checks, owners, err, now);
        },
      );
    }
    return store.limit(checks, now).then(
      (r) => {
        cache.learn(fp, checks, r, now);
        return this.decided(ctx, store, checks, owners, r, now);
      },
      (err: unknown) => this.degraded(ctx, checks, owners, err, now),
    );
  }

  /**
   * A store decision; on Redis Cluster with a master down, the checks it could not reach follow
   * their on_store_failure policy (fail closed: 503; open: decided locally), and what the reachable
   * ones took is given back when the request is refused after all.
   */
  private decided(ctx: RequestContext, store: StateStore, checks: LimitCheck[], owners: Owner[], r: LimitResult, now: number): Decision | Promise<Decision> {
    const un = r.unavailable;
    if (un === undefined) return this.finish(ctx, store, checks, owners, r);
    const err = new Error('a Redis Cluster master is unreachable');
    for (let i = 0; i < owners.length; i++) {
      const o = owners[i]!;
      if (!un[i] || !o.limit.enforce || o.limit.failOpen) continue;
      this.rt.degraded('closed', err);
      const refusal = deny('PC_ERR_LIMIT_UNAVAILABLE', { headers: RETRY_503, reason: `store unavailable; limit ${o.limit.name} fails closed` });
      return r.allowed && store.giveBack ? store.giveBack(checks, r, now).then(() => refusal) : refusal;
    }
    this.rt.degraded('open', err);
    const idx: number[] = [];
    for (let i = 0; i < checks.length; i++) if (un[i]) idx.push(i);
    const local = this.rt.local;
    const lr = local.limitSync(
      idx.map((i) => checks[i]!),
      now,
    );
    const merged = r.checks.slice();
    idx.forEach((i, j) => {
      merged[i] = lr.checks[j]!;
    });
    if (lr.lease !== null) {
      const lease = lr.lease;
      if (r.allowed) ctx.onCleanup(() => local.release(lease));
      else local.release(lease);
    }
    const result: LimitResult = { allowed: r.allowed && lr.allowed, checks: merged, lease: r.allowed && lr.allowed ? r.lease : null };
    if (r.allowed && !lr.allowed && store.giveBack) return store.giveBack(checks, r, now).then(() => this.finish(ctx, store, checks, owners, result));
    return this.finish(ctx, store, checks, owners, result);
  }

  /** The shared store is down: fail-closed limits answer 503, the others are enforced locally. */
  private degraded(ctx: RequestContext, checks: LimitCheck[], owners: Owner[], err: unknown, now: number): Decision {
    for (let i = 0; i < owners.length; i++) {
      const o = owners[i]!;
      if (o.limit.enforce && !o.limit.failOpen) {
        this.rt.degraded('closed', err);
        return deny('PC_ERR_LIMIT_UNAVAILABLE', { headers: RETRY_503, reason: `store unavailable; limit ${o.limit.name} fails closed` });
      }
    }
    this.rt.degraded('open', err);
    const local = this.rt.local;
    return this.finish(ctx, local, checks, owners, local.limitSync(checks, now));
  }

  private finish(ctx: RequestContext, store: StateStore, checks: LimitCheck[], owners: Owner[], r: LimitResult): Decision {
    const lease = r.lease;
    if (lease !== null) {
      if (ctx.res.closed) {
        // the client left while the store decided: the exchange's cleanups already ran
        store.release(lease);
      } else {
        let done = false;
        ctx.onCleanup(() => {
          if (done) return;
          done = true;
          store.release(lease);
        });
      }
    }
    if (this.g.cfg.headers) {
      let policy = '';
      let limit = '';
      for (let i = 0; i < checks.length; i++) {
        if (!checks[i]!.enforce) continue;
        const o = owners[i]!;
        const res = r.checks[i]!;
        if (policy !== '') {
          policy += ', ';
          limit += ', ';
        }
        policy += o.policy;
        limit += limitItem(o.policyName, res, o.kind !== 'concurrency');
      }
      if (policy !== '') {
        appendHeader(ctx, HDR_POLICY, policy);
        appendHeader(ctx, HDR_LIMIT, limit);
      }
    }
    for (let i = 0; i < checks.length; i++) {
      const res = r.checks[i]!;
      if (res.ok || checks[i]!.enforce) continue;
      const o = owners[i]!;
      const code = DENY_CODE[o.kind];
      ctx.recordMonitor(this.id, deny(code, { reason: `limit ${o.limit.name}` }));
      this.rt.services.metrics.monitored.inc({ stage: this.id, code });
    }
    if (r.allowed) return undefined;
    const enforce = checks.map((c) => c.enforce);
    const i = pickRefusal(enforce, r.checks);
    if (i === -1) return undefined; // cannot happen: refused means an enforced check failed
    const o = owners[i]!;
    const code = DENY_CODE[o.kind];
    this.rt.denials.inc({ limit: o.limit.name, code });
    return deny(code, {
      headers: { 'retry-after': String(retryAfterSeconds(r.checks[i]!.retryMs)) },
      reason: `limit ${o.limit.name}`,
    });
  }
}

function scaledPolicy(name: string, s: { intervalMs: number; burst: number }): string {
  return policyItem(name, s.burst, bucketWindowSeconds(s.burst, s.intervalMs));
}

const ADAPTIVE_KEY = 'rate-limit.adaptive:';

function adaptiveFor(services: Services, g: GlobalPlan, route: RouteConfig): AdaptiveController | null {
  const cfg: AdaptiveConfig | undefined = g.cfg.adaptive[route.upstream];
  if (!cfg) return null;
  const gauge = services.metrics.gauge('portcullis_ratelimit_adaptive_factor', 'Current factor applied to rates of routes to this upstream (1: full rate).', [
    'upstream',
  ]);
  const c = services.keep(`${ADAPTIVE_KEY}${route.upstream}`, () => {
    gauge.set({ upstream: route.upstream }, 1);
    return new AdaptiveController(cfg, (f) => gauge.set({ upstream: route.upstream }, f));
  });
  c.configure(cfg);
  return c;
}

function runtimeFor(services: Services, config: Record<string, unknown>): Runtime {
  const rt = services.keep('rate-limit.runtime', () => new Runtime(services));
  const state = config['state'] as { memory?: { max_entries?: number } } | undefined;
  rt.maxEntries = state?.memory?.max_entries ?? DEFAULT_MAX_ENTRIES;
  return rt;
}

/** Phase pre-auth: limits keyed by client IP (without consumer, tenant or claim parts). */
export const preAuthLimitModule: StageModule = {
  id: 'limit.pre-auth',
  phase: 'pre-auth',
  order: 100,
  create(env): StageInstance {
    const g = globalPlan(env.config);
    const rt = runtimeFor(env.services, env.config);
    return {
      forRoute(route) {
        const p = routePlan(g, route);
        if (p.preAuth.length === 0) return null;
        return new LimitStage(rt, g, p.routeId, 'limit.pre-auth', 'pre-auth', p.preAuth, false, adaptiveFor(env.services, g, route));
      },
    };
  },
};

/** Phase limits: per consumer, tenant, route, method, header and claim; plans and tenants; the adaptive feed. */
export const rateLimitModule: StageModule = {
  id: 'limit.rate',
  phase: 'limits',
  order: 100,
  schema: {
    global: { rate_limits: RATE_LIMITS_SCHEMA },
    route: { rate_limit: ROUTE_RATE_LIMIT_SCHEMA },
  },
  check(config, env) {
    checkRateLimits(config, env.file);
  },
  async create(env): Promise<StageInstance> {
    const g = globalPlan(env.config);
    const rt = runtimeFor(env.services, env.config);
    await rt.storeReady();
    // the adaptive feed: each finished exchange of a route whose upstream has adaptive limits
    const feeds = new Map<string, AdaptiveController>();
    const services = env.services;
    const observe: StageInstance['observe'] = (r, ctx) => {
      if (ctx === null || r.routeId === null) return;
      const adaptive = feeds.get(r.routeId);
      // only what the upstream did counts: its responses and its failures, not gateway-side refusals
      if (adaptive === undefined || r.upstream === null || (r.upstreamLatencyMs === null && !ctx.upstreamFault)) return;
      adaptive.observe(r.upstreamLatencyMs, ctx.res.statusCode >= 500, services.clock());
    };
    return {
      // registered only when some upstream has adaptive limits: observers make every request build its record
      ...(Object.keys(g.cfg.adaptive).length > 0 ? { observe } : {}),
      forRoute(route) {
        const p = routePlan(g, route);
        if (p.off) return null;
        const adaptive = adaptiveFor(env.services, g, route);
        if (adaptive !== null) feeds.set(route.id, adaptive);
        if (p.limits.length === 0 && !p.dynamic && adaptive === null) return null;
        return new LimitStage(rt, g, p.routeId, 'limit.rate', 'limits', p.limits, p.dynamic, adaptive);
      },
    };
  },
};

export const RATE_LIMIT_MODULES: readonly StageModule[] = [preAuthLimitModule, rateLimitModule];
