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
