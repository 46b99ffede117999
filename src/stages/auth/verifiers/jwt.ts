/**
 * JWT / OIDC bearer token verifier. Providers are compiled once per snapshot; remote key sets
 * (JWKS URL or OIDC discovery) outlive snapshots through Services.keep. Verified tokens are
 * cached until expiry in a bounded map keyed by the token string, so a reused token costs one
 * map lookup; signatures are checked with synchronous node:crypto.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { deny } from '../../../core/decision.js';
import { ConfigError } from '../../../config/errors.js';
import type { Identity, MethodOptions, Verifier, VerifierEnv, VerifierFactory, VerifyResult } from '../types.js';
import { parseJws, type Jws, type TokenError } from '../jwt/token.js';
import { claimAt, normaliseTyp, stringList, type ClaimPolicy } from '../jwt/claims.js';
import { keyFromJwk, keyFromPem, keyFromSecret, keysFromJwks, type VerifyKey } from '../jwt/keys.js';
import { addKeysFor, checkSignedToken } from '../jwt/verify.js';
import { RemoteKeySet, urlAllowed } from '../jwt/jwks.js';
import { extractToken, type TokenSources } from '../jwt/extract.js';
import { unmappedJwtConsumerId } from '../consumers.js';
import type { RequestContext } from '../../../core/stage.js';

/** `auth.jwt.providers.<name>` after defaults. */
export interface JwtProviderConfig {
  issuer: string;
  audiences: string[];
  algorithms: string[];
  discovery?: boolean;
  jwks_uri?: string;
  jwks_file?: string;
  keys?: Record<string, unknown>[];
  pem?: string[];
  secret?: string;
  typ?: string;
  required_claims: string[];
  clock_skew_s: number;
  max_age_s: number;
  scopes_claims: string[];
  roles_claim: string;
  tenant_claim: string;
  require_consumer: boolean;
  claims_to_headers: Record<string, string>;
  refresh_s: number;
  min_refetch_s: number;
  fetch_timeout_ms: number;
}

export interface JwtConfig {
  providers: Record<string, JwtProviderConfig>;
  header: string;
  cookie?: string;
  query: string;
  query_enabled: boolean;
  max_token_bytes: number;
  cache_size: number;
}

export interface Provider {
  readonly name: string;
  readonly policy: ClaimPolicy;
  readonly algorithms: ReadonlySet<string>;
  readonly staticKeys: readonly VerifyKey[];
  readonly remote: RemoteKeySet | null;
  readonly skewMs: number;
  readonly scopesClaims: readonly string[];
  readonly rolesClaim: string;
  readonly tenantClaim: string;
  readonly requireConsumer: boolean;
  /** [claim, lowercase header] */
  readonly claimsToHeaders: readonly (readonly [string, string])[];
}

interface CacheEntry {
  /** the whole token: the map key is only its tail */
  readonly token: string;
  readonly provider: Provider;
  /** ms since epoch; Infinity when the token has no exp */
  readonly expMs: number;
  /** cnf.x5t#S256 of the token, or null */
  readonly cnf: string | null;
  readonly result: VerifyResult & { kind: 'ok' };
}

interface RouteOptions {
  /** null: any provider */
  readonly providers: ReadonlySet<string> | null;
  readonly certBound: boolean;
}

/**
 * Cache key: the token's last 32 characters (signature bytes). Hashing a whole 300-1000 character
 * token costs about 1 µs a request; the tail costs a quarter of that. A hit is confirmed by
 * comparing the whole token, so a colliding tail is only a miss.
 */
const cacheKey = (token: string): string => (token.length > 32 ? token.slice(-32) : token);

/** Longest a token without exp stays in the verified cache. */
const NO_EXP_CACHE_MS = 5 * 60_000;

const failed = (e: TokenError): VerifyResult => ({ kind: 'fail', deny: deny(e.code, { reason: e.reason }) });
const fail = (code: TokenError['code'], reason: string): VerifyResult => failed({ code, reason });

