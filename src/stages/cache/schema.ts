/** The `cache` keys: the store and defaults at the top level, a route's caching on the route. */
import type { JsonSchema } from '../../core/json-schema.js';

const ms = (description: string, dflt: number | undefined, min = 0): JsonSchema => ({
  type: 'integer',
  minimum: min,
  maximum: 31_536_000_000,
  ...(dflt === undefined ? {} : { default: dflt }),
  description,
});

export function cacheGlobalSchema(): JsonSchema {
  return {
    type: 'object',
    additionalProperties: false,
    default: {},
    description:
      'The response cache (RFC 9111, a shared cache) of routes with a `cache` key: where entries live and the defaults of every cached route. A cached response is served only after authentication, authorization, rate limits, request validation and the WAF passed; responses to requests with credentials are stored only when the response allows it (RFC 9111 §3.5), and then under the tenant or consumer.',
    properties: {
      store: {
        enum: ['memory', 'redis'],
        default: 'memory',
        description:
          '`memory`: this process, bounded by `max_bytes`, least recently used first out. `redis`: the `state` Redis (which must be configured), shared by every instance: a fill, a purge and an invalidation on one instance hold on all.',
      },
      max_bytes: {
        type: 'integer',
        minimum: 1024,
        maximum: 68_719_476_736,
        default: 67_108_864,
        description:
          'Most bytes the memory store holds (bodies, headers and a fixed overhead per entry). Why 64 MiB: small against a gateway process, large for API responses.',
      },
      max_entry_bytes: {
        type: 'integer',
        minimum: 1,
        maximum: 67_108_864,
        default: 1_048_576,
        description:
          'Larger responses are not stored: they stream to the client uncached. Why 1 MiB: a Redis command copying a larger value stalls every other command.',
      },
      max_variants: {
        type: 'integer',
        minimum: 1,
        maximum: 64,
        default: 8,
        description: 'Variants (responses that differ by the request headers their Vary names) kept per URL and partition; the oldest goes first.',
      },
      heuristic: {
        type: 'boolean',
        default: false,
        description:
          'Heuristic freshness (10% of the time since Last-Modified) for responses without Cache-Control or Expires. Why off: an API response without freshness information is usually meant to be fresh on every request.',
      },
      heuristic_max_ms: ms('Cap of a heuristic lifetime.', 86_400_000),
      keep_stale_ms: ms(
        'How long a stale entry is kept: to be revalidated with a conditional request when it has a validator (ETag, Last-Modified), served to a request whose max-stale allows it, or updated by a HEAD.',
        300_000,
      ),
      stale_if_error_ms: ms(
        'How stale an entry may be served when the upstream fails (connection error, 500, 502, 503, 504) although the response has no stale-if-error (0: only when it has one). Never for must-revalidate, proxy-revalidate, s-maxage or no-cache responses.',
        0,
      ),
      lock_ms: ms(
        'Request coalescing: while one request fills an entry, others for the same entry wait at most this long for it (then go upstream themselves). With Redis, a lock with this expiry: a stuck filler never blocks the entry longer.',
        5000,
        1,
      ),
      tag_header: {
        type: ['string', 'null'],
        pattern: '^[A-Za-z0-9-]{1,64}$',
        default: 'cache-tag',
        description: 'Response header whose comma- or space-separated values tag the stored response, for purge by tag through the admin API (null: no tags).',
      },
      status_header: {
        type: 'boolean',
        default: true,
        description: 'Add the Cache-Status response header (RFC 9211): hit, or why the request went upstream and whether the response was stored.',
      },
    },
  };
}

export function cacheRouteSchema(): JsonSchema {
  return {
    description:
      "Caches this route's GET and HEAD responses as RFC 9111 allows (`on`, or settings), or not at all (`off`, the default). Unsafe methods on the route invalidate the URL's entries (RFC 9111 §4.4).",
    oneOf: [
      { enum: ['on', 'off'] },
      {
        type: 'object',
        additionalProperties: false,
        properties: {
          ttl_ms: ms(
            'Lifetime of a response that carries no freshness information (no Cache-Control max-age or s-maxage, no Expires); absent: such responses are not stored unless heuristics are on.',
            undefined,
            1,
          ),
          max_ttl_ms: ms('Cap of every lifetime, whatever the response says.', undefined, 1),
          key: {
            type: 'array',
            items: { type: 'string', pattern: '^(tenant|consumer|header:[A-Za-z0-9-]{1,64})$' },
            uniqueItems: true,
            maxItems: 8,
            description:
              'What separates entries besides the method and URL: `tenant`, `consumer`, `header:NAME`. Why tenant and consumer by default: a response stored for one principal is never served to another. Responses to requests with credentials are never shared across principals without `tenant` or `consumer` here: listing neither is a config error on an authenticated route.',
          },
          heuristic: { type: 'boolean', description: 'Overrides the top-level `heuristic` for this route.' },
          stale_if_error_ms: ms('Overrides the top-level `stale_if_error_ms` for this route.', undefined),
        },
      },
    ],
  };
}
