/**
 * Compiles a loaded config into an immutable snapshot (src/core/snapshot.ts): the intake reader,
 * the router, each route's stage chain, body reader and forwarder, the upstream groups, trusted
 * proxies. Expensive work happens here, once; requests only read the snapshot. A reload builds a
 * new snapshot and swaps it atomically; in-flight requests keep theirs.
 */
import type { LoadedConfig } from './load.js';
import { ConfigErrors, configErrorAt, type ConfigError } from './errors.js';
import type { BodyConfig, RouteConfig, UpstreamConfig } from '../core/config.js';
import type { RouteStage, StageInstance, StageModule, StageEnv } from '../core/stage.js';
import type { Services } from '../core/services.js';
import { PHASE_INDEX } from '../core/phases.js';
import type { Decision } from '../core/decision.js';
import type { AccessRecord } from '../core/record.js';
import type { BodyReader, CompiledRoute, ExchangeObserver, Snapshot } from '../core/stage.js';
import { alertsObserver } from '../observe/alerts.js';
import { liveObserver } from '../observe/live.js';
import type { AlertsConfig } from '../observe/alerts/schema.js';
import { authQueryParams, QueryRedaction } from '../observe/query-redaction.js';
import { adminExposureError, tenantTokenErrors } from '../admin/access.js';
import { configuredTenants } from '../observe/tenant-metrics.js';
import { FOLD_ALL, Router, type PathFolding } from '../router/router.js';
import { UpstreamGroup } from '../proxy/upstream.js';
import { TrustedProxies } from '../proxy/client-ip.js';
import { CLIENT_OVERRIDE_HEADERS, notForwardedHeaders, notReturnedHeaders } from '../proxy/headers.js';
import { IDENTITY_HEADERS } from '../core/principal.js';
import { UpstreamForwarder, type ForwardSettings } from '../proxy/forward.js';
import { WebSocketUpgrader } from '../websocket/upgrader.js';
import type { WebSocketRouteConfig } from '../websocket/schema.js';
import { GrpcForwarder } from '../grpc/forward.js';
import { compileBodyPolicy, stepBody } from '../body/request-body.js';
import { createIntake } from '../intake/read.js';
import { createTracing, TRACE_HEADERS, tracingConfig } from '../observe/tracing/index.js';
import { composeSchema } from './schema.js';
import type { JsonSchema } from '../core/json-schema.js';
import type { RequestContext } from '../core/stage.js';