/** Compiles one provider's config; throws ConfigError for unusable key material. */
export function compileProvider(name: string, p: JwtProviderConfig, env: Pick<VerifierEnv, 'services' | 'file' | 'baseDir'>): Provider {
  const where = { file: env.file, keyPath: `auth.jwt.providers.${name}` };
  const staticKeys: VerifyKey[] = [];
  try {
    for (const jwk of p.keys ?? []) {
      const k = keyFromJwk(jwk);
      if (k !== null) staticKeys.push(k);
    }
    for (const pem of p.pem ?? []) staticKeys.push(keyFromPem(pem));
    if (p.secret !== undefined) staticKeys.push(keyFromSecret(p.secret));
    if (p.jwks_file !== undefined) staticKeys.push(...keysFromJwks(JSON.parse(readFileSync(resolve(env.baseDir, p.jwks_file), 'utf8'))));
  } catch (e) {
    throw new ConfigError(`provider ${name}: cannot import key: ${(e as Error).message}`, where);
  }
  const inline = p.keys !== undefined || p.pem !== undefined || p.secret !== undefined || p.jwks_file !== undefined;
  const discovery = p.discovery ?? (!inline && p.jwks_uri === undefined);
  if (p.jwks_uri !== undefined && !urlAllowed(p.jwks_uri)) throw new ConfigError(`provider ${name}: jwks_uri must be https (http only on loopback)`, where);
  if (discovery && !urlAllowed(p.issuer)) throw new ConfigError(`provider ${name}: discovery needs an https issuer URL (http only on loopback)`, where);
  if (discovery && p.jwks_uri !== undefined) throw new ConfigError(`provider ${name}: give either jwks_uri or discovery, not both`, where);
  let remote: RemoteKeySet | null = null;
  if (p.jwks_uri !== undefined || discovery) {
    const jwksUri = p.jwks_uri ?? null;
    const logger = env.services.logger;
    remote = env.services.keep(`auth.jwt.keys:${p.issuer}|${jwksUri ?? 'discovery'}|${p.refresh_s}|${p.min_refetch_s}|${p.fetch_timeout_ms}`, () => {
      const set = new RemoteKeySet({
        issuer: p.issuer,
        jwksUri,
        timeoutMs: p.fetch_timeout_ms,
        refreshMs: p.refresh_s * 1000,
        minRefetchMs: p.min_refetch_s * 1000,
        onError: (message) => logger.warn({ stage: 'auth', provider: name }, message),
      });
      set.start();
      return set;
    });
  } else if (staticKeys.length === 0) {
    throw new ConfigError(`provider ${name}: no usable key`, where);
  }
  const algorithms = new Set(p.algorithms);
  if ([...algorithms].some((a) => a.startsWith('HS')) && !staticKeys.some((k) => k.key.type === 'secret')) {
    throw new ConfigError(`provider ${name}: HS* algorithms need a secret (or an oct JWK)`, where);
  }
  // an HMAC key shorter than the hash output is never used (RFC 7518 section 3.2): say so now, not at the first token
  const longestSecret = Math.max(0, ...staticKeys.map((k) => (k.key.type === 'secret' ? (k.key.symmetricKeySize ?? 0) : 0)));
  for (const a of algorithms) {
    const need = a.startsWith('HS') ? Number(a.slice(2)) / 8 : 0;
    if (longestSecret > 0 && need > longestSecret)
      throw new ConfigError(`provider ${name}: ${a} needs a secret of at least ${need} bytes (the longest given has ${longestSecret})`, where);
  }
  return {
    name,
    policy: {
      issuer: p.issuer,
      audiences: p.audiences,
      requiredClaims: p.required_claims,
      skewS: p.clock_skew_s,
      maxAgeS: p.max_age_s,
      typ: p.typ !== undefined ? normaliseTyp(p.typ) : null,
    },
    algorithms,
    staticKeys,
    remote,
    skewMs: p.clock_skew_s * 1000,
    scopesClaims: p.scopes_claims,
    rolesClaim: p.roles_claim,
    tenantClaim: p.tenant_claim,
    requireConsumer: p.require_consumer,
    claimsToHeaders: Object.entries(p.claims_to_headers).map(([c, h]) => [c, h.toLowerCase()] as const),
  };
}

