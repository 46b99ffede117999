/**
 * The authentication stage (phase `authenticate`): reads the route's `auth` section, runs the
 * credential verifiers (alternatives ORed, methods of one set ANDed), enforces replay protection,
 * and sets ctx.principal and the upstream identity headers. Deny by default: a route without
 * `auth` needs one of the default methods; only `auth: none` makes a route public.
 */
import { deny, type Decision, type Deny } from '../../core/decision.js';
import type { Mode } from '../../core/phases.js';
import type { AuthMethod, Principal } from '../../core/principal.js';
import type { RouteStage, StageEnv, StageInstance, StageModule } from '../../core/stage.js';
import type { CanonicalConfig, RouteConfig } from '../../core/config.js';
import { ConfigError } from '../../config/errors.js';
import { AUTH_METHODS, authGlobalSchema, authRouteSchema, consumersSchema, tenantsSchema } from './schema.js';
import { buildDirectory, type RawConsumer, type RawTenant } from './consumers.js';
import { predatesEpoch, replayEpoch } from './replay-epoch.js';
import { buildPrincipal, claimHeaderValue, headerValue, missingScopes, withChallenge } from './decide.js';
import type { ConsumerDirectory, Identity, MethodOptions, Verifier, VerifierEnv, VerifierFactory, VerifyResult } from './types.js';
import { createVerifier as createJwtVerifier, type JwtVerifier } from './verifiers/jwt.js';
import { createVerifier as createApiKeyVerifier } from './verifiers/api-key.js';
import { certHeaderNames, createVerifier as createMtlsVerifier } from './verifiers/mtls.js';
import { createVerifier as createSignatureVerifier } from './verifiers/signature.js';
import { DnError, parseDn } from './verifiers/dn.js';
import { configErrorAt } from '../../config/errors.js';
import { isPublicRoute } from './public.js';
import type { RequestContext } from '../../core/stage.js';

type Method = (typeof AUTH_METHODS)[number];

const FACTORIES: Record<Method, VerifierFactory> = {
  jwt: createJwtVerifier,
  api_key: createApiKeyVerifier,
  mtls: createMtlsVerifier,
  signature: createSignatureVerifier,
};

interface AuthGlobal {
  default?: Method[];
  realm: string;
  forward_credentials: boolean;
  jwt: { providers: Record<string, unknown> };
  [k: string]: unknown;
}

interface RouteAuth {
  any_of: Record<string, MethodOptions>[];
  replay: { jti: boolean; max_ttl_s: number };
  mode: Mode;
}

/** The route section as written: defaults inside `oneOf` are not applied by the schema. */
interface RouteAuthInput {
  any_of: Record<string, MethodOptions>[];
  replay?: Partial<RouteAuth['replay']>;
  mode?: Mode;
}

interface Requirement {
  readonly method: Method;
  readonly verifier: Verifier;
  readonly options: MethodOptions;
}

interface RequirementSet {
  readonly methods: readonly Requirement[];
  readonly scopes: readonly string[];
}

/** Precomputed per identity (a cached token gives the same Identity object each time). */
interface Accepted {
  readonly principal: Principal;
  /** the success counter's child for these methods (label hashing once, not per request) */
  readonly counted: { inc(): void };
  readonly headers: readonly (readonly [string, string])[];
  readonly annotation: Readonly<Record<string, unknown>>;
}

interface Shared {
  readonly realm: string;
  readonly directory: ConsumerDirectory;
  readonly disabledTenants: ReadonlySet<string>;
  readonly knownTenants: ReadonlySet<string>;
  readonly jwt: JwtVerifier | null;
  readonly stripHeaders: readonly string[];
  /** credential headers removed after a successful verification, by method (forward_credentials: false) */
  readonly hideHeaders: Readonly<Partial<Record<AuthMethod, string>>> | null;
  readonly env: StageEnv;
  readonly failures: ReturnType<StageEnv['services']['metrics']['counter']>;
  readonly successes: ReturnType<StageEnv['services']['metrics']['counter']>;
  readonly accepted: WeakMap<Identity, Accepted>;
}

