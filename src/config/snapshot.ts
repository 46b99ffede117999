/**
 * Compiles a loaded config into an immutable snapshot: routes with their stage chains, upstream
 * groups, trusted proxies. Expensive work happens here, once; requests only read the snapshot.
 * A reload builds a new snapshot and swaps it atomically; in-flight requests keep theirs.
 */
import type { LoadedConfig } from './load.js';
import { configErrorAt } from './load.js';
import { ConfigErrors, type ConfigError } from './errors.js';
import type { BodyConfig, CanonicalConfig, RouteConfig, UpstreamConfig } from '../core/config.js';
import type { MalformedRequest, MalformedVerdict, RouteStage, StageInstance, StageModule, StageEnv } from '../core/stage.js';
import type { Services } from '../core/services.js';
import { PHASE_INDEX, type Phase } from '../core/phases.js';
import type { Decision } from '../core/decision.js';
import type { RequestContext } from '../core/context.js';
import { authQueryParams, QueryRedaction } from '../observe/query-redaction.js';
import { adminExposureError } from '../admin/access.js';
import { Router } from '../router/router.js';
import type { CompiledRoute } from '../router/route.js';
import { UpstreamGroup } from '../proxy/upstream.js';
import { TrustedProxies } from '../proxy/client-ip.js';
import { CLIENT_OVERRIDE_HEADERS, CORE_IDENTITY_HEADERS, notForwardedHeaders, notReturnedHeaders } from '../proxy/headers.js';
import { FOLD_ALL, type PathFolding } from '../router/router.js';
import { compileBodyPolicy } from '../body/request-body.js';
import type { AccessRecord } from '../core/record.js';

export interface Snapshot {
  readonly id: number;
  readonly file: string;
  readonly hash: string;
  readonly config: CanonicalConfig;
  readonly router: Router<CompiledRoute>;
  readonly routes: readonly CompiledRoute[];
  readonly upstreams: ReadonlyMap<string, UpstreamGroup>;
  readonly trusted: TrustedProxies;
  /** request header names never copied upstream (proxy/headers.ts notForwardedHeaders) */
  readonly notForwarded: ReadonlySet<string>;
  /** upstream response header names never sent to clients (hop-by-hop and responses.strip_headers) */
  readonly notReturned: ReadonlySet<string>;
  /** responses.upstream_5xx is `replace` */
  readonly replace5xx: boolean;
  /** secret query parameters, redacted wherever a query is logged (observe/query-redaction.ts) */
  readonly redactQuery: QueryRedaction;
  /** request_id.header, lowercase (as Node gives incoming header names) */
  readonly requestIdHeader: string;
  readonly instances: readonly StageInstance[];
  /** instance hooks that run for every request before routing */
  readonly clientChecks: readonly ((ctx: RequestContext) => Decision | Promise<Decision>)[];
  /** instance hooks that run for every finished exchange */
  readonly observers: readonly ((ctx: RequestContext) => void)[];
  /** instance hooks that inspect requests the HTTP parser refused (src/core/malformed.ts) */
  readonly malformedInspectors: readonly ((raw: MalformedRequest, requestId: string) => MalformedVerdict | null)[];
  /** stages' observeRefused hooks, for requests the HTTP parser refused */
  readonly refusedObservers: readonly ((r: AccessRecord) => void)[];
  inFlight: number;
}

/** Upstream groups that survive reloads while their config is unchanged. */
export class UpstreamCache {
  private readonly groups = new Map<string, UpstreamGroup>();

  get(name: string, cfg: UpstreamConfig, services: Services, onUnhealthy: ((u: string, t: string) => void) | null): UpstreamGroup {
    const key = `${name}\u0000${JSON.stringify(cfg)}`;
    let g = this.groups.get(key);
    if (!g) {
      g = new UpstreamGroup(name, cfg, services.metrics, services.logger);
      g.onUnhealthy = onUnhealthy;
      this.groups.set(key, g);
    }
    return g;
  }

