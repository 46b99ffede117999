import { DEFAULT_REDACT_QUERY } from '../observe/query-redaction.js';
import { grpcRouteSchema, routeProtocolSchema, upstreamProtocolSchema } from '../grpc/schema.js';
import { DEFAULT_PUBLIC_PATHS, PUBLIC_PATH_CHOICES } from '../admin/access.js';
import type { JsonSchema } from '../core/json-schema.js';
import type { StageModule } from '../core/stage.js';
import { STATE_SCHEMA } from '../store/index.js';
import { bodySchema } from '../body/request-body.js';
import { alertsSchema } from '../observe/alerts/schema.js';
import { auditSchema } from '../observe/audit.js';
import { WEBSOCKET_ROUTE_SCHEMA } from '../websocket/schema.js';
import { http2ListenerSchema } from '../server/h2-flood-schema.js';
import { tracingSchema } from '../observe/tracing/schema.js';

const ms = (description: string, dflt: number, min = 0): JsonSchema => ({
  type: 'integer',
  minimum: min,
  default: dflt,
  description,
});
const int = (description: string, dflt: number, min = 0): JsonSchema => ({
  type: 'integer',
  minimum: min,
  default: dflt,
  description,
});

const listener: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['port'],
  description: 'A traffic listener (HTTP, or HTTPS when `tls` is set).',
  properties: {
    name: { type: 'string', description: 'Listener name, used in logs and metrics. Defaults to `address:port`.' },
    address: { type: 'string', default: '127.0.0.1', description: 'Address to bind. Loopback by default; set `0.0.0.0` or `::` to expose.' },
    port: { type: 'integer', minimum: 0, maximum: 65535, description: 'TCP port (0 picks a free port).' },
    tls: {
      type: 'object',
      additionalProperties: false,
      required: ['cert', 'key'],
      description: 'Serve HTTPS with this certificate; optionally require client certificates (mTLS).',
      properties: {
        cert: { type: 'string', description: 'PEM certificate chain file.' },
        key: { type: 'string', description: 'PEM private key file.' },
        client_auth: {
          enum: ['none', 'optional', 'required'],
          default: 'none',
          description: '`required`: the handshake is refused without a valid client certificate. `optional`: routes decide (401 without one).',
        },
        ca: { type: 'string', description: 'PEM bundle of CAs trusted to issue client certificates (required when client_auth is not none).' },
        crl: { type: 'array', items: { type: 'string' }, description: 'PEM CRL files; revoked client certificates are refused at the handshake.' },
        min_version: { enum: ['TLSv1.2', 'TLSv1.3'], default: 'TLSv1.2', description: 'Lowest TLS version accepted.' },
      },
    },
    max_header_bytes: int(
      'Largest request header block accepted (431 above). Why: bounds memory per connection; 16 KiB fits large JWTs and cookies.',
      16384,
      1024,
    ),
    max_url_bytes: int(
      'Longest request target accepted (414 above). Why: long URLs are a scanner and overflow signature; 8 KiB is what CDNs accept.',
      8192,
      64,
    ),
    headers_timeout_ms: ms('Time a client has to send all request headers; slow clients (slowloris) are disconnected.', 10000, 100),
    request_timeout_ms: ms('Time a client has to send the whole request, body included.', 30000, 100),
    keep_alive_timeout_ms: ms('Idle time before a keep-alive connection is closed.', 5000, 100),
    max_connections: int('Most simultaneous connections on this listener; more are refused. Why: bounds file descriptors and memory.', 10000, 1),
    max_requests_per_socket: int('Requests served on one connection before it is closed (0: unlimited).', 0, 0),
    protocols: {
      type: 'array',
      items: { enum: ['http/1.1', 'h2'] },
      minItems: 1,
      uniqueItems: true,
      default: ['http/1.1'],
      description:
        'HTTP versions served (ALPN names). With `tls`, `[http/1.1, h2]` offers both by ALPN on one port and `[h2]` refuses HTTP/1.1 clients; without `tls`, `[h2]` serves cleartext HTTP/2 with prior knowledge (h2c) and nothing else. Why HTTP/1.1 only by default: as nginx (`http2 on`) and Envoy (codec options), HTTP/2 is turned on where it was meant to be (docs/http2.md).',
    },
    http2: http2ListenerSchema,
  },
};

