/**
 * Config schemas of the credential verifiers api_key, mtls and signature (part B of issue 3), and
 * the credential pieces of a consumer. The auth stage (src/stages/auth/schema.ts) composes them:
 *
 *   auth:                                  # global section, owned by the auth stage
 *     api_keys: <apiKeySchema>             # secret (pepper), header, query
 *     mtls: <mtlsSchema>                   # match fields, allow_unmapped, forwarded headers
 *     signature: <signatureSchema>         # skew, required components, nonce
 *   consumers:                             # owned by the auth stage (src/stages/auth/types.ts ConsumerConfig)
 *     - id: billing
 *       tenant: acme
 *       credentials:
 *         api_keys:                        # consumerCredentialsSchema.api_keys
 *           - { id: k2026a, hash: "<64 hex: HMAC-SHA-256(auth.api_keys.secret, whole key)>", expires: "2027-01-01T00:00:00Z", disabled: false }
 *         certificates:                    # consumerCredentialsSchema.certificates
 *           - { subject: "CN=billing,O=Acme", san: "URI:spiffe://acme/billing", fingerprint: "<sha-256 hex, colons optional>" }
 *         signature_keys:                  # consumerCredentialsSchema.signature_keys
 *           - { key_id: billing-2026, secret: "${env:BILLING_SIGNING_SECRET}", disabled: false }
 *
 * API keys look like `pc_<key id>_<43 base64url chars>`; the key id is any consumer id-like string
 * (`[A-Za-z0-9_.:@-]{1,128}`), found by position, so that lookup is O(1) by key id.
 * Certificate subjects are written as RFC 4514 strings, most specific RDN first
 * (`CN=billing,O=Acme,C=DE`, as `openssl x509 -subject -nameopt RFC2253` prints) and compared as
 * structures (dn.ts): `CN=billing+O=Acme` (one RDN of two attributes) never equals `CN=billing,O=Acme`.
 *
 * Route requirement options (an `any_of` entry's keys): `api_key: <apiKeyRouteSchema>`,
 * `mtls: <mtlsRouteSchema>`, `signature: <signatureRouteSchema>`.
 */
import type { JsonSchema } from '../../../core/json-schema.js';

export const APIKEY_DEFAULTS = {
  header: 'X-API-Key',
  query: { enabled: false, name: 'api_key' },
  max_length: 256,
} as const;

export const apiKeySchema: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  default: {},
  description:
    'API keys (`pc_<key id>_<random>`). Only keyed hashes are stored: HMAC-SHA-256 of the whole key with `secret`. Create keys with `portcullis keys create --consumer ID`.',
  properties: {
    secret: {
      type: 'string',
      minLength: 32,
      description:
        'Server secret (pepper) keying the stored hashes; write `${env:PORTCULLIS_APIKEY_SECRET}` or `${file:PATH}`, never inline. At least 32 characters. Required when a consumer has api_keys. Changing it invalidates every key.',
    },
    header: {
      type: 'string',
      pattern: "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$",
      default: APIKEY_DEFAULTS.header,
      description: 'Request header carrying the key.',
    },
    query: {
      type: 'object',
      additionalProperties: false,
      default: {},
      description: 'Keys in the query string. Off by default: URLs end up in logs, browser history and Referer headers.',
      properties: {
        enabled: { type: 'boolean', default: false, description: 'Accept the key from the query string.' },
        name: { type: 'string', minLength: 1, default: APIKEY_DEFAULTS.query.name, description: 'Query parameter carrying the key.' },
      },
    },
    max_length: {
      type: 'integer',
      minimum: 48,
      maximum: 4096,
      default: APIKEY_DEFAULTS.max_length,
      description: 'Longest key accepted (longer ones are refused before hashing). Why: bounds work per request; generated keys are about 60 characters.',
    },
  },
};

export const CERT_HEADER_DEFAULTS = {
  subject: 'X-Client-Cert-Subject',
  san: 'X-Client-Cert-SAN',
  fingerprint: 'X-Client-Cert-Fingerprint',
  issuer: 'X-Client-Cert-Issuer',
  serial: 'X-Client-Cert-Serial',
} as const;

export const MTLS_DEFAULTS = {
  match: ['fingerprint', 'san', 'subject'] as const,
  allow_unmapped: false,
  forward: true,
} as const;

const headerName = (description: string, dflt: string): JsonSchema => ({
  type: 'string',
  pattern: "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$",
  default: dflt,
  description,
});

