import type { JsonSchema } from '../../core/json-schema.js';
import { RATE_PATTERN } from './decide.js';

export const KEY_PART_PATTERN = "^(ip|consumer|tenant|route|method|header:[A-Za-z0-9!#$%&'*+.^_`|~-]{1,64}|claim:[A-Za-z0-9_.:/-]{1,64})$";

const mode = (description: string): JsonSchema => ({ enum: ['enforce', 'monitor', 'off'], description });

/** One limit definition (global, per route, per plan or per tenant). */
export const LIMIT_SCHEMA: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'key'],
  description: 'A limit: a token bucket (`rate` + `burst`), a calendar quota, a concurrency cap, or several of them on the same key.',
  properties: {
    name: {
      type: 'string',
      pattern: '^[A-Za-z0-9_.:-]{1,64}$',
      description: 'Limit name: part of the state key and the policy name in RateLimit headers. Unique within its scope.',
    },
    key: {
      type: 'array',
      minItems: 1,
      maxItems: 6,
      uniqueItems: true,
      items: { type: 'string', pattern: KEY_PART_PATTERN },
      description:
        'What is counted separately: any combination of `ip` (the client after trusted proxies, by its network of `client_ip.ipv4_prefix` / `ipv6_prefix` bits: an IPv6 client by its /64 by default), `consumer`, `tenant`, `route`, `method` (HEAD counts as GET), `header:NAME` (first value of a request header), `claim:NAME` (a top-level claim of the verified principal). A part the request lacks (no principal, header or claim) falls back to the client IP. Values longer than 128 characters are hashed. Combine header and claim keys with a per-IP limit: any client can invent new values.',
    },
    rate: {
      description: 'Sustained rate: `"25/s"`, `"1500/min"`, `"10/hour"`, or `{ requests, per: second | minute | hour }`.',
      oneOf: [
        { type: 'string', pattern: RATE_PATTERN },
        {
          type: 'object',
          additionalProperties: false,
          required: ['requests', 'per'],
          properties: {
            requests: { type: 'number', exclusiveMinimum: 0, description: 'Requests per period.' },
            per: { enum: ['second', 'minute', 'hour'], description: 'Period.' },
          },
        },
      ],
    },
    burst: {
      type: 'integer',
      minimum: 1,
      maximum: 1000000000,
      description:
        'Bucket size: requests accepted at once. A new key starts with a full bucket (AWS API Gateway semantics). Defaults to the requests of one `rate` period.',
    },
    quota: {
      type: 'object',
      additionalProperties: false,
      required: ['requests', 'per'],
      description: 'Requests per UTC calendar day or month (usage plans); the 429 carries Retry-After to the window end.',
      properties: {
        requests: { type: 'integer', minimum: 1, description: 'Requests per window.' },
        per: { enum: ['day', 'month'], description: 'UTC calendar window.' },
      },
    },
    concurrency: { type: 'integer', minimum: 1, description: 'Most requests in flight at once for one key value.' },
    lease_ms: {
      type: 'integer',
      minimum: 1000,
      description:
        'With Redis, a concurrency slot of a gateway that died is freed after this time. Default 120000. Why: longer than any request should take, short enough that a crash does not block clients for long.',
    },
    methods: {
      type: 'array',
      items: { type: 'string', pattern: '^[A-Z]+$' },
      description:
        'Apply only to these methods (uppercase); all methods when absent. GET includes HEAD: a GET route serves HEAD and upstream frameworks run their GET handler for it. A limit listing HEAD without GET counts HEAD only, in addition to the GET limits.',
    },
    phase: {
      enum: ['pre-auth', 'limits'],
      description:
        'When the limit runs. Default: `pre-auth` for keys without consumer, tenant or claim parts that include `ip` (they protect authentication itself), `limits` otherwise.',
    },
    on_store_failure: {
      enum: ['open', 'closed'],
      description:
        'When the shared store (Redis, or the primary process) is unreachable: `open` (default) enforces the same limit in this process only; `closed` answers 503. Why open: clients stay limited, per instance, while the store is down.',
    },
    mode: mode('Overrides `rate_limits.mode` for this limit: `monitor` logs what it would refuse, `off` disables it.'),
  },
  anyOf: [{ required: ['rate'] }, { required: ['quota'] }, { required: ['concurrency'] }],
};