const upstream: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['targets'],
  description: 'A named group of upstream targets with load balancing, health checks, timeouts and retries.',
  properties: {
    targets: {
      type: 'array',
      minItems: 1,
      description: 'Servers of this upstream.',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['url'],
        properties: {
          url: { type: 'string', pattern: '^https?://', format: 'http-url', description: 'Base URL, e.g. `http://127.0.0.1:3000`.' },
          weight: { type: 'integer', minimum: 1, maximum: 1000, default: 1, description: 'Relative share of traffic under round robin.' },
        },
      },
    },
    balance: { enum: ['round_robin', 'least_connections'], default: 'round_robin', description: 'Load-balancing algorithm (round robin is weighted).' },
    connect_timeout_ms: ms('Time to establish a connection to a target (502 after retries).', 2000, 1),
    response_timeout_ms: ms('Time to receive the response headers from a target (504 above).', 30000, 1),
    max_connections: int('Keep-alive pool size per target.', 128, 1),
    keep_alive_timeout_ms: ms('Idle upstream connections are closed after this.', 30000, 100),
    max_response_bytes: int('Largest upstream body buffered when a respond stage needs the body (502 above).', 10485760, 1024),
    health_check: {
      type: 'object',
      additionalProperties: false,
      description: 'Active health check: a GET to `path` on each target every `interval_ms`.',
      properties: {
        path: { type: 'string', default: '/healthz', description: 'Path probed on each target.' },
        interval_ms: ms('Time between probes.', 5000, 50),
        timeout_ms: ms('Probe timeout.', 2000, 10),
        healthy_threshold: int('Consecutive successes that bring a target back.', 2, 1),
        unhealthy_threshold: int('Consecutive failures that take a target out.', 3, 1),
        expected_status: { type: 'array', items: { type: 'integer' }, default: [200, 204], description: 'Statuses that count as healthy.' },
      },
    },
    passive: {
      type: 'object',
      additionalProperties: false,
      default: {},
      description: 'Passive ejection on consecutive connect errors or 5xx responses from live traffic.',
      properties: {
        consecutive_failures: int('Consecutive failures that eject a target (0 disables).', 5, 0),
        ejection_ms: ms('How long an ejected target stays out before it is tried again.', 10000, 100),
      },
    },
    path_matching: {
      type: 'object',
      additionalProperties: false,
      default: {},
      description:
        "How this upstream's framework matches paths, so that the gateway routes a path variant to the route whose resource the upstream would serve for it. The defaults assume the laxest reading (Express, Koa and Spring fold case or a trailing slash): `/api/Admin/` is then routed as `/api/admin` would be, never through a laxer prefix route. Set them to what the upstream really does (Fastify: both strict) for exact routing.",
      properties: {
        case: {
          enum: ['insensitive', 'sensitive'],
          default: 'insensitive',
          description: "`insensitive`: the upstream may match `/Admin` as `/admin` (Express's and Koa's default).",
        },
        trailing_slash: {
          enum: ['ignored', 'significant'],
          default: 'ignored',
          description: "`ignored`: the upstream may match `/admin/` as `/admin` (Express's default).",
        },
      },
    },
    protocol: upstreamProtocolSchema,
    retries: {
      type: 'object',
      additionalProperties: false,
      default: {},
      description: 'Retries on connection failure, for idempotent methods only (GET, HEAD, OPTIONS, PUT, DELETE), on another target.',
      properties: {
        attempts: int('Extra attempts after the first.', 2, 0),
        budget_percent: int('Retries allowed as a percentage of requests over the last 10 s (retry storm protection).', 20, 0),
        min_per_second: int('Retries always allowed per second regardless of the budget.', 10, 0),
      },
    },
  },
};

