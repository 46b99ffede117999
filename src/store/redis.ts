/**
 * The Redis state store (ioredis), shared by every gateway instance pointing at the same server.
 * Each rate-limit decision is one EVALSHA of LIMIT_SCRIPT over all limits of the request; every
 * limit key carries the same {hash tag} so that one script may touch them all on Redis Cluster.
 *
 * Never hangs a request: commands time out after `commandTimeoutMs`, the offline queue is off
 * (commands fail at once while disconnected), and after a timeout the store reports unhealthy for
 * a short cool-down so that callers take their fallback without waiting. ioredis reconnects by
 * itself (backoff capped at `reconnectMaxDelayMs`); `healthy()` is true again once it is ready.
 */
import { createHash, randomBytes } from 'node:crypto';
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import type { Logger } from '../core/services.js';
import type { Metrics } from '../core/services.js';
import { INCR_SCRIPT, LIMIT_SCRIPT } from './redis-scripts.js';
import { StoreUnavailableError, type CheckResult, type Lease, type LimitCheck, type LimitResult, type StateStore } from '../core/state.js';

export interface RedisStoreOptions {
  readonly url: string;
  /** Redis Cluster seed nodes (`redis://host:port`); when given, `url` is not used */
  readonly clusterNodes?: readonly string[] | undefined;
  /** prepended to every key, e.g. `portcullis:` */
  readonly keyPrefix: string;
  readonly username?: string | undefined;
  readonly password?: string | undefined;
  readonly db?: number | undefined;
  readonly tls?: boolean | undefined;
  readonly connectTimeoutMs: number;
  readonly commandTimeoutMs: number;
  readonly reconnectMaxDelayMs: number;
  /** after a command timeout, the store reports unhealthy this long (callers use their fallback) */
  readonly cooldownMs?: number | undefined;
  readonly logger: Logger;
  readonly metrics?: Metrics | undefined;
}

interface LimitCommands {
  pcIncr(key: string, by: string, ttl: string): Promise<number>;
}

const LIMIT_SHA = createHash('sha1').update(LIMIT_SCRIPT).digest('hex');

/** The hash tag shared by all rate-limit keys (one cluster slot per decision). */
export const LIMIT_HASH_TAG = '{limits}';

export class RedisStore implements StateStore {
  readonly kind = 'redis' as const;
  readonly client: Redis | Cluster;
  private readonly prefix: string;
  private readonly limitPrefix: string;
  private readonly logger: Logger;
  private readonly cooldownMs: number;
  private brokenUntil = 0;
  private wasReady = false;
  private closing = false;
  private readonly leaseTag = randomBytes(6).toString('hex');
  private leaseSeq = 0;
  private readonly upGauge: { set(v: number): void } | null;
  private readonly errors: { inc(labels: { op: string; reason: string }): void } | null;

  constructor(opts: RedisStoreOptions) {
    this.prefix = opts.keyPrefix;
    this.limitPrefix = `${opts.keyPrefix}${LIMIT_HASH_TAG}:`;
    this.logger = opts.logger;
    this.cooldownMs = opts.cooldownMs ?? 1000;
    const m = opts.metrics;
    this.upGauge = m ? m.gauge('portcullis_state_store_up', 'State store backend reachable (1) or not (0).', ['store']).labels({ store: 'redis' }) : null;
    this.errors = m ? m.counter('portcullis_state_store_errors_total', 'State store commands that failed, by operation and reason.', ['op', 'reason']) : null;
    this.upGauge?.set(0);
    const max = opts.reconnectMaxDelayMs;
    const retry = (times: number): number | null => (this.closing ? null : Math.min(50 * 2 ** Math.min(times, 10), max));
    const options: RedisOptions = {
      connectTimeout: opts.connectTimeoutMs,
      commandTimeout: opts.commandTimeoutMs,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      enableReadyCheck: true,
      autoResubscribe: false,
      lazyConnect: false,
      retryStrategy: retry,
      ...(opts.username !== undefined ? { username: opts.username } : {}),
      ...(opts.password !== undefined ? { password: opts.password } : {}),
      ...(opts.db !== undefined ? { db: opts.db } : {}),
      ...(opts.tls ? { tls: {} } : {}),
    };
    if (opts.clusterNodes && opts.clusterNodes.length > 0) {
      const nodes = opts.clusterNodes.map((u) => {
        const url = new URL(u);
        return { host: url.hostname, port: Number(url.port || 6379) };
      });
      const { db: _db, ...nodeOptions } = options;
      const clusterOptions: ClusterOptions = {
        redisOptions: nodeOptions,
        enableOfflineQueue: false,
        enableReadyCheck: true,
        clusterRetryStrategy: retry,
        scaleReads: 'master',
      };
      this.client = new Cluster(nodes, clusterOptions);
    } else {
      this.client = new Redis(opts.url, options);
    }
    this.client.defineCommand('pcIncr', { lua: INCR_SCRIPT, numberOfKeys: 1 });
    this.client.on('ready', () => {
      this.wasReady = true;
      this.brokenUntil = 0;
      this.upGauge?.set(1);
      this.logger.info({ store: 'redis' }, 'state store connected');
      // load the script so that even the first decision is a single EVALSHA
      for (const node of this.masters()) node.script('LOAD', LIMIT_SCRIPT).catch(() => undefined);
    });
    this.client.on('error', (err: Error) => {
      // logged once per outage (on 'close'); ioredis emits an error per reconnect attempt
      if (this.wasReady) this.logger.warn({ store: 'redis', err: err.message }, 'state store error');
    });
    this.client.on('close', () => {
      this.upGauge?.set(0);
      if (this.wasReady && !this.closing) {
        this.logger.warn({ store: 'redis' }, 'state store connection lost; reconnecting');
        this.errors?.inc({ op: 'connection', reason: 'closed' });
      }
      this.wasReady = false;
    });
  }

