/**
 * The request pipeline's phases, in the order they run (../../docs/architecture.md).
 * Cheap checks come first so that hostile traffic costs little. A stage declares its phase;
 * order is data, never import order.
 */
export const PHASES = [
  'connection', // TLS/mTLS handshake, connection limits, header/URL size limits, timeouts (server/)
  'intake', // request id, client IP, protocol checks, canonical URL, IP allow/deny, bans
  'route', // host + method + path match (router/)
  'pre-auth', // per-IP rate limit, concurrency
  'authenticate', // sets ctx.principal; the only phase allowed to
  'authorize', // scopes, roles, tenant binding
  'limits', // per consumer/tenant/route/method rate limits, quotas, concurrency
  'validate', // bounded body read, OpenAPI request validation, safe JSON parsing
  'inspect', // WAF
  'proxy', // upstream (proxy/)
  'respond', // response validation/filtering, security headers, CORS, RateLimit headers
  'observe', // always runs: access log, metrics, abuse feed, audit, alerts
] as const;

export type Phase = (typeof PHASES)[number];

export const PHASE_INDEX: Readonly<Record<Phase, number>> = Object.freeze(Object.fromEntries(PHASES.map((p, i) => [p, i])) as Record<Phase, number>);

/** Every enforcing stage has a mode; monitor logs what it would have done and lets the request pass. */
export type Mode = 'enforce' | 'monitor' | 'off';