/** The snapshot as compiled: the kernel's view and what the gateway itself uses. */
export interface CompiledSnapshot extends Snapshot {
  readonly upstreams: ReadonlyMap<string, UpstreamGroup>;
  /** releases what the snapshot holds (its stage instances, its alert rules); when it is retired */
  close(): Promise<void>;
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
  async prune(live: readonly CompiledSnapshot[]): Promise<void> {
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

  /** Cuts every group's connections at once (closeAll waits for requests to finish). */
  destroyAll(): void {
    for (const g of this.groups.values()) g.destroy();
    this.groups.clear();
  }
}

let nextId = 1;

export async function compileSnapshot(
  loaded: LoadedConfig,
  modules: readonly StageModule[],
  services: Services,
  upstreams: UpstreamCache,
  onUnhealthy: ((u: string, t: string) => void) | null = null,
): Promise<CompiledSnapshot> {
  const { config, file, baseDir } = loaded;
  const base = { file, baseDir, services };
  const routeSchema = (composeSchema(modules) as { properties: { routes: { items: JsonSchema } } }).properties.routes.items;
  for (const m of modules) if (m.prepare) await m.prepare(config, { ...base, routeSchema });
  for (const m of modules) m.check?.(config, base);

  const errors: ConfigError[] = [];
  // order between stages is data: two stages of one phase with one order have no order at all
  const slots = new Map<string, string>();
  for (const m of modules) {
    const slot = `${m.phase}:${m.order}`;
    const other = slots.get(slot);
    if (other !== undefined) throw new Error(`stages '${other}' and '${m.id}' both run in phase ${m.phase} at order ${m.order}: give one another order`);
    slots.set(slot, m.id);
  }
  const ids = new Set<string>();
  config.routes.forEach((r, i) => {
    if (ids.has(r.id)) errors.push(configErrorAt(file, ['routes', i, 'id'], `duplicate route id '${r.id}'`));
    ids.add(r.id);
    if (!(r.upstream in config.upstreams)) errors.push(configErrorAt(file, ['routes', i, 'upstream'], `unknown upstream '${r.upstream}'`));
    else if (r.protocol === 'grpc' && config.upstreams[r.upstream]?.protocol !== 'h2')
      errors.push(configErrorAt(file, ['routes', i, 'protocol'], `gRPC needs HTTP/2 to the upstream: give upstream '${r.upstream}' \`protocol: h2\``));
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
    if (!l.tls && l.protocols.includes('h2') && l.protocols.includes('http/1.1'))
      errors.push(
        configErrorAt(
          file,
          ['listeners', i, 'protocols'],
          'without tls a listener serves one of http/1.1 and h2 (h2c with prior knowledge): there is no ALPN to choose',
        ),
      );
  });
  const exposed = adminExposureError(config.admin);
  if (exposed !== null) errors.push(configErrorAt(file, ['admin', 'address'], exposed));
  const tenantIds = configuredTenants(config);
  for (const e of tenantTokenErrors(config.admin, tenantIds)) errors.push(configErrorAt(file, e.path, e.message));
  (config.alerts as AlertsConfig).rules.forEach((r, i) => {
    if (r.tenant !== undefined && !tenantIds.includes(r.tenant))
      errors.push(configErrorAt(file, ['alerts', 'rules', i, 'tenant'], `unknown tenant '${r.tenant}' (not in tenants)`));
  });
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

  const strip = new Set<string>(IDENTITY_HEADERS);
  for (const inst of instances) for (const h of inst.upstreamHeaderNames ?? []) strip.add(h.toLowerCase());
  const keep = new Set(config.client_headers.keep.map((h) => h.toLowerCase()));
  for (const h of CLIENT_OVERRIDE_HEADERS) if (!keep.has(h)) strip.add(h);
  for (const h of config.client_headers.strip) strip.add(h.toLowerCase());
  // with tracing on, the gateway writes the trace headers: what the client sent is never forwarded
  if (tracingConfig(config) !== null) for (const h of TRACE_HEADERS) strip.add(h);
  const requestIdHeader = config.request_id.header.toLowerCase();
  const forwarding: ForwardSettings = {
    notForwarded: notForwardedHeaders(strip, requestIdHeader),
    notReturned: notReturnedHeaders(config.responses.strip_headers),
    replace5xx: config.responses.upstream_5xx === 'replace',
    requestIdHeader,
    trusted,
    metrics: services.metrics,
    logger: services.logger,
  };

  const router = new Router<CompiledRoute>();
  const routes: CompiledRoute[] = [];
  const folding = new Map<string, PathFolding>();
  for (const [name, u] of Object.entries(config.upstreams)) {
    const pm = u.path_matching ?? { case: 'insensitive', trailing_slash: 'ignored' };
    folding.set(
      name,
      pm.case === 'insensitive' && pm.trailing_slash === 'ignored'
        ? FOLD_ALL
        : { case: pm.case === 'insensitive', trailingSlash: pm.trailing_slash === 'ignored' },
    );
  }
  for (const rc of config.routes) {
    const stages: RouteStage[] = [];
    for (const inst of instances) {
      const s = inst.forRoute(rc as RouteConfig);
      if (s && s.mode !== 'off') stages.push(s);
    }
    const requestStages = stages.filter((s) => s.run !== undefined && s.phase !== 'respond' && s.phase !== 'observe');
    const respondStages = stages.filter((s) => s.onResponse !== undefined || s.onResponseBody !== undefined);
    const failureStages = stages.filter((s) => s.onUpstreamFailure !== undefined);
    const maxBodyBytes = rc.max_body_bytes ?? config.limits.max_body_bytes;
    const policy = compileBodyPolicy(
      config.limits.body,
      rc.body,
      rc['validate'] as { json?: Partial<BodyConfig['json']>; max_form_params?: number } | undefined,
      maxBodyBytes,
    );
    const body: BodyReader = { read: (raw, contentEncoding, media) => stepBody(raw, contentEncoding, media, policy) };
    const forwarder =
      rc.protocol === 'grpc'
        ? new GrpcForwarder(groups.get(rc.upstream) as UpstreamGroup, rc, forwarding, rc.grpc)
        : new UpstreamForwarder(groups.get(rc.upstream) as UpstreamGroup, rc, forwarding);
    const ws = rc['websocket'] as WebSocketRouteConfig | undefined;
    const route: CompiledRoute = {
      id: rc.id,
      config: rc,
      methods: rc.match.methods && rc.match.methods.length > 0 ? new Set(rc.match.methods) : null,
      maxBodyBytes,
      body,
      forwarder,
      upgrader: ws?.enabled === true ? new WebSocketUpgrader(rc.id, ws, forwarder, services, requestIdHeader) : null,
      ...(rc.protocol === 'grpc' ? { streaming: true } : {}),
      requestStages,
      respondStages,
      failureStages,
      needsBody: requestStages.some((s) => s.needsBody === true),
      needsResponseBody: respondStages.some((s) => s.needsResponseBody === true),
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

  // the gateway's own observers: alert rules (their config key is the core's, not a stage's)
  const alerts = alertsObserver(services, config.alerts as AlertsConfig);
  const observers: ExchangeObserver[] = instances
    .filter((i) => i.observe)
    .map((i) => (r: AccessRecord, ctx: RequestContext | null) => (i.observe as NonNullable<StageInstance['observe']>)(r, ctx));
  if (alerts.observe !== null) observers.push(alerts.observe);
  // the live console's view (src/observe/live.ts), read on the admin listener only
  if (config.admin.enabled) observers.push(liveObserver(services));
  let closing: Promise<void> | null = null;
  const tracing = createTracing(config, services);
  return {
    id: nextId++,
    file,
    hash: loaded.hash,
    config,
    router,
    routes,
    upstreams: groups,
    trusted,
    intake: createIntake(config, trusted),
    redactQuery,
    requestIdHeader,
    instances,
    clientChecks: instances
      .filter((i) => i.checkClient)
      .map((i) => (ctx: RequestContext) => (i.checkClient as (c: RequestContext) => Decision | Promise<Decision>)(ctx)),
    observers,
    malformedInspectors: instances
      .filter((i) => i.inspectMalformed)
      .map((i) => (raw, id) => (i.inspectMalformed as NonNullable<StageInstance['inspectMalformed']>)(raw, id)),
    tracer: tracing?.recorder ?? null,
    inFlight: 0,
    close() {
      closing ??= (async () => {
        alerts.close();
        await tracing?.release();
        await Promise.all(instances.map((i) => Promise.resolve(i.close?.()).catch(() => undefined)));
      })();
      return closing;
    },
  };
}
