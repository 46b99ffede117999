/**
 * The state store chosen by the top-level `state` config key, and that key's schema.
 * The lead composes STATE_SCHEMA into the core schema (key `state`) and calls createStore once per
 * process (the store is a long-lived service: it survives reloads).
 */
import type { Logger } from '../core/services.js';
import type { JsonSchema } from '../core/json-schema.js';
import type { Metrics } from '../core/services.js';
import { MemoryStore } from './memory.js';
import { RedisStore } from './redis.js';
import type { StateStore } from '../core/state.js';
import type { StateConfig } from '../core/config.js';

export { MemoryStore } from './memory.js';
export { RedisStore } from './redis.js';
export { ClusterStore, serveClusterStore } from './cluster.js';
export * from '../core/state.js';

export const DEFAULT_MAX_ENTRIES = 100000;

/** JSON Schema of the top-level `state` key. */
export const STATE_SCHEMA: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  default: {},
  description:
    'Where state lives: rate-limit buckets, quotas, concurrency slots, replay nonces, abuse counters and bans. `memory` (default) keeps it in the process; `redis` shares it between gateway instances.',
  properties: {
    store: {
      enum: ['memory', 'redis'],
      default: 'memory',
      description:
        '`memory`: in the process, bounded (with `workers: N`, kept in the primary process). `redis`: shared by every instance using the same server and key prefix.',
    },
    memory: {
      type: 'object',
      additionalProperties: false,
      default: {},
      description: 'The in-process store.',
      properties: {
        max_entries: {
          type: 'integer',
          minimum: 100,
          maximum: 10000000,
          default: DEFAULT_MAX_ENTRIES,
          description:
            'Most keys kept per kind (rate-limit state, replay nonces, counters and bans are kept apart, so that a flood of one cannot evict another); the least recently used go first. Why: a client rotating IPs or keys cannot grow memory without limit (100,000 keys is about 20 MB); keep it well above the number of active clients, because an evicted bucket starts full again.',
        },
      },
    },
    redis: {
      type: 'object',
      additionalProperties: false,
      default: {},
      description: 'The Redis store (used when `store: redis`; also the fallback policy of each rate limit applies when it is unreachable).',
      properties: {
        url: {
          type: 'string',
          pattern: '^rediss?://',
          default: 'redis://127.0.0.1:6379',
          description: 'Server URL, `redis://host:port/db` or `rediss://` for TLS. Put no password here; use `password`.',
        },
        cluster_nodes: {
          type: 'array',
          minItems: 1,
          maxItems: 64,
          items: { type: 'string', pattern: '^rediss?://' },
          description:
            'Redis Cluster seed nodes (`redis://host:port`); when set, `url` is not used. Each rate-limit key is tagged by the identity it counts (client, consumer, tenant...), so keys spread over every master; the limits of one identity share a slot and are decided by one script. Run the cluster with `cluster-require-full-coverage no`, so that the masters that are up keep answering while one is down.',
        },
        key_prefix: {
          type: 'string',
          pattern: '^[A-Za-z0-9_.:-]{1,64}$',
          default: 'portcullis:',
          description: 'Prepended to every key. Instances that share limits use the same prefix.',
        },
        username: { type: 'string', description: 'ACL user name (Redis 6+).' },
        password: {
          type: 'string',
          description: 'Password; use a secret reference, `${env:REDIS_PASSWORD}` or `${file:/run/secrets/redis}`. Never logged.',
        },
        db: { type: 'integer', minimum: 0, maximum: 255, description: 'Database number (overrides the one in `url`).' },
        tls: { type: 'boolean', default: false, description: 'Use TLS (also implied by a `rediss://` URL).' },
        connect_timeout_ms: {
          type: 'integer',
          minimum: 10,
          default: 2000,
          description: 'Time to establish the connection before a reconnect attempt.',
        },
        command_timeout_ms: {
          type: 'integer',
          minimum: 5,
          default: 100,
          description:
            'A command not answered within this time fails, and the store is treated as down for one second (requests follow their `on_store_failure` policy). Why: a slow Redis must not hang requests; 100 ms is far above a healthy round trip.',
        },
        reconnect_max_delay_ms: {
          type: 'integer',
          minimum: 50,
          default: 1000,
          description:
            'Longest wait between reconnect attempts (exponential backoff up to this). Why: the gateway resumes using Redis within about a second after it returns.',
        },
      },
    },
  },
};

/** Builds the process's store from the (defaulted, validated) `state` config. */
export function createStore(state: StateConfig | undefined, logger: Logger, metrics?: Metrics): StateStore {
  if (state?.store === 'redis') {
    const r = state.redis;
    return new RedisStore({
      url: r.url,
      clusterNodes: r.cluster_nodes,
      keyPrefix: r.key_prefix,
      username: r.username,
      password: r.password,
      db: r.db,
      tls: r.tls || r.url.startsWith('rediss://'),
      connectTimeoutMs: r.connect_timeout_ms,
      commandTimeoutMs: r.command_timeout_ms,
      reconnectMaxDelayMs: r.reconnect_max_delay_ms,
      logger: logger.child({ component: 'store' }),
      metrics,
    });
  }
  return new MemoryStore({ maxEntries: state?.memory?.max_entries ?? DEFAULT_MAX_ENTRIES });
}