const route: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'match', 'upstream'],
  description: 'A route: what it matches, where it goes, and the stages that apply to it.',
  properties: {
    id: { type: 'string', pattern: '^[A-Za-z0-9_.:-]+$', description: 'Unique route id, used in logs and metrics.' },
    match: {
      type: 'object',
      additionalProperties: false,
      description: 'Request match: every given field must match. Exactly one of `path` and `prefix`.',
      properties: {
        hosts: {
          type: 'array',
          items: { type: 'string' },
          description: 'Host names: exact (`api.example.com`) or wildcard (`*.example.com`). Any host when absent.',
        },
        methods: { type: 'array', items: { type: 'string', pattern: '^[A-Z]+$' }, description: 'Methods (uppercase). Any method when absent.' },
        path: { type: 'string', pattern: '^/', description: 'Exact path or template with `{param}` segments, e.g. `/items/{id}`.' },
        prefix: { type: 'string', pattern: '^/', description: 'Path prefix, matched on segment boundaries (`/api` matches `/api` and `/api/x`, not `/apix`).' },
      },
      oneOf: [{ required: ['path'] }, { required: ['prefix'] }],
    },
    upstream: { type: 'string', description: 'Name of an upstream in `upstreams`.' },
    strip_prefix: { type: 'string', pattern: '^/', description: 'Remove this prefix from the path before forwarding.' },
    rewrite: { type: 'string', pattern: '^/', description: 'Forward to this path instead; `{param}` placeholders take captured values.' },
    max_body_bytes: { type: 'integer', minimum: 0, description: 'Body size limit for this route (overrides `limits.max_body_bytes`).' },
    public: {
      type: 'boolean',
      description:
        'Marks a route whose `auth` is `none` (or `mode: off`) as public on purpose. No effect on requests; `portcullis audit-config` reports every unauthenticated route without it. Why a marker: an open route written by mistake and one meant for everybody look alike in a config file.',
    },
    preserve_host: {
      type: 'boolean',
      default: false,
      description: "Send the client's Host header upstream instead of the target's host (the original is always in X-Forwarded-Host).",
    },
    body: bodySchema(false),
    websocket: WEBSOCKET_ROUTE_SCHEMA,
    protocol: routeProtocolSchema,
    grpc: grpcRouteSchema,
  },
};