export const mtlsSchema: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  default: {},
  description:
    'Client certificate (mTLS) authentication on HTTPS listeners with `tls.client_auth`. A verified certificate is mapped to a consumer by its `certificates` entries.',
  properties: {
    match: {
      type: 'array',
      items: { enum: ['fingerprint', 'san', 'subject'] },
      uniqueItems: true,
      minItems: 1,
      default: [...MTLS_DEFAULTS.match],
      description:
        'Certificate identity fields that may map a certificate to a consumer, most specific first: `fingerprint` (SHA-256 of the DER), `san` (a subjectAltName entry such as `URI:spiffe://acme/billing`), `subject` (distinguished-name attributes such as `CN=billing,O=Acme`). A `certificates` entry using a field not listed here never matches.',
    },
    allow_unmapped: {
      type: 'boolean',
      default: false,
      description:
        'Accept a valid certificate that maps to no consumer (the principal then has no consumer; its subject is the certificate CN). Off: such a certificate gets 401 PC_ERR_AUTH_CERT_UNKNOWN.',
    },
    forward: {
      type: 'boolean',
      default: true,
      description: 'Send the verified certificate details upstream in the `headers` below. Incoming copies of these headers are always removed.',
    },
    headers: {
      type: 'object',
      additionalProperties: false,
      default: {},
      description: 'Header names carrying certificate details upstream (values are percent-encoded outside printable ASCII).',
      properties: {
        subject: headerName('Subject distinguished name, e.g. `CN=billing,O=Acme`.', CERT_HEADER_DEFAULTS.subject),
        san: headerName('Subject alternative names, comma separated, e.g. `DNS:billing.acme.test, URI:spiffe://acme/billing`.', CERT_HEADER_DEFAULTS.san),
        fingerprint: headerName('SHA-256 fingerprint of the certificate (lowercase hex).', CERT_HEADER_DEFAULTS.fingerprint),
        issuer: headerName('Issuer distinguished name.', CERT_HEADER_DEFAULTS.issuer),
        serial: headerName('Serial number (hex).', CERT_HEADER_DEFAULTS.serial),
        cert: {
          type: 'string',
          pattern: "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$",
          description: 'Header carrying the whole DER certificate as an RFC 9440 byte sequence (`:base64:`), e.g. `Client-Cert`. Off unless set.',
        },
      },
    },
  },
};

export const SIGNATURE_DEFAULTS = {
  skew_seconds: 60,
  required_components: ['@method', '@target-uri', 'content-digest'] as const,
  nonce: { required: true, ttl_seconds: 300 },
  max_header_bytes: 4096,
} as const;

const componentList = (description: string, dflt?: readonly string[]): JsonSchema => ({
  type: 'array',
  items: { type: 'string', pattern: "^(@[a-z-]+|[!#$%&'*+.^_`|~0-9a-z-]+)$" },
  uniqueItems: true,
  ...(dflt === undefined ? {} : { default: [...dflt] }),
  description,
});

export const signatureSchema: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  default: {},
  description:
    'HTTP Message Signatures (RFC 9421) with `hmac-sha256` and a per-consumer key (`signature_keys`), with Content-Digest (RFC 9530) checked against the body and a nonce accepted once.',
  properties: {
    skew_seconds: {
      type: 'integer',
      minimum: 1,
      maximum: 3600,
      default: SIGNATURE_DEFAULTS.skew_seconds,
      description:
        'A signature whose `created` time is further than this from the gateway clock (past or future) is refused as stale. Why: 60 s tolerates clock drift while keeping the replay window short.',
    },
    required_components: componentList(
      'Components every signature must cover. `@target-uri` is also satisfied by `@path` + `@query` + `@authority`; `content-digest` is waived for requests without a body (a body added later is refused because it is not covered).',
      SIGNATURE_DEFAULTS.required_components,
    ),
    nonce: {
      type: 'object',
      additionalProperties: false,
      default: {},
      description:
        'Replay protection: each `nonce` parameter is accepted once (state store: memory, or Redis shared by all instances). The memory store forgets nonces on restart, so with it a signature with a nonce created before the gateway started is refused (`PC_ERR_AUTH_PREDATES_START`, no skew allowance).',
      properties: {
        required: { type: 'boolean', default: true, description: 'Refuse signatures without a `nonce` parameter.' },
        ttl_seconds: {
          type: 'integer',
          minimum: 1,
          maximum: 86400,
          default: SIGNATURE_DEFAULTS.nonce.ttl_seconds,
          description:
            'How long a used nonce is remembered; raised to twice `skew_seconds` when lower, so that a nonce cannot be replayed while its signature is still fresh.',
        },
      },
    },
    max_header_bytes: {
      type: 'integer',
      minimum: 256,
      maximum: 65536,
      default: SIGNATURE_DEFAULTS.max_header_bytes,
      description: 'Largest Signature-Input or Signature header parsed (401 above). Why: bounds parsing work per request.',
    },
  },
};

