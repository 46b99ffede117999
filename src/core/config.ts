/**
 * The canonical config tree, after YAML/JSON parsing, reference substitution, defaults and
 * validation. Stage sections are typed by their own stage (unknown here).
 */
export interface TlsConfig {
  cert: string;
  key: string;
  client_auth: 'none' | 'optional' | 'required';
  ca?: string;
  crl?: string[];
  min_version: 'TLSv1.2' | 'TLSv1.3';
}

export interface ListenerConfig {
  name: string;
  address: string;
  port: number;
  tls?: TlsConfig;
  max_header_bytes: number;
  max_url_bytes: number;
  headers_timeout_ms: number;
  request_timeout_ms: number;
  keep_alive_timeout_ms: number;
  max_connections: number;
  max_requests_per_socket: number;
  /** ALPN names of the HTTP versions served */
  protocols: ('http/1.1' | 'h2')[];
  /** HTTP/2 connection limits and flood budgets (src/server/h2-flood-schema.ts) */
  http2: Http2ListenerConfig;
}

/** `listeners[].http2`: per-connection HTTP/2 limits and flood budgets. */
export interface Http2ListenerConfig {
  mode: 'enforce' | 'monitor' | 'off';
  max_concurrent_streams: number;
  max_streams_per_10s: number;
  max_resets_per_10s: number;
  max_settings_per_10s: number;
  max_pings_per_10s: number;
  max_invalid_frames: number;
  max_rejected_streams: number;
}

export interface TargetConfig {
  url: string;
  weight: number;
}

export interface UpstreamConfig {
  targets: TargetConfig[];
  balance: 'round_robin' | 'least_connections';
  connect_timeout_ms: number;
  response_timeout_ms: number;
  max_connections: number;
  keep_alive_timeout_ms: number;
  health_check?: {
    path: string;
    interval_ms: number;
    timeout_ms: number;
    healthy_threshold: number;
    unhealthy_threshold: number;
    expected_status: number[];
  };
  passive: {
    consecutive_failures: number;
    ejection_ms: number;
  };
  retries: {
    attempts: number;
    budget_percent: number;
    min_per_second: number;
  };
  max_response_bytes: number;
  path_matching: { case: 'insensitive' | 'sensitive'; trailing_slash: 'ignored' | 'significant' };
  /** `h2`: HTTP/2 to the targets (ALPN over TLS, prior knowledge in cleartext) */
  protocol: 'http/1.1' | 'h2';
}

/** Route key `grpc` (docs/grpc.md). */
export interface GrpcRouteConfig {
  max_message_bytes: number;
  timeout_ms: number;
  web: boolean;
}

export interface RouteMatch {
  hosts?: string[];
  methods?: string[];
  path?: string;
  prefix?: string;
}

export interface RouteConfig {
  id: string;
  match: RouteMatch;
  upstream: string;
  strip_prefix?: string;
  rewrite?: string;
  max_body_bytes?: number;
  /** marks an unauthenticated route as public on purpose (read by `portcullis audit-config` only) */
  public?: boolean;
  preserve_host: boolean;
  body?: BodyOverride;
  /** `grpc`: the route proxies gRPC and gRPC-Web calls (src/grpc/) */
  protocol: 'http' | 'grpc';
  grpc: GrpcRouteConfig;
  /** stage sections on the route (auth, limits, waf, validate, ...) */
  [key: string]: unknown;
}

/** Top-level `client_ip`: the forwarding header read from trusted proxies, and the prefixes clients are keyed by. */
export interface ClientIpConfig {
  header: 'x-forwarded-for' | 'forwarded';
  ipv4_prefix: number;
  ipv6_prefix: number;
}

export interface CanonicalConfig {
  version: 1;
  workers: number;
  state: StateConfig;
  listeners: ListenerConfig[];
  admin: { address: string; port: number; token?: string; enabled: boolean; public_paths: string[]; tenant_tokens: { tenant: string; token: string }[] };
  trusted_proxies: string[];
  client_ip: ClientIpConfig;
  request_id: { header: string; trust_incoming: boolean };
  limits: {
    max_body_bytes: number;
    max_query_params: number;
    dot_segments: 'refuse' | 'resolve';
    path_parameters: 'refuse' | 'allow';
    query_semicolons: 'refuse' | 'allow';
    body: BodyConfig;
  };
  client_headers: { strip: string[]; keep: string[] };
  responses: { strip_headers: string[]; upstream_5xx: 'replace' | 'pass' };
  access_log: { enabled: boolean; path: string; redact_query: string[] };
  shutdown: { grace_ms: number };
  reload: { watch: boolean };
  upstreams: Record<string, UpstreamConfig>;
  routes: RouteConfig[];
  [key: string]: unknown;
}

/** The `state` section: where limits, nonces and bans live. */
export interface StateConfig {
  store: 'memory' | 'redis';
  memory: { max_entries: number };
  redis: {
    url: string;
    cluster_nodes?: string[];
    key_prefix: string;
    username?: string;
    password?: string;
    db?: number;
    tls: boolean;
    connect_timeout_ms: number;
    command_timeout_ms: number;
    reconnect_max_delay_ms: number;
  };
}

/** A route's `body`: any of the `limits.body` settings, the JSON limits one by one. */
export type BodyOverride = Partial<Omit<BodyConfig, 'json'>> & { json?: Partial<BodyConfig['json']> };

/** `limits.body` after defaults. */
export interface BodyConfig {
  content_encoding: 'refuse' | 'decode';
  max_decompression_ratio: number;
  json: { max_depth: number; max_keys: number; max_array_length: number; max_string_length: number };
  max_form_params: number;
  max_parts: number;
}
