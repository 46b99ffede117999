/**
 * Config schema of the authentication stage: the global `auth` section (JWT providers, API key,
 * mTLS and signature settings, default methods), the top-level `consumers` and `tenants`, and the
 * route key `auth`. Every field has a description; the configuration reference is generated from them.
 */
import type { JsonSchema } from '../../core/json-schema.js';
import * as partB from './verifiers/api-key-schema.js';

export const AUTH_METHODS = ['jwt', 'api_key', 'mtls', 'signature'] as const;

const ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519', 'HS256', 'HS384', 'HS512'];

const seconds = (description: string, dflt: number, min = 0): JsonSchema => ({ type: 'integer', minimum: min, default: dflt, description });

const jwk: JsonSchema = {
  type: 'object',
  required: ['kty'],
  description: 'A public JSON Web Key (RFC 7517). Private members are ignored.',
  properties: {
    kty: { enum: ['RSA', 'EC', 'OKP', 'oct'], description: 'Key type.' },
    kid: { type: 'string', maxLength: 256, description: 'Key id matched against the token header `kid`.' },
    alg: { type: 'string', description: 'Algorithm this key may be used with; tokens with another `alg` do not use it.' },
    use: { type: 'string', description: 'Public key use; keys with a use other than `sig` are ignored.' },
  },
};

export const jwtProviderSchema: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['issuer'],
  description:
    'A JWT issuer. Keys come from exactly one source: inline `keys`/`pem`/`secret`, a `jwks_file`, a `jwks_uri`, or OIDC discovery from the issuer (the default when none is given).',
  properties: {
    issuer: { type: 'string', minLength: 1, description: 'Expected `iss` claim; also the base URL for OIDC discovery (`/.well-known/openid-configuration`).' },
    audiences: {
      type: 'array',
      items: { type: 'string' },
      default: [],
      description:
        'Accepted `aud` values; a token must name at least one. Empty: the `aud` claim is not checked (not recommended when the issuer serves other APIs).',
    },
    algorithms: {
      type: 'array',
      minItems: 1,
      items: { enum: ALGORITHMS },
      default: ['RS256', 'PS256', 'ES256', 'EdDSA'],
      description:
        'Signature algorithms accepted (allow-list). `none` is never accepted. Why asymmetric by default: HS* needs a shared secret and invites key confusion.',
    },
    discovery: { type: 'boolean', description: 'Find `jwks_uri` through OIDC discovery from `issuer`. Default: true when no other key source is given.' },
    jwks_uri: { type: 'string', pattern: '^https?://', format: 'http-url', description: 'JWKS URL (https, or http on loopback only).' },
    jwks_file: { type: 'string', description: 'JWKS file (JSON `{keys: [...]}`), relative to the config file; private members are ignored.' },
    keys: { type: 'array', maxItems: 100, items: jwk, description: 'Inline public JWKs.' },
    pem: {
      type: 'array',
      maxItems: 100,
      items: { type: 'string' },
      description: 'Inline PEM public keys or certificates (use `${file:PATH}`); they have no `kid` and match tokens without one or with any kid.',
    },
    secret: {
      type: 'string',
      minLength: 32,
      description:
        'HS* shared secret (use `${env:NAME}` or `${file:PATH}`); at least as long as the hash output of every HS* algorithm allowed: 32 bytes for HS256, 48 for HS384, 64 for HS512.',
    },
    typ: { type: 'string', description: 'Required token header `typ`, e.g. `at+jwt` (RFC 9068); compared case-insensitively, `application/` prefix optional.' },
    required_claims: {
      type: 'array',
      items: { type: 'string' },
      default: ['exp'],
      description: 'Claims that must be present. Why `exp`: a token without expiry is valid forever.',
    },
    clock_skew_s: seconds('Tolerance for `exp`, `nbf` and `iat` against the gateway clock.', 60),
    max_age_s: seconds('Largest token age from `iat` (0: no limit; when set, `iat` is required).', 0),
    scopes_claims: {
      type: 'array',
      items: { type: 'string' },
      default: ['scope', 'scp'],
      description: 'Claims holding scopes: a space-separated string or an array.',
    },
    roles_claim: { type: 'string', default: 'roles', description: 'Claim holding roles (dotted path allowed, e.g. `realm_access.roles`).' },
    tenant_claim: { type: 'string', default: 'tenant', description: 'Claim naming the tenant when the token maps to no configured consumer.' },
    require_consumer: { type: 'boolean', default: false, description: 'Reject tokens whose subject or client id maps to no configured consumer.' },
    claims_to_headers: {
      type: 'object',
      additionalProperties: { type: 'string', pattern: '^[Xx]-[A-Za-z0-9-]+$' },
      default: {},
      description: 'Claims sent upstream as headers, e.g. `{email: X-User-Email}`; incoming copies of these headers are always removed.',
    },
    refresh_s: seconds('Background refresh period of remote keys (JWKS).', 300, 10),
    min_refetch_s: seconds('Least time between two fetches caused by an unknown `kid` (rate limit).', 30, 0),
    fetch_timeout_ms: seconds('Timeout of one JWKS or discovery fetch.', 5000, 100),
  },
};