function methodsOfConfig(cfg: CanonicalConfig): Method[] {
  const auth = cfg.auth as AuthGlobal;
  const consumers = (cfg.consumers ?? []) as RawConsumer[];
  const out: Method[] = [];
  if (Object.keys(auth.jwt.providers).length > 0) out.push('jwt');
  if (consumers.some((c) => (c.credentials?.api_keys?.length ?? 0) > 0)) out.push('api_key');
  if (consumers.some((c) => (c.credentials?.certificates?.length ?? 0) > 0)) out.push('mtls');
  if (consumers.some((c) => (c.credentials?.signature_keys?.length ?? 0) > 0)) out.push('signature');
  return out;
}

function stripIncoming(ctx: RequestContext, names: readonly string[]): void {
  const h = ctx.req.headers;
  for (let i = 0; i < names.length; i++) {
    const n = names[i] as string;
    if (h[n] !== undefined) delete h[n];
  }
}

/** A stage for public routes and `mode: off`: only removes spoofed identity headers. */
const isThenable = <T>(v: T | Promise<T>): v is Promise<T> => typeof (v as { then?: unknown } | null)?.then === 'function';

class AuthStage implements RouteStage {
  readonly id = 'auth';
  readonly phase = 'authenticate' as const;
  readonly mode: Mode;
  readonly needsBody: boolean;
  private readonly routeMethods: AuthMethod[];

  constructor(
    private readonly s: Shared,
    private readonly routeId: string,
    private readonly sets: readonly RequirementSet[],
    private readonly replay: RouteAuth['replay'],
    mode: Mode,
  ) {
    this.mode = mode;
    this.needsBody = sets.some((set) => set.methods.some((m) => m.verifier.needsBody));
    const ms: AuthMethod[] = [];
    for (const set of sets) for (const m of set.methods) if (!ms.includes(m.method)) ms.push(m.method);
    this.routeMethods = ms;
  }

  run(ctx: RequestContext): Decision | Promise<Decision> {
    stripIncoming(ctx, this.s.stripHeaders);
    return this.evaluate(ctx, 0, 0, null, null);
  }

  private evaluate(ctx: RequestContext, i: number, j: number, ids: Identity[] | null, pending: Deny | null): Decision | Promise<Decision> {
    const sets = this.sets;
    while (i < sets.length) {
      const set = sets[i] as RequirementSet;
      let absent = false;
      while (j < set.methods.length) {
        const m = set.methods[j] as Requirement;
        let r: VerifyResult | Promise<VerifyResult>;
        try {
          r = m.verifier.verify(ctx, m.options);
        } catch (e) {
          return this.internal(ctx, m.method, e);
        }
        if (isThenable(r)) {
          const ci = i;
          const cj = j;
          const cids = ids;
          const cp = pending;
          return r.then(
            (res) => this.resume(ctx, ci, cj, cids, cp, res),
            (e: unknown) => this.internal(ctx, m.method, e),
          );
        }
        if (r.kind === 'fail') return this.fail(ctx, r.deny, m.method, null);
        if (r.kind === 'absent') {
          absent = true;
          break;
        }
        (ids ??= []).push(r.identity);
        j++;
      }
      if (!absent) {
        const out = this.satisfied(ctx, set, ids ?? []);
        if (out !== 'scope') return out;
        pending ??= this.scopeDeny(set);
      }
      i++;
      j = 0;
      ids = null;
    }
    if (pending !== null) return this.fail(ctx, pending, 'jwt', null);
    return this.fail(ctx, deny('PC_ERR_AUTH_REQUIRED', { reason: 'no credentials' }), this.routeMethods[0] ?? 'jwt', null);
  }

