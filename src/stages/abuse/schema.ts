/**
 * Config of the abuse stage: top-level `abuse` (detectors, actions, bans, allow list) and
 * `ip_lists` (global CIDR allow/deny), and the route key `ip_lists`.
 */
import type { JsonSchema } from '../../core/json-schema.js';
import type { Mode } from '../../core/phases.js';

export type DetectorName =
  | 'auth_failures'
  | 'errors_4xx'
  | 'scanning'
  | 'enumeration'
  | 'waf_hits'
  | 'rate_limited'
  | 'errors_5xx'
  | 'rate_anomaly'
  | 'http2_floods';

export const DETECTORS: readonly DetectorName[] = [
  'auth_failures',
  'errors_4xx',
  'scanning',
  'enumeration',
  'waf_hits',
  'rate_limited',
  'errors_5xx',
  'rate_anomaly',
  'http2_floods',
];

export type AbuseAction = 'alert' | 'throttle' | 'ban';

export interface DetectorConfig {
  mode: Mode;
  /** count, distinct count, ratio (errors_4xx) or deviation score (rate_anomaly) */
  threshold: number;
  window_ms: number;
  action: AbuseAction;
  /** errors_4xx: requests in the window before the ratio counts; rate_anomaly: requests per bucket */
  min_requests: number;
  /** rate_anomaly: buckets of baseline before scores count */
  warmup_buckets: number;
}

export interface AbuseConfig {
  enabled: boolean;
  key_prefix: string;
  /** deprecated: `client_ip.ipv6_prefix` (accepted only when equal to it) */
  ipv6_prefix?: number;
  sync_interval_ms: number;
  max_tracked_clients: number;
  allow: { ips: string[]; consumers: string[] };
  detectors: Record<DetectorName, DetectorConfig>;
  ban: { base_ms: number; factor: number; max_ms: number; memory_ms: number };
  throttle: { duration_ms: number; limit: number; window_ms: number };
  alert_cooldown_ms: number;
}

export interface IpListsConfig {
  mode: Mode;
  allow: string[];
  deny: string[];
}

interface DetectorDefaults {
  mode: Mode;
  threshold: number;
  window_ms: number;
  action: AbuseAction;
  min_requests?: number;
  warmup_buckets?: number;
}

const DETECTOR_DOCS: Record<DetectorName, { what: string; d: DetectorDefaults }> = {
  auth_failures: {
    what: 'Failed authentications (PC_ERR_AUTH_* denials and 401 responses) from one client within the window; `threshold` is a count. Why 20/min: a person mistypes a few times, a credential-stuffing script thousands.',
    d: { mode: 'enforce', threshold: 20, window_ms: 60000, action: 'ban' },
  },
  errors_4xx: {
    what: "Share of 4xx responses among the client's requests in the window; `threshold` is a ratio (0..1) and counts only after `min_requests` requests. Why 0.8 over 50: normal clients succeed most of the time.",
    d: { mode: 'enforce', threshold: 0.8, window_ms: 60000, action: 'throttle', min_requests: 50 },
  },
  scanning: {
    what: "Distinct paths answered 404 to one client within the window (path discovery); `threshold` is a distinct count. Why 30/min: a real client knows its API's paths.",
    d: { mode: 'enforce', threshold: 30, window_ms: 60000, action: 'ban' },
  },
  enumeration: {
    what: 'Distinct object ids (path parameter values) requested on one route template within the window (e.g. walking /items/{id}); `threshold` is a distinct count per route.',
    d: { mode: 'enforce', threshold: 300, window_ms: 60000, action: 'throttle' },
  },
  waf_hits: {
    what: 'Requests blocked by the WAF (PC_ERR_WAF_BLOCKED) within the window; `threshold` is a count. Why 10/min: one false positive must not ban, an attack tool sends hundreds.',
    d: { mode: 'enforce', threshold: 10, window_ms: 60000, action: 'ban' },
  },
  rate_limited: {
    what: 'Rate-limit, quota and concurrency rejections (429) within the window; `threshold` is a count. Clients that ignore Retry-After get a tighter limit.',
    d: { mode: 'enforce', threshold: 100, window_ms: 60000, action: 'throttle' },
  },
  errors_5xx: {
    what: "5xx responses to the client's requests within the window (requests that crash the upstream); `threshold` is a count.",
    d: { mode: 'enforce', threshold: 50, window_ms: 60000, action: 'alert' },
  },
  rate_anomaly: {
    what: "Request rate against the client's own baseline: an EWMA of requests per `window_ms` bucket with its deviation; `threshold` is the deviation score (standard deviations above the mean, with a floor of a quarter of the mean). Counts only after `warmup_buckets` buckets and when a bucket has at least `min_requests` requests. Steady rates, however high, never score.",
    d: { mode: 'enforce', threshold: 8, window_ms: 10000, action: 'alert', min_requests: 100, warmup_buckets: 6 },
  },
  http2_floods: {
    what: 'HTTP/2 connections of one client closed for a flood (PC_ERR_HTTP2_FLOOD: Rapid Reset, SETTINGS or PING floods, docs/http2.md) within the window; `threshold` is a count. Why 3/min: one closed connection may be a faulty client library, an attacker reconnects and floods again.',
    d: { mode: 'enforce', threshold: 3, window_ms: 60000, action: 'ban' },
  },
};

