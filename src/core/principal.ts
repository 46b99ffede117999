/** The authenticated identity of a request. Only the `authenticate` phase sets ctx.principal. */
export type AuthMethod = 'jwt' | 'api_key' | 'mtls' | 'signature' | 'none';

export interface Principal {
  /** consumer id from config, or the token subject / client id when no consumer maps */
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