  private resume(ctx: RequestContext, i: number, j: number, ids: Identity[] | null, pending: Deny | null, res: VerifyResult): Decision | Promise<Decision> {
    const set = this.sets[i] as RequirementSet;
    const m = set.methods[j] as Requirement;
    if (res.kind === 'fail') return this.fail(ctx, res.deny, m.method, null);
    if (res.kind === 'absent') return this.evaluate(ctx, i + 1, 0, null, pending);
    const next = ids === null ? [res.identity] : [...ids, res.identity];
    if (j + 1 < set.methods.length) return this.evaluate(ctx, i, j + 1, next, pending);
    const out = this.satisfied(ctx, set, next);
    if (out !== 'scope') return out;
    return this.evaluate(ctx, i + 1, 0, null, pending ?? this.scopeDeny(set));
  }

  /** 403 insufficient_scope naming the scopes of the first set whose credentials verified. */
  private scopeDeny(set: RequirementSet): Deny {
    return withChallenge(deny('PC_ERR_INSUFFICIENT_SCOPE', { reason: 'requirement scopes missing' }), this.s.realm, 'jwt', this.routeMethods, set.scopes);
  }

  /** A set verified: scopes, principal, tenant, replay; 'scope' when its scopes are missing (try the next set). */
  private satisfied(ctx: RequestContext, set: RequirementSet, ids: readonly Identity[]): Decision | Promise<Decision> | 'scope' {
    let acc: Accepted;
    const single = ids.length === 1 ? (ids[0] as Identity) : null;
    const cached = single !== null ? this.s.accepted.get(single) : undefined;
    if (cached !== undefined) acc = cached;
    else {
      const p = buildPrincipal(ids);
      if (!('methods' in p)) return this.fail(ctx, p, ids[0]?.method ?? 'jwt', null);
      acc = this.acceptedOf(p, ids);
      if (single !== null) this.s.accepted.set(single, acc);
    }
    const principal = acc.principal;
    if (set.scopes.length > 0 && missingScopes(principal.scopes, set.scopes).length > 0) return 'scope';
    if (principal.tenant !== null && this.s.disabledTenants.has(principal.tenant)) {
      return this.fail(ctx, deny('PC_ERR_AUTH_INVALID', { reason: 'tenant disabled' }), principal.methods[0] ?? 'jwt', principal);
    }
    if (this.replay.jti) {
      const jwtId = ids.find((x) => x.method === 'jwt');
      if (jwtId !== undefined) return this.checkJti(ctx, jwtId, acc);
    }
    return this.accept(ctx, acc);
  }

  private checkJti(ctx: RequestContext, id: Identity, acc: Accepted): Decision | Promise<Decision> {
    const jti = id.claims.jti;
    const iss = id.claims.iss;
    if (typeof jti !== 'string' || jti === '') {
      return this.fail(ctx, deny('PC_ERR_AUTH_TOKEN_CLAIMS', { reason: 'jti required on this route' }), 'jwt', acc.principal);
    }
    const maxTtl = this.replay.max_ttl_s * 1000;
    const ttl = id.expiresAt === null ? maxTtl + 1 : id.expiresAt - ctx.now + 60_000;
    if (ttl > maxTtl + 60_000) {
      return this.fail(ctx, deny('PC_ERR_AUTH_TOKEN_CLAIMS', { reason: 'token lives longer than the replay window' }), 'jwt', acc.principal);
    }
    const epoch = replayEpoch(this.s.env.services.store, ctx.now);
    if (epoch !== null) {
      // the memory store forgets seen jti on restart (replay-epoch.ts)
      const iat = id.claims.iat;
      if (typeof iat !== 'number') {
        return this.fail(
          ctx,
          deny('PC_ERR_AUTH_TOKEN_CLAIMS', { reason: 'iat required for jti replay protection with the memory store' }),
          'jwt',
          acc.principal,
        );
      }
      if (predatesEpoch(iat, epoch)) {
        return this.fail(
          ctx,
          deny('PC_ERR_AUTH_PREDATES_START', { reason: 'token issued before the gateway started (memory replay store)' }),
          'jwt',
          acc.principal,
        );
      }
    }
    const key = `auth:jti:${String(iss)}\u0000${jti}`;
    let p: Promise<boolean>;
    try {
      p = this.s.env.services.store.once(key, Math.max(1000, ttl));
    } catch (e) {
      return this.internal(ctx, 'jwt', e);
    }
    return p.then(
      (first) => (first ? this.accept(ctx, acc) : this.fail(ctx, deny('PC_ERR_AUTH_TOKEN_REPLAYED', { reason: 'jti replayed' }), 'jwt', acc.principal)),
      (e: unknown) => this.fail(ctx, deny('PC_ERR_AUTH_UNAVAILABLE', { reason: `replay store: ${(e as Error).message}` }), 'jwt', acc.principal),
    );
  }