export const authGlobalSchema: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  default: {},
  description: 'Authentication: JWT/OIDC providers, API keys, mTLS identity, signed requests, and the default for routes without an `auth` section.',
  properties: {
    default: {
      type: 'array',
      items: { enum: [...AUTH_METHODS] },
      uniqueItems: true,
      description:
        'Methods accepted (any one of them) on a route without an `auth` section. Default: every configured method (jwt when providers exist, api_key/signature/mtls when a consumer has such credentials). A route without `auth` is never public.',
    },
    forward_credentials: {
      type: 'boolean',
      default: true,
      description:
        'Send the verified bearer token (Authorization header) and API key header on to the upstream. false: removed after verification, the upstream gets X-Consumer-Id, X-Tenant-Id and claim headers instead (Envoy `forward: false`); keep true when the upstream verifies tokens itself.',
    },
    realm: { type: 'string', default: 'portcullis', pattern: '^[ -!#-~]*$', description: 'Realm named in WWW-Authenticate challenges.' },
    jwt: {
      type: 'object',
      additionalProperties: false,
      default: {},
      description: 'JWT / OIDC bearer tokens.',
      properties: {
        providers: { type: 'object', additionalProperties: jwtProviderSchema, default: {}, description: 'Token issuers by name.' },
        header: {
          type: 'string',
          default: 'authorization',
          description: 'Header carrying the token; `authorization` expects `Bearer <token>`, another header the bare token.',
        },
        cookie: { type: 'string', description: 'Cookie carrying the token (off unless set).' },
        query: {
          type: 'string',
          default: 'access_token',
          description: 'Query parameter name recognised as a token; accepted only where `query_enabled` is true, otherwise its presence is a 401.',
        },
        query_enabled: {
          type: 'boolean',
          default: false,
          description: 'Accept tokens in the query string. Why off: URLs end up in logs, history and Referer headers.',
        },
        max_token_bytes: seconds('Largest token accepted (401 above). Why 8 KiB: real access tokens are far smaller; big ones are parser attacks.', 8192, 256),
        cache_size: seconds('Verified tokens kept (until they expire) so that a reused token is not verified again.', 10000, 0),
      },
    },
    api_keys: partB.apiKeySchema,
    mtls: partB.mtlsSchema,
    signature: partB.signatureSchema,
  },
};

const id = (description: string): JsonSchema => ({ type: 'string', pattern: '^[A-Za-z0-9_.:@-]{1,128}$', description });