/** Route requirement options: `any_of: [{ api_key: {} }]`. */
export const apiKeyRouteSchema: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  default: {},
  description: 'Require an API key.',
  properties: {},
};

/** Route requirement options: `any_of: [{ mtls: {} }]`. */
export const mtlsRouteSchema: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  default: {},
  description: 'Require a verified client certificate (401 PC_ERR_AUTH_CERT_REQUIRED without one).',
  properties: {},
};

/** Route requirement options: `any_of: [{ signature: { required_components: [...] } }]`. */
export const signatureRouteSchema: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  default: {},
  description: 'Require an HTTP message signature.',
  properties: {
    required_components: componentList('Components required on this route, replacing `auth.signature.required_components`.'),
  },
};

const dateTime = (description: string): JsonSchema => ({ type: 'string', format: 'date-time', description });

/** Credential properties of a consumer; the auth stage spreads them into its consumer schema. */
export const consumerCredentialsSchema: Readonly<Record<'api_keys' | 'certificates' | 'signature_keys', JsonSchema>> = {
  api_keys: {
    type: 'array',
    maxItems: 64,
    description: 'API keys of the consumer, by key id (several at once for rotation).',
    items: {
      type: 'object',
      additionalProperties: false,
      required: ['id', 'hash'],
      properties: {
        id: { type: 'string', pattern: '^[A-Za-z0-9_.:@-]{1,128}$', description: 'Key id, the middle part of `pc_<id>_<random>`; unique across consumers.' },
        hash: {
          type: 'string',
          pattern: '^[0-9a-f]{64}$',
          description: 'HMAC-SHA-256 of the whole key keyed with `auth.api_keys.secret`, lowercase hex (printed by `portcullis keys create`).',
        },
        expires: dateTime('Time after which the key is refused (PC_ERR_AUTH_APIKEY_EXPIRED), RFC 3339.'),
        disabled: { type: 'boolean', default: false, description: 'Refuse this key (revocation without deleting the entry).' },
      },
    },
  },
  certificates: {
    type: 'array',
    maxItems: 64,
    description: 'Client certificate identities of the consumer; an entry matches when every field it gives matches.',
    items: {
      type: 'object',
      additionalProperties: false,
      minProperties: 1,
      properties: {
        subject: {
          type: 'string',
          minLength: 3,
          description:
            "Subject distinguished name as an RFC 4514 string (most specific RDN first, `+` joins the attributes of a multi-valued RDN, `\\` escapes), e.g. `CN=billing,O=Acme,C=DE`. Compared structurally with the certificate's subject: the same RDNs in the same order, each the same set of attribute types (names case-insensitive, or dotted OIDs) and values (exact text); so `CN=billing+O=Acme` matches only a certificate with that one two-attribute RDN.",
        },
        san: {
          type: 'string',
          pattern: '^(DNS|URI|email|IP Address):.+$',
          description: 'A subjectAltName entry the certificate must contain, with its type: `DNS:`, `URI:`, `email:` or `IP Address:`.',
        },
        fingerprint: {
          type: 'string',
          pattern: '^([0-9A-Fa-f]{2}:){31}[0-9A-Fa-f]{2}$|^[0-9A-Fa-f]{64}$',
          description: 'SHA-256 fingerprint of the DER certificate, hex with or without colons.',
        },
      },
    },
  },
  signature_keys: {
    type: 'array',
    maxItems: 16,
    description: 'HMAC-SHA256 keys for HTTP message signatures (RFC 9421), by `keyid`.',
    items: {
      type: 'object',
      additionalProperties: false,
      required: ['key_id', 'secret'],
      properties: {
        key_id: { type: 'string', pattern: '^[A-Za-z0-9_.:@-]{1,128}$', description: 'The `keyid` signature parameter; unique across consumers.' },
        secret: {
          type: 'string',
          minLength: 32,
          description: 'Shared secret (at least 32 characters; `base64:...` for binary keys); use `${env:NAME}` or `${file:PATH}`, never inline.',
        },
        disabled: { type: 'boolean', default: false, description: 'Refuse signatures made with this key.' },
      },
    },
  },
};

/** Parses an RFC 3339 time; null when absent; NaN when unparseable (callers fail closed). */
export function parseExpiry(v: unknown): number | null {
  if (v === undefined || v === null) return null;
  if (typeof v !== 'string') return Number.NaN;
  return Date.parse(v);
}