  /** Closes groups that no live snapshot uses. */
  async prune(live: readonly Snapshot[]): Promise<void> {
    const used = new Set<UpstreamGroup>();
    for (const s of live) for (const g of s.upstreams.values()) used.add(g);
    const closing: Promise<void>[] = [];
    for (const [k, g] of this.groups) {
      if (!used.has(g)) {
        this.groups.delete(k);
        closing.push(g.close());
      }
    }
    await Promise.all(closing);
  }

  async closeAll(): Promise<void> {
    await Promise.all([...this.groups.values()].map((g) => g.close()));
    this.groups.clear();
  }
}

function compileRewrite(tpl: string): (params: Record<string, string>) => string {
  const parts = tpl.split(/\{([A-Za-z_][A-Za-z0-9_.-]*)\}/g);
  return (params) => {
    let out = '';
    for (let i = 0; i < parts.length; i++) out += i % 2 === 1 ? encodeURIComponent(params[parts[i] as string] ?? '') : (parts[i] as string);
    return out;
  };
}

let nextId = 1;

export async function compileSnapshot(
  loaded: LoadedConfig,
  modules: readonly StageModule[],
  services: Services,
  upstreams: UpstreamCache,
  onUnhealthy: ((u: string, t: string) => void) | null = null,
): Promise<Snapshot> {
  const { config, file, baseDir } = loaded;
  const base = { file, baseDir, services };
  for (const m of modules) if (m.prepare) await m.prepare(config, base);
  for (const m of modules) m.check?.(config, base);

  const errors: ConfigError[] = [];
  const ids = new Set<string>();
  config.routes.forEach((r, i) => {
    if (ids.has(r.id)) errors.push(configErrorAt(file, ['routes', i, 'id'], `duplicate route id '${r.id}'`));
    ids.add(r.id);
    if (!(r.upstream in config.upstreams)) errors.push(configErrorAt(file, ['routes', i, 'upstream'], `unknown upstream '${r.upstream}'`));
  });
  let trusted: TrustedProxies;
  try {
    trusted = new TrustedProxies(config.trusted_proxies, config.client_ip.header);
  } catch (e) {
    errors.push(configErrorAt(file, ['trusted_proxies'], (e as Error).message));
    trusted = new TrustedProxies([]);
  }
  const names = new Set<string>();
  config.listeners.forEach((l, i) => {
    l.name ??= `${l.address}:${l.port}`;
    if (names.has(l.name)) errors.push(configErrorAt(file, ['listeners', i, 'name'], `duplicate listener name '${l.name}'`));
    names.add(l.name);
    if (l.tls && l.tls.client_auth !== 'none' && !l.tls.ca) errors.push(configErrorAt(file, ['listeners', i, 'tls'], 'client_auth needs a `ca` bundle'));
  });
  const exposed = adminExposureError(config.admin);
  if (exposed !== null) errors.push(configErrorAt(file, ['admin', 'address'], exposed));
  if (errors.length > 0) throw new ConfigErrors(errors);

  // every credential parameter the config reads from the query is redacted, whatever the route
  const redactQuery = new QueryRedaction([
    ...config.access_log.redact_query,
    ...authQueryParams(config),
    ...modules.flatMap((m) => m.credentialQueryParams?.(config) ?? []),
  ]);
  const env: StageEnv = { config, ...base, redactQuery };
  const ordered = [...modules].sort((a, b) => PHASE_INDEX[a.phase] - PHASE_INDEX[b.phase] || a.order - b.order);
  const instances: StageInstance[] = [];
  try {
    for (const m of ordered) instances.push(await m.create(env));
  } catch (e) {
    await Promise.all(instances.map((i) => i.close?.()));
    throw e;
  }

  const groups = new Map<string, UpstreamGroup>();
  for (const [name, cfg] of Object.entries(config.upstreams)) groups.set(name, upstreams.get(name, cfg, services, onUnhealthy));

  const router = new Router<CompiledRoute>();
  const routes: CompiledRoute[] = [];
  const folding = new Map<string, PathFolding>();
  for (const [name, u] of Object.entries(config.upstreams)) {
    const pm = u.path_matching ?? { case: 'insensitive', trailing_slash: 'ignored' };
    folding.set(name, pm.case === 'insensitive' && pm.trailing_slash === 'ignored' ? FOLD_ALL : { case: pm.case === 'insensitive', trailingSlash: pm.trailing_slash === 'ignored' });
  }
  for (const rc of config.routes) {
    const stages: RouteStage[] = [];
    for (const inst of instances) {
      const s = inst.forRoute(rc as RouteConfig);
      if (s && s.mode !== 'off') stages.push(s);
    }
    const byPhase = new Map<Phase, RouteStage[]>();
    for (const s of stages) {
      const list = byPhase.get(s.phase) ?? [];
      list.push(s);
      byPhase.set(s.phase, list);
    }
    const requestStages = stages.filter((s) => s.run !== undefined && s.phase !== 'respond' && s.phase !== 'observe');
    const respondStages = stages.filter((s) => s.onResponse !== undefined || s.onResponseBody !== undefined);
    const maxBodyBytes = rc.max_body_bytes ?? config.limits.max_body_bytes;
    const route: CompiledRoute = {
      id: rc.id,
      config: rc,
      upstream: groups.get(rc.upstream) as UpstreamGroup,
      methods: rc.match.methods && rc.match.methods.length > 0 ? new Set(rc.match.methods) : null,
      maxBodyBytes,
      body: compileBodyPolicy(config.limits.body, rc.body, rc['validate'] as { json?: Partial<BodyConfig['json']>; max_form_params?: number } | undefined, maxBodyBytes),
      stripPrefix: rc.strip_prefix ?? null,
      rewrite: rc.rewrite ? compileRewrite(rc.rewrite) : null,
      requestStages,
      respondStages,
      finishStages: stages.filter((s) => s.onFinish !== undefined),
      needsBody: requestStages.some((s) => s.needsBody === true),
      needsResponseBody: respondStages.some((s) => s.needsResponseBody === true),
      phases: byPhase,
    };
    routes.push(route);
    router.add({
      value: route,
      hosts: rc.match.hosts ?? null,
      methods: route.methods,
      fold: folding.get(rc.upstream) as PathFolding,
      ...(rc.match.path !== undefined ? { path: rc.match.path } : {}),
      ...(rc.match.prefix !== undefined ? { prefix: rc.match.prefix } : {}),
    });
  }

  const strip = new Set<string>(CORE_IDENTITY_HEADERS);
  for (const inst of instances) for (const h of inst.upstreamHeaderNames ?? []) strip.add(h.toLowerCase());
  const keep = new Set(config.client_headers.keep.map((h) => h.toLowerCase()));
  for (const h of CLIENT_OVERRIDE_HEADERS) if (!keep.has(h)) strip.add(h);
  for (const h of config.client_headers.strip) strip.add(h.toLowerCase());

  const requestIdHeader = config.request_id.header.toLowerCase();
  return {
    id: nextId++,
    file,
    hash: loaded.hash,
    config,
    router,
    routes,
    upstreams: groups,
    trusted,
    notForwarded: notForwardedHeaders(strip, requestIdHeader),
    notReturned: notReturnedHeaders(config.responses.strip_headers),
    replace5xx: config.responses.upstream_5xx === 'replace',
    redactQuery,
    requestIdHeader,
    instances,
    clientChecks: instances.filter((i) => i.checkClient).map((i) => (ctx: RequestContext) => (i.checkClient as (c: RequestContext) => Decision | Promise<Decision>)(ctx)),
    observers: instances.filter((i) => i.observe).map((i) => (ctx: RequestContext) => (i.observe as (c: RequestContext) => void)(ctx)),
    malformedInspectors: instances
      .filter((i) => i.inspectMalformed)
      .map((i) => (raw: MalformedRequest, id: string) => (i.inspectMalformed as NonNullable<StageInstance['inspectMalformed']>)(raw, id)),
    refusedObservers: instances.filter((i) => i.observeRefused).map((i) => (r: AccessRecord) => (i.observeRefused as (x: AccessRecord) => void)(r)),
    inFlight: 0,
  };
}