  private acceptedOf(principal: Principal, ids: readonly Identity[]): Accepted {
    const headers: [string, string][] = [];
    if (principal.consumer !== null) headers.push(['x-consumer-id', headerValue(principal.consumer)]);
    if (principal.tenant !== null) headers.push(['x-tenant-id', headerValue(principal.tenant)]);
    headers.push(['x-auth-method', principal.methods.join(',')]);
    const jwt = this.s.jwt;
    if (jwt !== null) {
      for (const id of ids) {
        if (id.method !== 'jwt') continue;
        for (const p of jwt.providers.values()) {
          if (p.policy.issuer !== id.claims.iss) continue;
          for (const [claim, header] of p.claimsToHeaders) {
            const v = claimHeaderValue(id.claims[claim]);
            if (v !== null && !headers.some(([h]) => h === header)) headers.push([header, v]);
          }
          break;
        }
      }
    }
    return {
      principal,
      counted: this.s.successes.labels({ method: principal.methods.join(',') }),
      headers,
      annotation: Object.freeze({ result: 'allowed', methods: principal.methods, consumer: principal.consumer, tenant: principal.tenant }),
    };
  }

  private accept(ctx: RequestContext, acc: Accepted): undefined {
    ctx.principal = acc.principal;
    const up = ctx.upstreamHeaders;
    for (let i = 0; i < acc.headers.length; i++) {
      const h = acc.headers[i] as readonly [string, string];
      up[h[0]] = h[1];
    }
    ctx.annotations.auth = acc.annotation;
    acc.counted.inc();
    const hide = this.s.hideHeaders;
    if (hide !== null) {
      for (const m of acc.principal.methods) {
        const h = hide[m];
        if (h !== undefined && ctx.req.headers[h] !== undefined) delete ctx.req.headers[h];
      }
    }
    return undefined;
  }

  private internal(ctx: RequestContext, method: AuthMethod, e: unknown): Deny {
    this.s.env.services.logger.error({ stage: 'auth', route: this.routeId, err: (e as Error).message }, 'verifier error');
    return this.fail(ctx, deny('PC_ERR_AUTH_UNAVAILABLE', { reason: `${method} verifier error` }), method, null);
  }

  private fail(ctx: RequestContext, d: Deny, method: AuthMethod, principal: Principal | null): Deny {
    const consumer = principal?.consumer ?? null;
    const tenant = principal?.tenant ?? null;
    this.s.failures.inc({
      code: d.code,
      method,
      route: this.routeId,
      consumer: consumer !== null && this.s.directory.byId(consumer) !== undefined ? consumer : '',
      tenant: tenant !== null && this.s.knownTenants.has(tenant) ? tenant : '',
    });
    ctx.annotations.auth = { result: 'denied', method, code: d.code, reason: d.reason ?? null, consumer, tenant };
    return withChallenge(d, this.s.realm, method, this.routeMethods);
  }
}

/** The route's `auth` section, or the default (methods of `auth.default`, each alone). */
function routeAuthOf(route: RouteConfig, defaults: readonly Method[]): RouteAuth | 'none' {
  const a = route.auth as RouteAuthInput | 'none' | undefined;
  if (a === 'none') return 'none';
  // schema defaults are not applied inside oneOf: fill them here
  if (a !== undefined) {
    return {
      any_of: a.any_of,
      replay: { jti: false, max_ttl_s: 86400, ...(a.replay ?? {}) },
      mode: a.mode ?? 'enforce',
    };
  }
  return {
    any_of: defaults.map((m) => ({ [m]: {} })),
    replay: { jti: false, max_ttl_s: 86400 },
    mode: 'enforce',
  };
}