const limitList = (description: string): JsonSchema => ({ type: 'array', maxItems: 64, items: LIMIT_SCHEMA, description });

export const ADAPTIVE_SCHEMA: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  description: 'Adaptive rates for one upstream (AIMD).',
  properties: {
    p95_latency_ms: {
      type: 'integer',
      minimum: 0,
      default: 1000,
      description: 'p95 latency (ms) above which the upstream counts as overloaded (0: ignore latency).',
    },
    error_rate: { type: 'number', minimum: 0, maximum: 1, default: 0.05, description: 'Share of 5xx responses above which the upstream counts as overloaded.' },
    window_ms: { type: 'integer', minimum: 100, default: 5000, description: 'Measurement window; the factor changes once per window.' },
    min_samples: { type: 'integer', minimum: 1, default: 20, description: 'Windows with fewer responses count as healthy.' },
    decrease: { type: 'number', exclusiveMinimum: 0, exclusiveMaximum: 1, default: 0.5, description: 'Multiplicative decrease per overloaded window.' },
    increase: { type: 'number', exclusiveMinimum: 0, maximum: 1, default: 0.1, description: 'Additive increase per healthy window (factor grows back to 1).' },
    min_factor: { type: 'number', exclusiveMinimum: 0, maximum: 1, default: 0.1, description: 'Lowest factor.' },
  },
};

/** Top-level `rate_limits`. */
export const RATE_LIMITS_SCHEMA: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  default: {},
  description: 'Rate limits, quotas and concurrency limits. State lives in the `state` store (memory, or Redis for one global limit across instances).',
  properties: {
    mode: { ...mode('Default mode of every limit.'), default: 'enforce' },
    headers: {
      type: 'boolean',
      default: true,
      description: 'Send `RateLimit` and `RateLimit-Policy` headers (IETF httpapi draft) on allowed and refused responses.',
    },
    limits: limitList(
      'Global limits: apply to every route unless the route says `rate_limit: off` or `global: false`. A global limit keyed by `ip` counts across all routes.',
    ),
    plans: {
      type: 'object',
      additionalProperties: limitList('Limits of one plan.'),
      propertyNames: { pattern: '^[A-Za-z0-9_.:-]{1,64}$' },
      default: {},
      description: 'Limits per consumer plan (`free`, `pro`, ...), applied when the principal has that plan.',
    },
    default_plan: { type: 'string', description: 'Plan applied to principals (and anonymous requests) without one.' },
    tenants: {
      type: 'object',
      additionalProperties: limitList('Limits of one tenant.'),
      propertyNames: { pattern: '^[A-Za-z0-9_.:-]{1,128}$' },
      default: {},
      description: 'Limits per tenant, applied when the principal belongs to that tenant (e.g. one bucket for the whole tenant with `key: [tenant]`).',
    },
    adaptive: {
      type: 'object',
      additionalProperties: ADAPTIVE_SCHEMA,
      default: {},
      description: 'Upstreams (by name) whose routes get adaptive rates: rates shrink while the upstream is slow or failing.',
    },
  },
};

/** Route key `rate_limit`. */
export const ROUTE_RATE_LIMIT_SCHEMA: JsonSchema = {
  description:
    'Limits of this route: a list (added to the global, plan and tenant limits; counted per route), `off` (no limits at all on this route), or `{ limits, global, mode }`.',
  oneOf: [
    { const: 'off' },
    limitList('Route limits, added to the global ones.'),
    {
      type: 'object',
      additionalProperties: false,
      properties: {
        limits: limitList('Route limits.'),
        global: { type: 'boolean', description: 'Also apply global, plan and tenant limits (default true).' },
        mode: mode("Mode of this route's limits (overrides `rate_limits.mode`)."),
      },
    },
  ],
};
