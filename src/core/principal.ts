/** The authenticated identity of a request. Only the `authenticate` phase sets ctx.principal. */
export type AuthMethod = 'jwt' | 'api_key' | 'mtls' | 'signature' | 'none';

export interface Principal {
  /**
   * consumer id from config; for a JWT that maps to no consumer, a namespaced id
   * (`jwt/<provider>/sub/<sub>`, src/stages/auth/consumers.ts) that no configured id can equal
   */
  readonly consumer: string | null;
  readonly tenant: string | null;
  /** how the principal was authenticated; several when a route requires a combination */
  readonly methods: readonly AuthMethod[];
  readonly scopes: readonly string[];
  readonly roles: readonly string[];
  /** verified token claims (JWT) or certificate details (mTLS); never secrets */
  readonly claims: Readonly<Record<string, unknown>>;
  /** usage plan of the consumer (rate limits per plan) */
  readonly plan: string | null;
}

/**
 * The headers that carry a principal upstream (consumer, tenant, method, scopes, certificate).
 * Only the gateway sets them: incoming copies are removed from every request, always; stages add
 * the names of headers they set besides these (claim headers) through `upstreamHeaderNames`.
 */
export const IDENTITY_HEADERS: readonly string[] = [
  'x-consumer-id',
  'x-consumer-plan',
  'x-tenant-id',
  'x-auth-method',
  'x-auth-scopes',
  'x-authenticated-userid',
  'x-forwarded-client-cert',
  'x-client-cert-subject',
  'x-client-cert-san',
  'x-client-cert-fingerprint',
  'x-client-cert-issuer',
  'x-client-cert-verified',
];
