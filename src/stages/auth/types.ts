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
import type { RequestContext } from '../../core/context.js';
import type { Deny } from '../../core/decision.js';
import type { AuthMethod } from '../../core/principal.js';

/** What one verifier learned from the request. */
export interface Identity {
  readonly method: AuthMethod;
  /** consumer id from config (null when no consumer maps, e.g. a bare OIDC client) */
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
export type VerifyResult =
  | { readonly kind: 'absent' }
  | { readonly kind: 'ok'; readonly identity: Identity }
  | { readonly kind: 'fail'; readonly deny: Deny };

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