function requiredMethods(config: CanonicalConfig, defaults: readonly Method[]): Set<Method> {
  const out = new Set<Method>();
  for (const r of config.routes) {
    if (isPublicRoute(r)) continue;
    const a = routeAuthOf(r, defaults);
    if (a === 'none') continue;
    for (const set of a.any_of) for (const m of Object.keys(set)) out.add(m as Method);
  }
  return out;
}

export const authStage: StageModule = {
  id: 'auth',
  phase: 'authenticate',
  order: 0,
  schema: {
    global: { auth: authGlobalSchema, consumers: consumersSchema, tenants: tenantsSchema },
    route: { auth: authRouteSchema },
  },

  check(config, env) {
    const auth = config.auth as AuthGlobal;
    const providers = new Set(Object.keys(auth.jwt.providers));
    const consumers = (config.consumers ?? []) as RawConsumer[];
    const tenants = (config.tenants ?? []) as RawTenant[];
    const tenantIds = new Set<string>();
    tenants.forEach((t, i) => {
      if (tenantIds.has(t.id)) throw configErrorAt(env.file, ['tenants', i, 'id'], `duplicate tenant id '${t.id}'`);
      tenantIds.add(t.id);
    });
    const routeIds = new Set(config.routes.map((r) => r.id));
    for (const [i, t] of tenants.entries()) {
      for (const [j, r] of (t.routes ?? []).entries()) {
        if (!routeIds.has(r)) throw configErrorAt(env.file, ['tenants', i, 'routes', j], `unknown route '${r}'`);
      }
    }
    const ids = new Set<string>();
    const keyIds = new Set<string>();
    const sigIds = new Set<string>();
    consumers.forEach((c, i) => {
      if (ids.has(c.id)) throw configErrorAt(env.file, ['consumers', i, 'id'], `duplicate consumer id '${c.id}'`);
      ids.add(c.id);
      if (c.tenant !== undefined && tenants.length > 0 && !tenantIds.has(c.tenant)) {
        throw configErrorAt(env.file, ['consumers', i, 'tenant'], `unknown tenant '${c.tenant}'`);
      }
      (c.credentials?.jwt ?? []).forEach((j, k) => {
        if (!providers.has(j.provider))
          throw configErrorAt(env.file, ['consumers', i, 'credentials', 'jwt', k, 'provider'], `unknown JWT provider '${j.provider}'`);
      });
      (c.credentials?.api_keys ?? []).forEach((k, n) => {
        if (keyIds.has(k.id)) throw configErrorAt(env.file, ['consumers', i, 'credentials', 'api_keys', n, 'id'], `duplicate API key id '${k.id}'`);
        keyIds.add(k.id);
      });
      (c.credentials?.certificates ?? []).forEach((x, n) => {
        if (x.subject === undefined) return;
        try {
          parseDn(x.subject);
        } catch (e) {
          if (!(e instanceof DnError)) throw e;
          throw configErrorAt(env.file, ['consumers', i, 'credentials', 'certificates', n, 'subject'], `not an RFC 4514 distinguished name: ${e.message}`);
        }
      });
      (c.credentials?.signature_keys ?? []).forEach((k, n) => {
        if (sigIds.has(k.key_id))
          throw configErrorAt(env.file, ['consumers', i, 'credentials', 'signature_keys', n, 'key_id'], `duplicate signature key id '${k.key_id}'`);
        sigIds.add(k.key_id);
      });
    });
    config.routes.forEach((r, i) => {
      const a = r.auth as RouteAuth | 'none' | undefined;
      if (a === undefined || a === 'none') return;
      a.any_of.forEach((set, j) => {
        const o = set.jwt as { provider?: string; providers?: string[] } | undefined;
        if (o === undefined) return;
        for (const name of [...(o.provider !== undefined ? [o.provider] : []), ...(o.providers ?? [])]) {
          if (!providers.has(name)) throw configErrorAt(env.file, ['routes', i, 'auth', 'any_of', j, 'jwt'], `unknown JWT provider '${name}'`);
        }
        if (providers.size === 0) throw configErrorAt(env.file, ['routes', i, 'auth', 'any_of', j, 'jwt'], 'jwt needs a provider in auth.jwt.providers');
      });
    });
  },

  async create(env: StageEnv): Promise<StageInstance> {
    const config = env.config;
    const auth = config.auth as AuthGlobal;
    const tenants = (config.tenants ?? []) as RawTenant[];
    const directory = buildDirectory((config.consumers ?? []) as RawConsumer[], tenants);
    const configured = methodsOfConfig(config);
    const defaults: Method[] = auth.default ?? configured;
    const needed = requiredMethods(config, defaults);
    // fixes the replay epoch of a memory store before any request (replay-epoch.ts)
    replayEpoch(env.services.store, env.services.clock());
    const venv: VerifierEnv = { auth, consumers: directory, services: env.services, file: env.file, baseDir: env.baseDir };
    const verifiers = new Map<Method, Verifier>();
    for (const m of AUTH_METHODS) {
      if (!needed.has(m) && !(m === 'jwt' && configured.includes('jwt'))) continue;
      verifiers.set(m, await FACTORIES[m](venv));
    }
    const jwt = (verifiers.get('jwt') as JwtVerifier | undefined) ?? null;
    // the identity headers (core/principal.ts) are stripped by the core; these are the stage's own
    const stripHeaders = [...new Set<string>([...certHeaderNames(auth.mtls), ...(jwt?.upstreamHeaderNames() ?? [])])];
    const metrics = env.services.metrics;
    const shared: Shared = {
      realm: auth.realm,
      directory,
      disabledTenants: new Set(tenants.filter((t) => t.disabled === true).map((t) => t.id)),
      knownTenants: new Set(tenants.map((t) => t.id)),
      jwt,
      stripHeaders,
      hideHeaders: auth.forward_credentials
        ? null
        : {
            jwt: ((auth.jwt as { header?: string }).header ?? 'authorization').toLowerCase(),
            api_key: String((auth.api_keys as { header?: string } | undefined)?.header ?? 'x-api-key').toLowerCase(),
          },
      env,
      failures: metrics.counter(
        'portcullis_auth_failures_total',
        'Authentication failures by error code, method, route, and consumer/tenant where known (configured ones only).',
        ['code', 'method', 'route', 'consumer', 'tenant'],
      ),
      successes: metrics.counter('portcullis_auth_successes_total', 'Successful authentications by method.', ['method']),
      accepted: new WeakMap(),
    };
    return {
      upstreamHeaderNames: stripHeaders,
      forRoute(route: RouteConfig): RouteStage | null {
        // public route: the core strips incoming identity headers on every route
        if (isPublicRoute(route)) return null;
        const a = routeAuthOf(route, defaults);
        if (a === 'none') return null;
        const sets: RequirementSet[] = a.any_of.map((set) => {
          const methods: Requirement[] = [];
          const scopes: string[] = [];
          for (const [name, options] of Object.entries(set)) {
            const v = verifiers.get(name as Method);
            if (v === undefined)
              throw new ConfigError(`route ${route.id}: method '${name}' is not configured`, { file: env.file, keyPath: `routes.${route.id}.auth` });
            const o = options ?? {};
            methods.push({ method: name as Method, verifier: v, options: o });
            if (Array.isArray(o.scopes)) for (const sc of o.scopes) if (typeof sc === 'string') scopes.push(sc);
          }
          return { methods, scopes };
        });
        return new AuthStage(shared, route.id, sets, a.replay, a.mode);
      },
      async close() {
        for (const v of verifiers.values()) await v.close?.();
      },
    };
  },
};

export default authStage;