  /** The servers holding keys: the one Redis, or every cluster master. */
  private masters(): Redis[] {
    return this.client instanceof Cluster ? this.client.nodes('master') : [this.client];
  }

  private get cmds(): LimitCommands {
    return this.client as unknown as LimitCommands;
  }

  healthy(): boolean {
    return this.client.status === 'ready' && (this.brokenUntil === 0 || performance.now() >= this.brokenUntil);
  }

  whenReady(timeoutMs: number): Promise<boolean> {
    if (this.healthy()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (v: boolean): void => {
        clearTimeout(timer);
        this.client.off('ready', onReady);
        resolve(v);
      };
      const onReady = (): void => done(true);
      const timer = setTimeout(() => done(false), timeoutMs);
      this.client.on('ready', onReady);
    });
  }

  /** Turns any ioredis failure into StoreUnavailableError; a timeout starts the cool-down. */
  private fail(op: string, e: unknown): never {
    const msg = e instanceof Error ? e.message : String(e);
    const timeout = /timed out/i.test(msg);
    if (timeout) this.brokenUntil = performance.now() + this.cooldownMs; // monotonic: a clock step cannot stretch the cool-down
    this.errors?.inc({ op, reason: timeout ? 'timeout' : 'error' });
    throw new StoreUnavailableError(`redis ${op}: ${msg}`);
  }

  async limit(checks: readonly LimitCheck[], now: number): Promise<LimitResult> {
    const n = checks.length;
    const args: (string | number)[] = new Array<string | number>(1 + n + 2 + n * 4);
    args[0] = n;
    let hasConcurrency = false;
    for (let i = 0; i < n; i++) {
      const c = checks[i]!;
      args[1 + i] = this.limitPrefix + c.key;
      const p = 1 + n + 2 + i * 4;
      if (c.kind === 'bucket') {
        args[p] = 'b';
        args[p + 2] = String(c.intervalMs);
        args[p + 3] = String(c.burst);
      } else if (c.kind === 'quota') {
        args[p] = 'q';
        args[p + 2] = String(c.limit);
        args[p + 3] = String(c.resetAt);
      } else {
        hasConcurrency = true;
        args[p] = 'c';
        args[p + 2] = String(c.max);
        args[p + 3] = String(c.leaseMs);
      }
      args[p + 1] = c.enforce ? '1' : '0';
    }
    const leaseId = hasConcurrency ? `${this.leaseTag}:${++this.leaseSeq}` : '';
    args[1 + n] = String(now);
    args[2 + n] = leaseId;
    let out: number[];
    try {
      // EVALSHA (the script is loaded on connect); EVAL only when the server lost its script cache
      out = (await this.client.evalsha(LIMIT_SHA, ...(args as [number, ...string[]]))) as number[];
    } catch (e) {
      if (!(e instanceof Error && e.message.startsWith('NOSCRIPT'))) this.fail('limit', e);
      try {
        out = (await this.client.eval(LIMIT_SCRIPT, ...(args as [number, ...string[]]))) as number[];
      } catch (e2) {
        this.fail('limit', e2);
      }
    }
    const results: CheckResult[] = new Array<CheckResult>(n);
    let leaseKeys: string[] | null = null;
    const allowed = out[0] === 1;
    for (let i = 0; i < n; i++) {
      const q = 1 + i * 4;
      const ok = out[q] === 1;
      results[i] = { ok, remaining: out[q + 1] ?? 0, resetMs: out[q + 2] ?? 0, retryMs: out[q + 3] ?? 0 };
      const c = checks[i]!;
      if (allowed && ok && c.kind === 'concurrency') (leaseKeys ??= []).push(this.limitPrefix + c.key);
    }
    return { allowed, checks: results, lease: leaseKeys ? { id: leaseId, keys: leaseKeys } : null };
  }

  release(lease: Lease): void {
    if (lease.keys.length === 0) return;
    const p = this.client.pipeline();
    for (const k of lease.keys) p.zrem(k, lease.id);
    p.exec().catch((e: unknown) => {
      // the slot expires after its lease time
      this.errors?.inc({ op: 'release', reason: e instanceof Error && /timed out/i.test(e.message) ? 'timeout' : 'error' });
    });
  }

  async once(key: string, ttlMs: number): Promise<boolean> {
    try {
      const r = await this.client.set(this.prefix + key, '1', 'PX', Math.max(1, Math.ceil(ttlMs)), 'NX');
      return r === 'OK';
    } catch (e) {
      return this.fail('once', e);
    }
  }

  async incr(key: string, ttlMs: number, by = 1): Promise<number> {
    try {
      return Number(await this.cmds.pcIncr(this.prefix + key, String(by), String(Math.max(1, Math.ceil(ttlMs)))));
    } catch (e) {
      return this.fail('incr', e);
    }
  }

  async set(key: string, value: string, ttlMs: number): Promise<void> {
    try {
      await this.client.set(this.prefix + key, value, 'PX', Math.max(1, Math.ceil(ttlMs)));
    } catch (e) {
      this.fail('set', e);
    }
  }

  async get(key: string): Promise<string | null> {
    try {
      return await this.client.get(this.prefix + key);
    } catch (e) {
      return this.fail('get', e);
    }
  }

  async del(key: string): Promise<void> {
    try {
      await this.client.del(this.prefix + key);
    } catch (e) {
      this.fail('del', e);
    }
  }

  /** SCAN for `prefix*` on every master (glob characters in the prefix are escaped); at most `max` keys, at most 1,000 SCAN calls per server. */
  async scan(prefix: string, max: number): Promise<{ key: string; value: string; ttlMs: number }[]> {
    const pattern = `${(this.prefix + prefix).replace(/[*?[\]\\]/g, '\\$&')}*`;
    const out: { key: string; value: string; ttlMs: number }[] = [];
    try {
      for (const node of this.masters()) {
        if (out.length >= max) break;
        const found: string[] = [];
        const seen = new Set<string>();
        let cursor = '0';
        let rounds = 0;
        do {
          const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 200);
          cursor = next;
          for (const k of keys) {
            if (found.length >= max - out.length || seen.has(k)) continue;
            seen.add(k);
            found.push(k);
          }
        } while (cursor !== '0' && found.length < max - out.length && ++rounds < 1000);
        if (found.length === 0) continue;
        const p = node.pipeline();
        for (const k of found) p.get(k).pttl(k);
        const res = (await p.exec()) ?? [];
        for (let i = 0; i < found.length; i++) {
          const [gErr, v] = res[2 * i] ?? [null, null];
          const [, ttl] = res[2 * i + 1] ?? [null, -2];
          if (gErr || v === null || v === undefined || Number(ttl) === -2) continue; // other type, or gone
          out.push({ key: found[i]!.slice(this.prefix.length), value: String(v), ttlMs: Number(ttl) });
        }
      }
      return out;
    } catch (e) {
      return this.fail('scan', e);
    }
  }

  async close(): Promise<void> {
    this.closing = true;
    this.upGauge?.set(0);
    try {
      await this.client.quit();
    } catch {
      this.client.disconnect();
    }
  }

  abort(): void {
    this.closing = true;
    this.client.disconnect();
  }
}
