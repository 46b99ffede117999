/**
 * Compiles the `rate_limits` section and each route's `rate_limit` key once per snapshot into
 * limit descriptions the request path only reads. Both stage modules (pre-auth and limits) share
 * one compilation per config object.
 */
import type { CanonicalConfig, RouteConfig } from '../../core/config.js';
import type { Mode } from '../../core/phases.js';
import type { AdaptiveConfig } from './adaptive.js';
import { ClientKeys, DEFAULT_PREFIXES } from '../../core/ip.js';
import { bucketWindowSeconds, parseRate, policyItem, quotaWindow, type QuotaPeriod, type Window } from './decide.js';

export interface LimitDef {
  name: string;
  key: string[];
  rate?: string | { requests: number; per: string };
  burst?: number;
  quota?: { requests: number; per: QuotaPeriod };
  concurrency?: number;
  lease_ms?: number;
  methods?: string[];
  phase?: 'pre-auth' | 'limits';
  on_store_failure?: 'open' | 'closed';
  mode?: Mode;
}

export interface RouteLimitsObject {
  limits?: LimitDef[];
  global?: boolean;
  mode?: Mode;
}

export interface RateLimitsConfig {
  mode: Mode;
  headers: boolean;
  limits: LimitDef[];
  plans: Record<string, LimitDef[]>;
  default_plan?: string;
  tenants: Record<string, LimitDef[]>;
  adaptive: Record<string, AdaptiveConfig>;
}

export type KeyPart =
  | { readonly t: 'ip' | 'consumer' | 'tenant' | 'route' | 'method'; readonly label: string }
  | { readonly t: 'header' | 'claim'; readonly label: string; readonly name: string };

export type LimitPhase = 'pre-auth' | 'limits';

export interface CompiledLimit {
  readonly name: string;
  /** `g` global, `r.<route>`, `p.<plan>`, `t.<tenant>` */
  readonly scope: string;
  /** `<scope>:<name>:`, the start of every state key of this limit */
  readonly prefix: string;
  readonly parts: readonly KeyPart[];
  /**
   * The part naming the identity the limit counts (consumer, claim, header, ip, tenant, in that
   * order of preference), whose value tags the state keys on Redis Cluster: the limits of one
   * identity share a slot. -1: none (the key itself is the tag).
   */
  readonly tagPart: number;
  readonly methods: ReadonlySet<string> | null;
  readonly phase: LimitPhase;
  readonly bucket: { readonly intervalMs: number; readonly burst: number; readonly policyName: string; readonly policy: string } | null;
  readonly quota: { readonly limit: number; readonly per: QuotaPeriod; readonly policyName: string; win: Window | null } | null;
  readonly concurrency: { readonly max: number; readonly leaseMs: number; readonly policyName: string; readonly policy: string } | null;
  readonly failOpen: boolean;
  readonly enforce: boolean;
}

export const DEFAULT_LEASE_MS = 120000;

const PRINCIPAL_PARTS = new Set(['consumer', 'tenant']);

export function usesPrincipal(key: readonly string[]): boolean {
  return key.some((k) => PRINCIPAL_PARTS.has(k) || k.startsWith('claim:'));
}

/** The phase a limit runs in (see the `phase` description in schema.ts). */
export function limitPhase(def: LimitDef, scope: string): LimitPhase {
  if (def.phase) return def.phase;
  if (scope.startsWith('p.') || scope.startsWith('t.')) return 'limits';
  if (usesPrincipal(def.key)) return 'limits';
  return def.key.includes('ip') ? 'pre-auth' : 'limits';
}

function compilePart(k: string): KeyPart {
  const i = k.indexOf(':');
  if (i === -1) return { t: k as 'ip', label: `${k}=` };
  const t = k.slice(0, i) as 'header' | 'claim';
  const name = t === 'header' ? k.slice(i + 1).toLowerCase() : k.slice(i + 1);
  return { t, name, label: `${t}.${name}=` };
}

/**
 * The methods a limit counts: as listed, and HEAD wherever GET is listed. A GET route serves HEAD
 * (the router allows it) and upstream frameworks run HEAD as GET, so a GET limit must count it; a
 * limit that lists HEAD alone counts HEAD only (in addition to the GET limits).
 */
export function methodSet(methods: readonly string[]): ReadonlySet<string> {
  const s = new Set(methods);
  if (s.has('GET')) s.add('HEAD');
  return s;
}

/** Compiles one definition; `null` when its mode is off. Throws on a definition check() should have refused. */
export function compileLimit(def: LimitDef, scope: string, defaultMode: Mode): CompiledLimit | null {
  const mode = def.mode ?? defaultMode;
  if (mode === 'off') return null;
  let bucket: CompiledLimit['bucket'] = null;
  if (def.rate !== undefined) {
    const rate = parseRate(def.rate);
    if (!rate) throw new Error(`limit ${def.name}: bad rate`);
    const burst = def.burst ?? Math.max(1, Math.ceil(rate.requests));
    const intervalMs = rate.periodMs / rate.requests;
    bucket = { intervalMs, burst, policyName: def.name, policy: policyItem(def.name, burst, bucketWindowSeconds(burst, intervalMs)) };
  }
  const quota: CompiledLimit['quota'] = def.quota
    ? { limit: def.quota.requests, per: def.quota.per, policyName: bucket ? `${def.name}.quota` : def.name, win: null }
    : null;
  let concurrency: CompiledLimit['concurrency'] = null;
  if (def.concurrency !== undefined) {
    const policyName = bucket || quota ? `${def.name}.concurrency` : def.name;
    concurrency = {
      max: def.concurrency,
      leaseMs: def.lease_ms ?? DEFAULT_LEASE_MS,
      policyName,
      policy: policyItem(policyName, def.concurrency, null, 'concurrent-requests'),
    };
  }
  return {
    name: def.name,
    scope,
    prefix: `${scope}:${def.name}:`,
    parts: def.key.map(compilePart),
    tagPart: tagPartOf(def.key),
    methods: def.methods && def.methods.length > 0 ? methodSet(def.methods) : null,
    phase: limitPhase(def, scope),
    bucket,
    quota,
    concurrency,
    failOpen: (def.on_store_failure ?? 'open') === 'open',
    enforce: mode === 'enforce',
  };
}