function detectorSchema(name: DetectorName): JsonSchema {
  const { what, d } = DETECTOR_DOCS[name];
  return {
    type: 'object',
    additionalProperties: false,
    default: {},
    description: what,
    properties: {
      mode: {
        enum: ['enforce', 'monitor', 'off'],
        default: d.mode,
        description: '`enforce` takes the action, `monitor` only logs what it would have done, `off` stops counting.',
      },
      threshold: { type: 'number', exclusiveMinimum: 0, default: d.threshold, description: 'Value at or above which the detector triggers.' },
      window_ms: { type: 'integer', minimum: 1000, maximum: 86400000, default: d.window_ms, description: 'Sliding window (bucket length for rate_anomaly).' },
      action: {
        enum: ['alert', 'throttle', 'ban'],
        default: d.action,
        description:
          '`alert` notifies the alert sinks; `throttle` applies `abuse.throttle` to the client for a while; `ban` refuses the client (escalating durations, `abuse.ban`). Every action also alerts.',
      },
      min_requests: {
        type: 'integer',
        minimum: 0,
        default: d.min_requests ?? 0,
        description: 'Requests needed before the detector scores (errors_4xx: in the window; rate_anomaly: in the bucket).',
      },
      warmup_buckets: {
        type: 'integer',
        minimum: 1,
        default: d.warmup_buckets ?? 1,
        description: 'rate_anomaly: buckets of history needed before a baseline is trusted.',
      },
    },
  };
}

const cidrList = (description: string): JsonSchema => ({
  type: 'array',
  maxItems: 10000,
  items: { type: 'string', maxLength: 64 },
  default: [],
  description,
});