export const consumersSchema: JsonSchema = {
  type: 'array',
  default: [],
  description: 'API consumers: who may call, their tenant and plan, and the credentials that identify them.',
  items: {
    type: 'object',
    additionalProperties: false,
    required: ['id'],
    properties: {
      id: id('Consumer id, sent upstream as X-Consumer-Id and used in logs, metrics and limits.'),
      tenant: id('Tenant the consumer belongs to (an id in `tenants`).'),
      plan: { type: 'string', description: 'Usage plan (rate limits per plan).' },
      disabled: { type: 'boolean', default: false, description: 'A disabled consumer cannot authenticate.' },
      credentials: {
        type: 'object',
        additionalProperties: false,
        default: {},
        description: 'Credentials that identify this consumer.',
        properties: {
          api_keys: { ...partB.consumerCredentialsSchema.api_keys, default: [] },
          certificates: { ...partB.consumerCredentialsSchema.certificates, default: [] },
          jwt: {
            type: 'array',
            default: [],
            description: 'Token identities: a provider and the subject (`sub`) or client id (`client_id`/`azp`).',
            items: {
              type: 'object',
              additionalProperties: false,
              required: ['provider'],
              minProperties: 2,
              properties: {
                provider: { type: 'string', description: 'Provider name in `auth.jwt.providers`.' },
                sub: { type: 'string', description: 'Token subject.' },
                client_id: { type: 'string', description: 'OAuth client id (`client_id` or `azp` claim).' },
              },
            },
          },
          signature_keys: { ...partB.consumerCredentialsSchema.signature_keys, default: [] },
        },
      },
    },
  },
};

export const tenantsSchema: JsonSchema = {
  type: 'array',
  default: [],
  description: 'Tenants: each owns routes; principals of other tenants get 403 on them.',
  items: {
    type: 'object',
    additionalProperties: false,
    required: ['id'],
    properties: {
      id: id('Tenant id, sent upstream as X-Tenant-Id.'),
      routes: { type: 'array', items: { type: 'string' }, default: [], description: 'Ids of routes owned by this tenant.' },
      plan: { type: 'string', description: 'Default usage plan of the tenant’s consumers.' },
      disabled: { type: 'boolean', default: false, description: 'Principals of a disabled tenant cannot authenticate.' },
    },
  },
};

const methodOptions: Record<string, JsonSchema> = {
  jwt: {
    type: 'object',
    additionalProperties: false,
    description: 'A bearer JWT.',
    properties: {
      provider: { type: 'string', description: 'Accept only this provider (default: any provider).' },
      providers: { type: 'array', items: { type: 'string' }, description: 'Accept only these providers.' },
      scopes: { type: 'array', items: { type: 'string' }, description: 'Scopes this requirement needs (OpenAPI `security` semantics).' },
      cert_bound: {
        type: 'boolean',
        default: false,
        description: 'RFC 8705: the token’s `cnf.x5t#S256` must equal the client certificate’s SHA-256 thumbprint.',
      },
    },
  },
  api_key: partB.apiKeyRouteSchema,
  mtls: partB.mtlsRouteSchema,
  signature: partB.signatureRouteSchema,
};

export const requirementSetSchema: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  minProperties: 1,
  description: 'One requirement set: every method named here must verify (AND).',
  properties: methodOptions,
};

export const authRouteSchema: JsonSchema = {
  description:
    'Authentication of the route: `none` (public; the only way to make one), or alternatives. Absent: the methods of `auth.default` (deny by default).',
  oneOf: [
    { const: 'none', description: 'Public route.' },
    {
      type: 'object',
      additionalProperties: false,
      required: ['any_of'],
      properties: {
        any_of: { type: 'array', minItems: 1, maxItems: 16, items: requirementSetSchema, description: 'Alternatives (OR); the first that verifies wins.' },
        replay: {
          type: 'object',
          additionalProperties: false,
          default: {},
          description:
            'Replay protection, kept in the state store (memory, or Redis for many instances). Signature nonces are always accepted once (`auth.signature.nonce`).',
          properties: {
            jti: {
              type: 'boolean',
              default: false,
              description:
                'A JWT `jti` is accepted once until the token expires; tokens without `jti` are refused. The memory store forgets jti on restart, so with it tokens issued (`iat`) before the gateway started, or without `iat`, are refused too (`PC_ERR_AUTH_PREDATES_START`, `PC_ERR_AUTH_TOKEN_CLAIMS`); not with Redis.',
            },
            max_ttl_s: seconds('Longest time a jti is remembered (tokens living longer are refused on this route).', 86400, 1),
          },
        },
        mode: { enum: ['enforce', 'monitor', 'off'], default: 'enforce', description: '`monitor` logs what would be denied and lets the request pass.' },
      },
    },
  ],
};