const TAG_PREFERENCE = ['consumer', 'claim', 'header', 'ip', 'tenant'];

/** Index of the key part that tags a limit's state keys (see CompiledLimit.tagPart). */
export function tagPartOf(key: readonly string[]): number {
  for (const t of TAG_PREFERENCE) {
    const i = key.findIndex((k) => k === t || k.startsWith(`${t}:`));
    if (i !== -1) return i;
  }
  return -1;
}

/** The quota window of a limit at `now`, cached on the limit until it ends. */
export function windowOf(q: NonNullable<CompiledLimit['quota']>, now: number): Window {
  const w = q.win;
  if (w !== null && now >= w.start && now < w.resetAt) return w;
  return (q.win = quotaWindow(now, q.per));
}

/** The quota's RateLimit-Policy item for a window. */
export function quotaPolicy(q: NonNullable<CompiledLimit['quota']>, w: Window): string {
  return policyItem(q.policyName, q.limit, Math.round((w.resetAt - w.start) / 1000));
}

export interface GlobalPlan {
  readonly cfg: RateLimitsConfig;
  /** the client key of an address (`client_ip` prefixes, shared with abuse counters and bans) */
  readonly keys: ClientKeys;
  readonly global: readonly CompiledLimit[];
  readonly plans: ReadonlyMap<string, readonly CompiledLimit[]>;
  readonly tenants: ReadonlyMap<string, readonly CompiledLimit[]>;
  readonly defaultPlan: string | null;
  readonly routes: WeakMap<RouteConfig, RoutePlan>;
}

export interface RoutePlan {
  readonly routeId: string;
  readonly off: boolean;
  /** plan and tenant limits apply (they run in the limits phase) */
  readonly dynamic: boolean;
  readonly preAuth: readonly CompiledLimit[];
  readonly limits: readonly CompiledLimit[];
}

/** Fills the defaults a JSON Schema `oneOf` does not apply. */
export function rateLimitsConfig(config: CanonicalConfig): RateLimitsConfig {
  const raw = (config['rate_limits'] ?? {}) as Partial<RateLimitsConfig>;
  return {
    mode: raw.mode ?? 'enforce',
    headers: raw.headers ?? true,
    limits: raw.limits ?? [],
    plans: raw.plans ?? {},
    ...(raw.default_plan !== undefined ? { default_plan: raw.default_plan } : {}),
    tenants: raw.tenants ?? {},
    adaptive: raw.adaptive ?? {},
  };
}

const plans = new WeakMap<CanonicalConfig, GlobalPlan>();

function compileList(defs: readonly LimitDef[], scope: string, mode: Mode): CompiledLimit[] {
  const out: CompiledLimit[] = [];
  for (const d of defs) {
    const c = compileLimit(d, scope, mode);
    if (c) out.push(c);
  }
  return out;
}

export function globalPlan(config: CanonicalConfig): GlobalPlan {
  let p = plans.get(config);
  if (p) return p;
  const cfg = rateLimitsConfig(config);
  p = {
    cfg,
    keys: new ClientKeys(config.client_ip ?? DEFAULT_PREFIXES),
    global: compileList(cfg.limits, 'g', cfg.mode),
    plans: new Map(Object.entries(cfg.plans).map(([k, v]) => [k, compileList(v, `p.${k}`, cfg.mode)])),
    tenants: new Map(Object.entries(cfg.tenants).map(([k, v]) => [k, compileList(v, `t.${k}`, cfg.mode)])),
    defaultPlan: cfg.default_plan ?? null,
    routes: new WeakMap(),
  };
  plans.set(config, p);
  return p;
}

/** The route's `rate_limit` key normalised: off, or { limits, global, mode }. */
export function routeSection(route: RouteConfig): { off: boolean; limits: LimitDef[]; global: boolean; mode: Mode | undefined } {
  const v = route['rate_limit'];
  if (v === 'off') return { off: true, limits: [], global: false, mode: undefined };
  if (Array.isArray(v)) return { off: false, limits: v as LimitDef[], global: true, mode: undefined };
  if (v && typeof v === 'object') {
    const o = v as RouteLimitsObject;
    return { off: false, limits: o.limits ?? [], global: o.global ?? true, mode: o.mode };
  }
  return { off: false, limits: [], global: true, mode: undefined };
}

export function routePlan(g: GlobalPlan, route: RouteConfig): RoutePlan {
  let p = g.routes.get(route);
  if (p) return p;
  const sec = routeSection(route);
  const own = compileList(sec.limits, `r.${route.id}`, sec.mode ?? g.cfg.mode);
  const all = sec.off ? [] : sec.global ? [...g.global, ...own] : own;
  p = {
    routeId: route.id,
    off: sec.off,
    dynamic: !sec.off && sec.global && (g.plans.size > 0 || g.tenants.size > 0),
    preAuth: all.filter((l) => l.phase === 'pre-auth'),
    limits: all.filter((l) => l.phase === 'limits'),
  };
  g.routes.set(route, p);
  return p;
}