export const abuseSchema: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  default: {},
  description:
    'Abuse detection: per-client sliding-window detectors (client = IP address grouped by the `client_ip` prefixes, and the consumer when known) that alert, throttle or ban. State lives in the state store, so bans are shared by every instance using the same Redis.',
  properties: {
    enabled: { type: 'boolean', default: true, description: 'Run the detectors and enforce bans and throttles.' },
    key_prefix: {
      type: 'string',
      default: 'pc:abuse:',
      maxLength: 64,
      description: 'Prefix of the state-store keys (counters, bans). Instances sharing bans must use the same prefix.',
    },
    ipv6_prefix: {
      type: 'integer',
      minimum: 32,
      maximum: 128,
      description:
        'Deprecated: use `client_ip.ipv6_prefix`, the one prefix shared by bans, abuse counters, rate limits, quotas and concurrency limits. Accepted only when equal to it, so that an old config cannot key bans and limits differently.',
    },
    sync_interval_ms: {
      type: 'integer',
      minimum: 50,
      maximum: 1000,
      default: 250,
      description:
        'How often an instance checks the shared ban list version; a ban placed anywhere is enforced everywhere within this interval plus one store round trip. At most 1000 so that bans spread within a second.',
    },
    max_tracked_clients: {
      type: 'integer',
      minimum: 100,
      maximum: 10000000,
      default: 50000,
      description:
        'Clients tracked in local memory (window memos, baselines); the least recently seen are forgotten first. Bounds memory under address rotation.',
    },
    allow: {
      type: 'object',
      additionalProperties: false,
      default: {},
      description: 'Clients the detectors never act on (monitoring hosts, office NAT, internal services).',
      properties: {
        ips: cidrList('IP addresses or CIDRs (IPv4 and IPv6) never banned or throttled.'),
        consumers: {
          type: 'array',
          maxItems: 10000,
          items: { type: 'string', maxLength: 256 },
          default: [],
          description: 'Consumer ids never banned or throttled.',
        },
      },
    },
    detectors: {
      type: 'object',
      additionalProperties: false,
      default: {},
      description: 'The detectors and their thresholds.',
      properties: Object.fromEntries(DETECTORS.map((n) => [n, detectorSchema(n)])),
    },
    ban: {
      type: 'object',
      additionalProperties: false,
      default: {},
      description: 'Temporary bans: the n-th offence within `memory_ms` is banned for `base_ms * factor^(n-1)`, at most `max_ms`.',
      properties: {
        base_ms: {
          type: 'integer',
          minimum: 1000,
          default: 600000,
          description: 'First ban duration. Why 10 min: long enough to stop a script, short enough to forgive a misconfigured client.',
        },
        factor: { type: 'number', minimum: 1, maximum: 100, default: 4, description: 'Multiplier for each repeat offence.' },
        max_ms: { type: 'integer', minimum: 1000, default: 86400000, description: 'Longest automatic ban (1 day).' },
        memory_ms: { type: 'integer', minimum: 1000, default: 604800000, description: 'How long offences are remembered for escalation (7 days).' },
      },
    },
    throttle: {
      type: 'object',
      additionalProperties: false,
      default: {},
      description: 'The tighter limit given to a throttled client (429 PC_ERR_THROTTLED above it).',
      properties: {
        duration_ms: { type: 'integer', minimum: 1000, default: 300000, description: 'How long the throttle lasts.' },
        limit: { type: 'integer', minimum: 1, default: 5, description: 'Requests allowed per `window_ms` while throttled.' },
        window_ms: { type: 'integer', minimum: 100, default: 1000, description: 'Window of the throttle limit.' },
      },
    },
    alert_cooldown_ms: {
      type: 'integer',
      minimum: 0,
      default: 300000,
      description: 'An alert about the same detector and client is sent at most once per this time.',
    },
  },
};

const ipListsProps = (scope: string): Record<string, JsonSchema> => ({
  mode: {
    enum: ['enforce', 'monitor', 'off'],
    default: 'enforce',
    description: `\`enforce\` refuses (403 PC_ERR_IP_DENIED), \`monitor\` logs only, \`off\` ignores the ${scope} lists.`,
  },
  allow: cidrList(`When not empty, only clients in these CIDRs (IPv4 and IPv6) are served${scope === 'route' ? ' on this route' : ''}.`),
  deny: cidrList(`Clients in these CIDRs are refused${scope === 'route' ? ' on this route' : ''}; deny wins over allow.`),
});

export const ipListsSchema: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  default: {},
  description: 'Global IP allow and deny lists (CIDR, IPv4 and IPv6), checked before routing, for every request.',
  properties: ipListsProps('global'),
};

export const routeIpListsSchema: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  description: 'IP allow and deny lists for this route, checked in addition to the global ones.',
  properties: ipListsProps('route'),
};
