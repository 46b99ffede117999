/**
 * The one error catalogue. Codes are API: never rename one, only add.
 * Every local reply carries one of these codes (RFC 9457 problem+json `code` member).
 * docs/errors.md is generated from this table (`npm run docs:config`).
 */
export interface ErrorSpec {
  readonly status: number;
  readonly title: string;
}

export const ERRORS = {
  // --- intake / protocol -------------------------------------------------------------
  PC_ERR_BAD_REQUEST: { status: 400, title: 'Bad request' },
  PC_ERR_PATH_AMBIGUOUS: { status: 400, title: 'Request path cannot be normalised unambiguously' },
  PC_ERR_PATH_TRAVERSAL: { status: 403, title: 'Request path climbs with dot-dot segments' },
  PC_ERR_PATH_INJECTION: { status: 403, title: 'Request path carries CR or LF (header injection)' },
  PC_ERR_PROTOCOL: { status: 400, title: 'HTTP protocol violation' },
  PC_ERR_HTTP2_FLOOD: { status: 429, title: 'HTTP/2 connection over its frame budget (closed with GOAWAY)' },
  PC_ERR_QUERY_AMBIGUOUS: { status: 400, title: 'Query string cannot be read unambiguously' },
  PC_ERR_MEDIA_TYPE_INVALID: { status: 400, title: 'Content-Type cannot be read unambiguously' },
  PC_ERR_CONTENT_ENCODING: { status: 415, title: 'Content-Encoding not accepted on this route' },
  PC_ERR_METHOD_OVERRIDE: { status: 400, title: 'Method override in the request is not accepted' },
  PC_ERR_URL_TOO_LONG: { status: 414, title: 'URL too long' },
  PC_ERR_HEADERS_TOO_LARGE: { status: 431, title: 'Request header fields too large' },
  PC_ERR_BODY_TOO_LARGE: { status: 413, title: 'Request body too large' },
  PC_ERR_REQUEST_TIMEOUT: { status: 408, title: 'Request timeout' },
  PC_ERR_IP_DENIED: { status: 403, title: 'Client address not allowed' },
  PC_ERR_CLIENT_BANNED: { status: 403, title: 'Client temporarily banned' },
  // --- route --------------------------------------------------------------------------
  PC_ERR_ROUTE_NOT_FOUND: { status: 404, title: 'No route matches this request' },
  PC_ERR_METHOD_NOT_ALLOWED: { status: 405, title: 'Method not allowed on this route' },
  PC_ERR_CORS_REJECTED: { status: 403, title: 'Cross-origin request not allowed by this route' },
  PC_ERR_UPGRADE_NOT_ALLOWED: { status: 400, title: 'Protocol upgrade not accepted on this route' },
  PC_ERR_WEBSOCKET_HANDSHAKE: { status: 400, title: 'WebSocket handshake is not valid' },
  PC_ERR_WEBSOCKET_ORIGIN: { status: 403, title: 'Origin not allowed to open a WebSocket on this route' },
  // --- authenticate -------------------------------------------------------------------
  PC_ERR_AUTH_REQUIRED: { status: 401, title: 'Authentication required' },
  PC_ERR_AUTH_INVALID: { status: 401, title: 'Credentials are not valid' },
  PC_ERR_AUTH_TOKEN_MALFORMED: { status: 401, title: 'Token is malformed' },
  PC_ERR_AUTH_TOKEN_TOO_LARGE: { status: 401, title: 'Token is too large' },
  PC_ERR_AUTH_TOKEN_MULTIPLE: { status: 401, title: 'More than one token in the request' },
  PC_ERR_AUTH_TOKEN_ALG: { status: 401, title: 'Token algorithm not allowed' },
  PC_ERR_AUTH_TOKEN_SIGNATURE: { status: 401, title: 'Token signature is not valid' },
  PC_ERR_AUTH_TOKEN_EXPIRED: { status: 401, title: 'Token has expired' },
  PC_ERR_AUTH_TOKEN_NOT_YET_VALID: { status: 401, title: 'Token is not yet valid' },
  PC_ERR_AUTH_TOKEN_CLAIMS: { status: 401, title: 'Token claims are not valid' },
  PC_ERR_AUTH_TOKEN_HEADER: { status: 401, title: 'Token header is not acceptable' },
  PC_ERR_AUTH_TOKEN_KEY_UNKNOWN: { status: 401, title: 'Token signing key is unknown' },
  PC_ERR_AUTH_TOKEN_REPLAYED: { status: 401, title: 'Token has already been used' },
  PC_ERR_AUTH_TOKEN_CERT_BINDING: { status: 401, title: 'Token is bound to another client certificate' },
  PC_ERR_AUTH_TOKEN_QUERY: { status: 401, title: 'Tokens in the query string are not accepted' },
  PC_ERR_AUTH_APIKEY_INVALID: { status: 401, title: 'API key is not valid' },
  PC_ERR_AUTH_APIKEY_EXPIRED: { status: 401, title: 'API key has expired' },
  PC_ERR_AUTH_CERT_REQUIRED: { status: 401, title: 'Client certificate required' },
  PC_ERR_AUTH_CERT_INVALID: { status: 401, title: 'Client certificate is not valid' },
  PC_ERR_AUTH_CERT_UNKNOWN: { status: 401, title: 'Client certificate does not map to a consumer' },
  PC_ERR_AUTH_SIGNATURE_MISSING: { status: 401, title: 'Request signature required' },
  PC_ERR_AUTH_SIGNATURE_INVALID: { status: 401, title: 'Request signature is not valid' },
  PC_ERR_AUTH_SIGNATURE_STALE: { status: 401, title: 'Request signature is too old or too new' },
  PC_ERR_AUTH_SIGNATURE_REPLAYED: { status: 401, title: 'Request signature nonce already used' },
  PC_ERR_AUTH_PREDATES_START: { status: 401, title: 'Credential was created before the gateway started (replay memory is not persistent)' },
  PC_ERR_AUTH_DIGEST_MISMATCH: { status: 401, title: 'Content-Digest does not match the body' },
  PC_ERR_AUTH_UNAVAILABLE: { status: 503, title: 'Authentication backend unavailable' },
  // --- authorize ----------------------------------------------------------------------
  PC_ERR_FORBIDDEN: { status: 403, title: 'Forbidden' },
  PC_ERR_INSUFFICIENT_SCOPE: { status: 403, title: 'Insufficient scope' },
  PC_ERR_ROLE_REQUIRED: { status: 403, title: 'Required role or claim missing' },
  PC_ERR_TENANT_MISMATCH: { status: 403, title: 'Resource belongs to another tenant' },
  // --- limits -------------------------------------------------------------------------
  PC_ERR_RATE_LIMITED: { status: 429, title: 'Too many requests' },
  PC_ERR_QUOTA_EXCEEDED: { status: 429, title: 'Quota exceeded' },
  PC_ERR_CONCURRENCY_LIMITED: { status: 429, title: 'Too many concurrent requests' },
  PC_ERR_LIMIT_UNAVAILABLE: { status: 503, title: 'Rate limit backend unavailable' },
  PC_ERR_THROTTLED: { status: 429, title: 'Client throttled after abusive behaviour' },
  // --- validate -----------------------------------------------------------------------
  PC_ERR_VALIDATION: { status: 400, title: 'Request does not match the API schema' },
  PC_ERR_BODY_MALFORMED: { status: 400, title: 'Request body cannot be parsed' },
  PC_ERR_BODY_REQUIRED: { status: 400, title: 'Request body is required' },
  PC_ERR_BODY_LIMITS: { status: 400, title: 'Request body exceeds structural limits' },
  PC_ERR_BODY_FORBIDDEN_KEY: { status: 400, title: 'Request body contains a forbidden key' },
  PC_ERR_UNSUPPORTED_MEDIA_TYPE: { status: 415, title: 'Content type not accepted by this operation' },
  PC_ERR_TOO_MANY_PARAMETERS: { status: 400, title: 'Too many query parameters' },
  // --- inspect ------------------------------------------------------------------------
  PC_ERR_WAF_BLOCKED: { status: 403, title: 'Request blocked by the web application firewall' },
  // --- proxy --------------------------------------------------------------------------
  PC_ERR_UPSTREAM_UNAVAILABLE: { status: 502, title: 'Upstream unavailable' },
  PC_ERR_UPSTREAM_NO_HEALTHY: { status: 503, title: 'No healthy upstream target' },
  PC_ERR_UPSTREAM_TIMEOUT: { status: 504, title: 'Upstream timed out' },
  PC_ERR_NOT_CACHED: { status: 504, title: 'Not in the cache (the request asked for only-if-cached)' },
  PC_ERR_UPSTREAM_PROTOCOL: { status: 502, title: 'Upstream sent an invalid response' },
  PC_ERR_UPSTREAM_ERROR: { status: 502, title: 'Upstream failed to handle the request' },
  PC_ERR_RESPONSE_INVALID: { status: 502, title: 'Upstream response does not match the API schema' },
  // --- gateway ------------------------------------------------------------------------
  PC_ERR_SHUTTING_DOWN: { status: 503, title: 'Gateway is shutting down' },
  PC_ERR_INTERNAL: { status: 500, title: 'Internal gateway error' },
  PC_ERR_UNAVAILABLE: { status: 503, title: 'Service unavailable' },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERRORS;

export function errorSpec(code: ErrorCode): ErrorSpec {
  return ERRORS[code];
}