/** The gateway's core schema; stage modules add their own keys (see compose()). */
export function coreSchema(): JsonSchema & { properties: Record<string, JsonSchema> } {
  // a fresh deep copy each time: composeSchema() adds stage keys into it
  return structuredClone({
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    type: 'object',
    additionalProperties: false,
    required: ['version', 'listeners', 'upstreams'],
    description: 'Portcullis configuration.',
    properties: {
      version: { const: 1, description: 'Config format version.' },
      workers: {
        type: 'integer',
        minimum: 1,
        maximum: 64,
        default: 1,
        description:
          'Processes serving traffic behind the same ports (node:cluster). Limits stay global: in Redis, or with the memory store in the primary process. Changing it needs a restart.',
      },
      state: STATE_SCHEMA,
      listeners: { type: 'array', minItems: 1, items: listener, description: 'Traffic listeners.' },
      admin: {
        type: 'object',
        additionalProperties: false,
        default: {},
        description: 'Admin listener: health, readiness, Prometheus metrics, admin API. Separate from traffic.',
        properties: {
          enabled: { type: 'boolean', default: true, description: 'Serve the admin listener.' },
          address: {
            type: 'string',
            default: '127.0.0.1',
            description: 'Bind address. Loopback by default; any other address needs `token` (the gateway refuses to start or reload without one).',
          },
          port: { type: 'integer', minimum: 0, maximum: 65535, default: 9090, description: 'Admin port.' },
          token: {
            type: 'string',
            minLength: 16,
            pattern: '^[!-~]+$',
            description:
              'Bearer token (`Authorization: Bearer <token>`, compared in constant time) required on every admin path but `public_paths`, metrics included; use `${env:NAME}` or `${file:PATH}`. Without it the listener must be loopback, serves reads and refuses writes. At least 16 visible ASCII characters. Why: a shorter secret can be guessed over the network.',
          },
          public_paths: {
            type: 'array',
            items: { enum: [...PUBLIC_PATH_CHOICES] },
            uniqueItems: true,
            default: [...DEFAULT_PUBLIC_PATHS],
            description:
              'Paths served without the token (GET and HEAD only; exact paths): `/healthz`, `/readyz`, `/metrics`. Why only the probes by default: load balancers check health without credentials, while metrics reveal routes, consumers and traffic (Prometheus sends the token with `authorization: { credentials_file: ... }`).',
          },
          tenant_tokens: {
            type: 'array',
            maxItems: 1000,
            default: [],
            description:
              "Admin tokens scoped to one tenant (needs `token`): a tenant token reads only its tenant's series at /metrics, lists, places and lifts only its tenant's bans, sees only its tenant's alerts and refusals, and gets 403 PC_ERR_FORBIDDEN on everything else (another tenant, global series, the cache purge). See docs/tenants-monitoring.md.",
            items: {
              type: 'object',
              additionalProperties: false,
              required: ['tenant', 'token'],
              properties: {
                tenant: { type: 'string', pattern: '^[A-Za-z0-9_.:@-]{1,128}$', description: 'The tenant (an id in `tenants`) this token sees and acts on.' },
                token: {
                  type: 'string',
                  minLength: 16,
                  pattern: '^[!-~]+$',
                  description:
                    'Bearer token of this tenant, compared in constant time; use `${env:NAME}` or `${file:PATH}`. Distinct from `token` and from every other tenant token.',
                },
              },
            },
          },
        },
      },
      trusted_proxies: {
        type: 'array',
        items: { type: 'string' },
        default: [],
        description:
          'CIDRs of proxies whose forwarding header (`client_ip.header`) is believed. Empty: the TCP peer is the client. Why empty: any client can write forwarding headers; only your own proxies should be believed.',
      },
      client_ip: {
        type: 'object',
        additionalProperties: false,
        default: {},
        description:
          'How the client address is read and how clients are grouped. The client is the TCP peer, or, when the peer is one of `trusted_proxies`, the right-most address of `header` that is not itself a trusted proxy. Rate limits, quotas, concurrency limits, abuse counters and bans all count a client by its network of `ipv4_prefix` / `ipv6_prefix` bits; an IPv4-mapped IPv6 address counts as its IPv4 address.',
        properties: {
          header: {
            enum: ['x-forwarded-for', 'forwarded'],
            default: 'x-forwarded-for',
            description:
              "The one forwarding header read from a trusted proxy (all its lines, in order); the other is ignored for the client address, and neither is forwarded as the client sent it (the upstream gets one X-Forwarded-For and one Forwarded entry: the resolved client). `forwarded` (RFC 7239) also takes the proto and host of the client's element. Set it to the header your proxies write: the other one arrives as the client wrote it. Why X-Forwarded-For by default: every common proxy writes it. See docs/client-ip.md.",
          },
          ipv4_prefix: {
            type: 'integer',
            minimum: 16,
            maximum: 32,
            default: 32,
            description:
              'IPv4 clients are counted, limited and banned by this network prefix (`1.2.3.0/24` for 24). Why /32: an IPv4 address is scarce, and a wider prefix puts unrelated users behind one limit.',
          },
          ipv6_prefix: {
            type: 'integer',
            minimum: 32,
            maximum: 128,
            default: 64,
            description:
              'IPv6 clients are counted, limited and banned by this network prefix (`2001:db8:1:2::/64`). Why /64: one subscriber is usually given a whole /64 and can rotate through its 2^64 addresses; 128 counts each address apart.',
          },
        },
      },
      request_id: {
        type: 'object',
        additionalProperties: false,
        default: {},
        description: 'Request id generation and propagation.',
        properties: {
          header: {
            type: 'string',
            pattern: "^[A-Za-z0-9!#$%&'*+.^_`|~-]+$",
            maxLength: 64,
            default: 'x-request-id',
            description: 'Header carrying the request id upstream and back to the client (any case; sent lowercase).',
          },
          trust_incoming: {
            type: 'boolean',
            default: true,
            description: 'Accept an incoming request id from trusted proxies (it is always replaced for other peers).',
          },
        },
      },
      limits: {
        type: 'object',
        additionalProperties: false,
        default: {},
        description: 'Default request limits.',
        properties: {
          max_body_bytes: int(
            'Largest request body (413 above, the upstream is not contacted). Why: 1 MiB fits JSON APIs; raise it per route for uploads.',
            1048576,
            0,
          ),
          max_query_params: int('Most query parameters in one request (400 above). Why: bounds parsing work (HashDoS).', 256, 1),
          dot_segments: {
            enum: ['refuse', 'resolve'],
            default: 'refuse',
            description:
              '`..` path segments (raw or percent-encoded): `refuse` answers 403 PC_ERR_PATH_TRAVERSAL; `resolve` removes them (RFC 3986) and routes the result. Why refuse: clients resolve dot segments before sending, so one on the wire is a traversal attempt.',
          },
          path_parameters: {
            enum: ['refuse', 'allow'],
            default: 'refuse',
            description:
              '`;` in a path: `refuse` answers 400 PC_ERR_PATH_AMBIGUOUS; `allow` forwards it, reads `..;x` and `.;x` as dot segments, and routes as if each segment were cut at `;` when that selects a more specific route. Why refuse: Tomcat and Spring cut segments at `;` (`/admin;x` is `/admin`, `/..;/` climbs) while Node frameworks do not; JSON APIs do not use path parameters.',
          },
          query_semicolons: {
            enum: ['refuse', 'allow'],
            default: 'refuse',
            description:
              'A raw `;` in the query string: `refuse` answers 400 PC_ERR_QUERY_AMBIGUOUS; `allow` reads it as part of a value. Why refuse: Rack 2 (Rails) and older Python split parameters at `;` too, so `a=1;b=2` is one parameter here and two there (parameter cloaking); clients encode `;` in values as %3B.',
          },
          body: bodySchema(true),
        },
      },
      client_headers: {
        type: 'object',
        additionalProperties: false,
        default: {},
        description:
          'Request headers that upstream frameworks read as routing, method or identity (X-Original-URL, X-HTTP-Method-Override, X-Real-IP, Remote-User, ...): the client could otherwise make the upstream act on a path, method or user the gateway never checked. The built-in list is stripped from every request; docs/security-model.md lists it.',
        properties: {
          strip: {
            type: 'array',
            items: { type: 'string', pattern: "^[A-Za-z0-9!#$%&'*+.^_`|~-]+$" },
            default: [],
            description: 'More header names to strip from every request.',
          },
          keep: {
            type: 'array',
            items: { type: 'string', pattern: "^[A-Za-z0-9!#$%&'*+.^_`|~-]+$" },
            default: [],
            description:
              'Names from the built-in list that this deployment forwards as the client sent them (only when the upstream does not read them as the list says).',
          },
        },
      },
      responses: {
        type: 'object',
        additionalProperties: false,
        default: {},
        description: 'What of upstream responses reaches clients.',
        properties: {
          strip_headers: {
            type: 'array',
            items: { type: 'string', pattern: "^[A-Za-z0-9!#$%&'*+.^_`|~-]+$" },
            default: ['server', 'x-powered-by', 'x-aspnet-version', 'x-aspnetmvc-version', 'x-runtime', 'x-generator'],
            description:
              "Response headers removed before the response is sent. Why: they name the upstream's software and version, which scanners match against known vulnerabilities.",
          },
          upstream_5xx: {
            enum: ['replace', 'pass'],
            default: 'replace',
            description:
              '`replace`: the body of an upstream 5xx response is replaced by a problem+json reply with the same status (code PC_ERR_UPSTREAM_ERROR) and the original is logged (its first 2 KiB); `pass` sends it as is. Why: error pages carry stack traces, queries and internal host names.',
          },
        },
      },
      access_log: {
        type: 'object',
        additionalProperties: false,
        default: {},
        description: 'One JSON line per request.',
        properties: {
          enabled: { type: 'boolean', default: true, description: 'Write the access log.' },
          path: { type: 'string', default: 'stdout', description: '`stdout`, `stderr` or a file path (appended).' },
          redact_query: {
            type: 'array',
            items: { type: 'string', minLength: 1, pattern: '^\\*?[^*]+$' },
            default: [...DEFAULT_REDACT_QUERY],
            description:
              'Query parameters whose values are replaced by `[REDACTED]` wherever a query is logged (access log, WAF matches). Names are compared case-insensitively after percent-decoding, and each part of a bracket or dotted name alone (`token[]`, `user[password]`); `*token` matches every name ending in `token`. The parameters the auth config reads credentials from (`auth.jwt.query`, `auth.api_keys.query.name`, OpenAPI `apiKey` schemes `in: query`) are always added. Why this default: the credentials that reach URLs (OAuth and OIDC tokens, codes and assertions, client secrets, passwords, API keys, session ids, signed-URL signatures, one-time codes), which the OWASP Logging Cheat Sheet says never to log.',
          },
        },
      },
      shutdown: {
        type: 'object',
        additionalProperties: false,
        default: {},
        description:
          'Graceful shutdown, the same for every way the gateway stops (SIGTERM, SIGINT, a cluster worker told to stop, a fatal error, `Gateway.stop()`); docs/shutdown.md.',
        properties: {
          grace_ms: ms(
            "Time in-flight requests get to finish once the stop begins (new connections are refused at once). When it runs out, their connections are cut; then each sink and client (access log, audit log, alert webhooks, state store, upstream pools) gets at most 1.5 s more to finish, and the process exits: 0 when everything finished, 1 with a `stop_incomplete` log line naming what did not (access-log lines a stalled stdout never took are counted in `portcullis_access_log_dropped_total`). So the process ends within `grace_ms` + 1.5 s whatever a sink or dependency does; keep it below the orchestrator's termination period minus 2 s. A second SIGTERM or SIGINT during the stop exits at once with 1.",
            15000,
            0,
          ),
        },
      },
      reload: {
        type: 'object',
        additionalProperties: false,
        default: {},
        description: 'Hot reload (SIGHUP always reloads).',
        properties: {
          watch: { type: 'boolean', default: true, description: 'Reload when the config file changes.' },
        },
      },
      alerts: alertsSchema,
      audit: auditSchema,
      tracing: tracingSchema,
      upstreams: {
        type: 'object',
        additionalProperties: upstream,
        description: 'Upstreams by name.',
      },
      routes: {
        type: 'array',
        items: route,
        default: [],
        description: 'Routes, matched most specific first (exact paths, then templates, then the longest prefix). `apis` add the routes of OpenAPI documents.',
      },
    },
  });
}

/** Composes the core schema with each stage module's global and route keys. */
export function composeSchema(modules: readonly StageModule[]): JsonSchema {
  const root = coreSchema();
  const routeProps = (root.properties.routes as { items: { properties: Record<string, JsonSchema> } }).items.properties;
  for (const m of modules) {
    for (const [k, s] of Object.entries(m.schema?.global ?? {})) {
      if (k in root.properties) throw new Error(`stage ${m.id}: global config key '${k}' is already defined`);
      root.properties[k] = s;
    }
    for (const [k, s] of Object.entries(m.schema?.route ?? {})) {
      if (k in routeProps) throw new Error(`stage ${m.id}: route config key '${k}' is already defined`);
      routeProps[k] = s;
    }
  }
  return root;
}
