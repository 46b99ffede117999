/**
 * Contract between the authentication stage (src/stages/auth/index.ts, which reads the route's
 * `auth` section, combines methods with OR/AND and sets ctx.principal) and the credential
 * verifiers, one per method (jwt, api_key, mtls, signature), each in its own file.
 *
 * Route config (owned by the auth stage's schema):
 *   auth: none                               # public route (the only way to make one)
 *   auth:                                    # absent section = default: any configured method
 *     any_of:                                # alternatives (OR), OpenAPI `security` semantics
 *       - jwt: { provider: corp, scopes: [orders:read] }   # one requirement set; its keys are ANDed
 *       - api_key: {}
 *         mtls: {}
 *     replay: { jti: true }                  # a JWT jti / signature nonce is accepted once
 *     mode: enforce                          # enforce | monitor | off
 *   authorize: { scopes: {...}, roles: [...], claims: {...}, tenants: [...], bind: [{ param, claim }] }
 */
import type { Deny } from '../../core/decision.js';
import type { AuthMethod } from '../../core/principal.js';

/** What one verifier learned from the request. */
export interface Identity {
  readonly method: AuthMethod;
  /** consumer id from config; an unmapped JWT's namespaced id (unmappedJwtConsumerId); null for an unmapped certificate */
  readonly consumer: string | null;
  readonly tenant: string | null;
  readonly subject: string | null;
  readonly scopes: readonly string[];
  readonly roles: readonly string[];
  readonly claims: Readonly<Record<string, unknown>>;
  readonly plan: string | null;
  /** expiry (ms since epoch) of the credential, for replay caches */
  readonly expiresAt: number | null;
}

/** absent: the request carries no credential of this kind (try the next alternative). */
export type VerifyResult = { readonly kind: 'absent' } | { readonly kind: 'ok'; readonly identity: Identity } | { readonly kind: 'fail'; readonly deny: Deny };

/** Per-requirement options, as written under the method's key in an `any_of` entry. */
export type MethodOptions = Readonly<Record<string, unknown>>;

/** A verifier for one method, built once per snapshot from the global config. */
export interface Verifier {
  readonly method: AuthMethod;
  /** needs the buffered body (signature: Content-Digest) */
  readonly needsBody: boolean;
  verify(ctx: RequestContext, options: MethodOptions): VerifyResult | Promise<VerifyResult>;
  close?(): Promise<void> | void;
}

// ---------------------------------------------------------------------------------------------
// Construction of verifiers (added by the auth stage, part A). Each verifier module under
// ./verifiers/ exports `createVerifier: VerifierFactory`; the auth stage calls it once per
// snapshot when the method is configured, and passes the options of each `any_of` entry to verify().
// ---------------------------------------------------------------------------------------------
import type { Services } from '../../core/services.js';
import type { RequestContext } from '../../core/stage.js';

/** Credentials of one consumer, as written in the top-level `consumers` list. */
export interface ConsumerCredentials {
  /** API keys: only keyed hashes are stored (`portcullis keys create` prints one). */
  readonly api_keys: readonly { readonly id: string; readonly hash: string; readonly expires?: string; readonly disabled: boolean }[];
  /** certificate identities: any given field must match (subject DN, one SAN entry, SHA-256 fingerprint) */
  readonly certificates: readonly { readonly subject?: string; readonly san?: string; readonly fingerprint?: string }[];
  /** JWT subjects / client ids of a provider in `auth.jwt.providers` */
  readonly jwt: readonly { readonly provider: string; readonly sub?: string; readonly client_id?: string }[];
  /** HTTP message signature keys (HMAC-SHA256) */
  readonly signature_keys: readonly { readonly key_id: string; readonly secret: string; readonly disabled: boolean }[];
}

export interface ConsumerConfig {
  readonly id: string;
  readonly tenant: string | null;
  readonly plan: string | null;
  readonly disabled: boolean;
  readonly credentials: ConsumerCredentials;
}

/** Consumers indexed once per snapshot (src/stages/auth/consumers.ts). */
export interface ConsumerDirectory {
  readonly list: readonly ConsumerConfig[];
  byId(id: string): ConsumerConfig | undefined;
  /** consumer mapped to a JWT provider's subject, or else its client id (`client_id`/`azp` claim); disabled ones included (check `disabled`) */
  byJwt(provider: string, sub: string | null, clientId: string | null): ConsumerConfig | undefined;
  /** API key entry by key id (disabled consumers are excluded) */
  byApiKeyId(keyId: string): { readonly consumer: ConsumerConfig; readonly key: ConsumerCredentials['api_keys'][number] } | undefined;
  /** signature key entry by key id (disabled consumers are excluded) */
  bySignatureKeyId(keyId: string): { readonly consumer: ConsumerConfig; readonly key: ConsumerCredentials['signature_keys'][number] } | undefined;
  /**
   * consumer of a client certificate: fingerprint (hex, any case, colons optional) first, then any
   * SAN entry (as `DNS:name`, `URI:uri`, `IP Address:ip`, `email:addr`), then the subject, by its
   * structural key (verifiers/dn.ts `dnKey`; null: no subject to match)
   */
  byCertificate(cert: { readonly fingerprint256: string; readonly sans: readonly string[]; readonly subjectKey: string | null }): ConsumerConfig | undefined;
}

export interface VerifierEnv {
  /** the global `auth` section, defaults applied (e.g. env.auth.api_keys for the API key verifier) */
  readonly auth: Readonly<Record<string, unknown>>;
  readonly consumers: ConsumerDirectory;
  readonly services: Services;
  /** config file and its directory, for relative paths */
  readonly file: string;
  readonly baseDir: string;
}

/** Throw ConfigError (src/config/errors.ts) for bad global config. */
export type VerifierFactory = (env: VerifierEnv) => Verifier | Promise<Verifier>;
