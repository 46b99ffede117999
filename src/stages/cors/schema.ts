/** The `cors` keys: defaults at the top level, a route's own settings (or `off`) on the route. */
import type { JsonSchema } from '../../core/json-schema.js';

const list = (description: string, dflt?: string[]): JsonSchema => ({
  type: 'array',
  items: { type: 'string', minLength: 1 },
  ...(dflt === undefined ? {} : { default: dflt }),
  description,
});

/** The settings of a policy; `withDefaults` for the top-level key, without for a route's overrides. */
function policyProperties(withDefaults: boolean): Record<string, JsonSchema> {
  const d = <T>(v: T): T | undefined => (withDefaults ? v : undefined);
  return {
    mode: {
      enum: ['enforce', 'monitor', 'off'],
      ...(withDefaults ? { default: 'enforce' } : {}),
      description:
        '`enforce` answers preflights and adds the CORS headers; `monitor` logs what it would have answered and lets preflights through to the route; `off` does nothing.',
    },
    allow_origins: list(
      'Origins allowed to call the route from a browser: exact (`https://app.example.com`), a wildcard subdomain (`https://*.example.com`: any depth, not the bare domain) or `*` (any origin; not with credentials). Why empty by default: an API is not readable cross-origin until its owner says by whom.',
      d([]),
    ),
    allow_methods: list(
      "Methods a preflight may ask for. Default: GET, HEAD, POST, PUT, PATCH, DELETE (a route's own `methods` still limit what is routed).",
      d(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE']),
    ),
    allow_headers: list(
      'Request headers a preflight may ask for (case-insensitive), or `*` for any. Why this default: the headers API clients send besides the CORS-safelisted ones.',
      d(['authorization', 'content-type', 'x-api-key', 'x-request-id', 'if-match', 'if-none-match']),
    ),
    expose_headers: list(
      'Response headers browser scripts may read besides the safelisted ones. Why this default: the request id and the RateLimit headers are what clients act on.',
      d(['x-request-id', 'ratelimit', 'ratelimit-policy', 'retry-after']),
    ),
    allow_credentials: {
      type: 'boolean',
      ...(withDefaults ? { default: false } : {}),
      description:
        'Let browsers send cookies and HTTP authentication cross-origin (Access-Control-Allow-Credentials). Refused with `*` origins: any site could then act as the logged-in user.',
    },
    max_age_s: {
      type: 'integer',
      minimum: 0,
      maximum: 86400,
      ...(withDefaults ? { default: 600 } : {}),
      description:
        'How long browsers may cache a preflight answer (Access-Control-Max-Age). Why 10 minutes: fewer preflights without keeping a changed policy out of browsers for long.',
    },
  };
}

export function corsGlobalSchema(): JsonSchema {
  return {
    type: 'object',
    additionalProperties: false,
    default: {},
    description:
      'Cross-origin resource sharing for browser clients: preflight requests (OPTIONS with Access-Control-Request-Method) are answered by the gateway for the route the real request would take, and allowed origins get the CORS response headers, on proxied responses and refusals alike. These are the defaults of routes with a `cors` key; `all_routes: true` turns it on for every route.',
    properties: {
      all_routes: {
        type: 'boolean',
        default: false,
        description: 'Apply these settings to every route without its own `cors` key (a route opts out with `cors: off`).',
      },
      ...policyProperties(true),
    },
  };
}

export function corsRouteSchema(): JsonSchema {
  return {
    description: 'CORS on this route: `off`, or settings that override the top-level `cors` ones (an empty object takes them all).',
    oneOf: [
      { const: 'off', description: 'No CORS on this route.' },
      { type: 'object', additionalProperties: false, description: "This route's CORS settings.", properties: policyProperties(false) },
    ],
  };
}