/** SHA-256 thumbprint (base64url) of the client certificate, cached per TLS connection. */
const thumbprints = new WeakMap<TLSSocket, string | null>();
export function certThumbprint(sock: TLSSocket | null): string | null {
  if (sock === null) return null;
  let t = thumbprints.get(sock);
  if (t === undefined) {
    const raw = sock.getPeerCertificate()?.raw as Buffer | undefined;
    t = raw !== undefined && raw.length > 0 && sock.authorized ? createHash('sha256').update(raw).digest('base64url') : null;
    thumbprints.set(sock, t);
  }
  return t;
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export class JwtVerifier implements Verifier {
  readonly method = 'jwt' as const;
  readonly needsBody = false;
  readonly providers: ReadonlyMap<string, Provider>;
  private readonly byIssuer = new Map<string, Provider[]>();
  private readonly sources: TokenSources;
  private readonly maxBytes: number;
  private readonly cacheSize: number;
  private readonly cache = new Map<string, CacheEntry>();
  private readonly routeOptions = new WeakMap<MethodOptions, RouteOptions>();
  private readonly env: VerifierEnv;

  constructor(cfg: JwtConfig, providers: ReadonlyMap<string, Provider>, env: VerifierEnv) {
    this.env = env;
    this.providers = providers;
    for (const p of providers.values()) {
      const list = this.byIssuer.get(p.policy.issuer) ?? [];
      list.push(p);
      this.byIssuer.set(p.policy.issuer, list);
    }
    this.sources = {
      header: cfg.header.toLowerCase(),
      cookie: cfg.cookie ?? null,
      query: cfg.query === '' ? null : cfg.query,
      queryEnabled: cfg.query_enabled,
    };
    this.maxBytes = cfg.max_token_bytes;
    this.cacheSize = cfg.cache_size;
  }

  /** Header names this verifier sends upstream (their incoming copies must be removed). */
  upstreamHeaderNames(): string[] {
    const out = new Set<string>();
    for (const p of this.providers.values()) for (const [, h] of p.claimsToHeaders) out.add(h);
    return [...out];
  }

  private options(o: MethodOptions): RouteOptions {
    let r = this.routeOptions.get(o);
    if (r === undefined) {
      const names: string[] = [];
      if (typeof o.provider === 'string') names.push(o.provider);
      if (Array.isArray(o.providers)) for (const n of o.providers) if (typeof n === 'string') names.push(n);
      r = { providers: names.length > 0 ? new Set(names) : null, certBound: o.cert_bound === true };
      this.routeOptions.set(o, r);
    }
    return r;
  }

  verify(ctx: RequestContext, options: MethodOptions): VerifyResult | Promise<VerifyResult> {
    const ex = extractToken(ctx.req, ctx.query, this.sources);
    if (ex.kind === 'absent') return ex;
    if (ex.kind === 'fail') return failed(ex.error);
    const token = ex.token;
    const opts = this.options(options);
    const hit = this.cache.get(cacheKey(token));
    if (hit !== undefined && hit.token === token) {
      if (opts.providers !== null && !opts.providers.has(hit.provider.name)) return fail('PC_ERR_AUTH_TOKEN_CLAIMS', 'provider not accepted on this route');
      if (ctx.now >= hit.expMs + hit.provider.skewMs) {
        this.cache.delete(cacheKey(token));
        return fail('PC_ERR_AUTH_TOKEN_EXPIRED', 'expired');
      }
      if (opts.certBound) return this.checkBinding(ctx, hit.cnf, hit.result);
      return hit.result;
    }
    const parsed = parseJws(token, this.maxBytes);
    if (!parsed.ok) return failed(parsed.error);
    const jws = parsed.jws;
    const candidates = this.byIssuer.get(typeof jws.payload.iss === 'string' ? jws.payload.iss : '');
    let provider: Provider | undefined;
    if (candidates !== undefined) {
      for (const p of candidates) {
        if (opts.providers === null || opts.providers.has(p.name)) {
          provider = p;
          break;
        }
      }
    }
    if (provider === undefined) return fail('PC_ERR_AUTH_TOKEN_CLAIMS', 'iss not accepted');
    if (!provider.algorithms.has(jws.alg)) return fail('PC_ERR_AUTH_TOKEN_ALG', 'alg not allowed');
    const keys = this.keysFor(provider, jws);
    if (keys.length > 0 || provider.remote === null) return this.finish(ctx, token, jws, provider, keys, opts);
    return this.finishAsync(ctx, token, jws, provider, opts);
  }

  private keysFor(provider: Provider, jws: Jws): VerifyKey[] {
    const out: VerifyKey[] = [];
    addKeysFor(jws, provider.staticKeys, out);
    const remote = provider.remote?.current();
    if (remote) addKeysFor(jws, remote, out);
    return out;
  }

  private async finishAsync(ctx: RequestContext, token: string, jws: Jws, provider: Provider, opts: RouteOptions): Promise<VerifyResult> {
    const remote = provider.remote as RemoteKeySet;
    if (remote.current() === null) {
      if (!(await remote.ready())) return { kind: 'fail', deny: deny('PC_ERR_AUTH_UNAVAILABLE', { reason: `keys of provider ${provider.name} unavailable` }) };
    } else {
      await remote.refetchForUnknownKid(Date.now());
    }
    return this.finish(ctx, token, jws, provider, this.keysFor(provider, jws), opts);
  }

  private finish(ctx: RequestContext, token: string, jws: Jws, provider: Provider, keys: readonly VerifyKey[], opts: RouteOptions): VerifyResult {
    const error = checkSignedToken(jws, keys, provider.policy, ctx.now);
    if (error !== null) return failed(error);
    const payload = jws.payload;
    const sub = typeof payload.sub === 'string' ? payload.sub : null;
    const clientIdClaim = payload.client_id ?? payload.azp;
    const clientId = typeof clientIdClaim === 'string' ? clientIdClaim : null;
    const consumer = this.env.consumers.byJwt(provider.name, sub, clientId);
    if (consumer === undefined && provider.requireConsumer) return fail('PC_ERR_AUTH_INVALID', 'token maps to no consumer');
    if (consumer?.disabled === true) return fail('PC_ERR_AUTH_INVALID', 'consumer disabled');
    const tenantClaim = claimAt(payload, provider.tenantClaim);
    const scopes: string[] = [];
    for (const c of provider.scopesClaims) for (const s of stringList(payload[c])) if (!scopes.includes(s)) scopes.push(s);
    // the first millisecond of the second in which checkClaims would find the token expired
    const exp = typeof payload.exp === 'number' ? Math.ceil(payload.exp) * 1000 : null;
    const identity: Identity = {
      method: 'jwt',
      // never the raw claim: a token's sub must not name a configured consumer (consumers.ts)
      consumer: consumer?.id ?? unmappedJwtConsumerId(provider.name, sub, clientId),
      tenant: consumer !== undefined ? consumer.tenant : typeof tenantClaim === 'string' ? tenantClaim : null,
      subject: sub,
      scopes,
      roles: stringList(claimAt(payload, provider.rolesClaim)),
      claims: payload,
      plan: consumer?.plan ?? null,
      expiresAt: exp,
    };
    const cnfObj = payload.cnf;
    const cnfThumb = cnfObj !== null && typeof cnfObj === 'object' ? (cnfObj as Record<string, unknown>)['x5t#S256'] : undefined;
    const entry: CacheEntry = {
      token,
      provider,
      expMs: exp ?? ctx.now + NO_EXP_CACHE_MS,
      cnf: typeof cnfThumb === 'string' ? cnfThumb : null,
      result: { kind: 'ok', identity },
    };
    if (this.cacheSize > 0) {
      if (this.cache.size >= this.cacheSize) {
        const oldest = this.cache.keys().next();
        if (oldest.done !== true) this.cache.delete(oldest.value);
      }
      this.cache.set(cacheKey(token), entry);
    }
    if (opts.certBound) return this.checkBinding(ctx, entry.cnf, entry.result);
    return entry.result;
  }

  private checkBinding(ctx: RequestContext, cnf: string | null, ok: VerifyResult): VerifyResult {
    if (cnf === null) return fail('PC_ERR_AUTH_TOKEN_CERT_BINDING', 'token has no cnf.x5t#S256');
    const thumb = certThumbprint(ctx.tlsSocket);
    if (thumb === null) return fail('PC_ERR_AUTH_TOKEN_CERT_BINDING', 'no client certificate');
    if (!safeEqual(thumb, cnf)) return fail('PC_ERR_AUTH_TOKEN_CERT_BINDING', 'certificate thumbprint differs');
    return ok;
  }

  /** Number of cached verified tokens (tests, metrics). */
  cachedTokens(): number {
    return this.cache.size;
  }
}

export function jwtConfigOf(auth: Readonly<Record<string, unknown>>): JwtConfig {
  return auth.jwt as JwtConfig;
}

export const createVerifier: VerifierFactory = (env) => {
  const cfg = jwtConfigOf(env.auth);
  const providers = new Map<string, Provider>();
  for (const [name, p] of Object.entries(cfg.providers)) providers.set(name, compileProvider(name, p, env));
  return new JwtVerifier(cfg, providers, env);
};
