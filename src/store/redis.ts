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
import { GIVE_BACK_SCRIPT, INCR_SCRIPT, LIMIT_SCRIPT } from './redis-scripts.js';
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
const GIVE_BACK_SHA = createHash('sha1').update(GIVE_BACK_SCRIPT).digest('hex');

/** The result of a check whose master could not be reached (LimitResult.unavailable). */
const UNDECIDED: CheckResult = { ok: false, remaining: 0, resetMs: 0, retryMs: 0 };

/** Check indexes grouped by tag (first-seen order): each group is one slot, one script. */
function groupByTag(checks: readonly LimitCheck[]): number[][] {
  if (checks.length === 1) return [[0]];
  const byTag = new Map<string, number[]>();
  for (let i = 0; i < checks.length; i++) {
    const c = checks[i]!;
    const t = c.tag ?? c.key;
    const g = byTag.get(t);
    if (g) g.push(i);
    else byTag.set(t, [i]);
  }
  return [...byTag.values()];
}

export class RedisStore implements StateStore {
  readonly kind = 'redis' as const;
  readonly client: Redis | Cluster;
  private readonly prefix: string;
  /** Redis Cluster: limit checks are grouped by tag, one script per slot */
  private readonly cluster: boolean;
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
        // the scripts of one request sent in one tick go to each master as one pipeline (one round trip each)
        enableAutoPipelining: true,
      };
      this.client = new Cluster(nodes, clusterOptions);
      this.cluster = true;
    } else {
      this.client = new Redis(opts.url, options);
      this.cluster = false;
    }
    this.client.defineCommand('pcIncr', { lua: INCR_SCRIPT, numberOfKeys: 1 });
    this.client.on('ready', () => {
      this.wasReady = true;
      this.brokenUntil = 0;
      this.upGauge?.set(1);
      this.logger.info({ store: 'redis' }, 'state store connected');
      // load the script so that even the first decision is a single EVALSHA
      for (const node of this.masters()) {
        node.script('LOAD', LIMIT_SCRIPT).catch(() => undefined);
        node.script('LOAD', GIVE_BACK_SCRIPT).catch(() => undefined);
      }
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
    return this.client.status === 'ready' && (this.brokenUntil === 0 || Date.now() >= this.brokenUntil);
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
  private fail(op: string, e: unknown): never;
  private fail(op: string, e: unknown, partial: true): void;
  private fail(op: string, e: unknown, partial = false): void {
    const msg = e instanceof Error ? e.message : String(e);
    const timeout = /timed out/i.test(msg);
    // on Redis Cluster a timeout is one master's: the others stay in use (no cool-down for the whole
    // store; a cluster that lost every connection is unhealthy by its status)
    if (timeout && !partial && !this.cluster) this.brokenUntil = Date.now() + this.cooldownMs;
    this.errors?.inc({ op, reason: timeout ? 'timeout' : 'error' });
    if (!partial) throw new StoreUnavailableError(`redis ${op}: ${msg}`);
  }

  /** The Redis key of a limit check: `<prefix>{<tag>}:<key>` (the tag picks the cluster slot). */
  private limitKey(c: LimitCheck): string {
    return `${this.prefix}{${c.tag ?? c.key}}:${c.key}`;
  }

  /**
   * Decides every check of one request. One Redis (or every check under one tag): one EVALSHA,
   * atomic. Redis Cluster: one EVALSHA per tag (one slot each); ioredis' auto-pipelining sends the
   * scripts of one master in one round trip, the masters in parallel. When one group refuses, what
   * the others committed is given back before the answer (a client may see, for that one round
   * trip, a token taken that it will get back). A group whose master fails is `unavailable`; when
   * every group fails, the call rejects.
   */
  async limit(checks: readonly LimitCheck[], now: number): Promise<LimitResult> {
    const n = checks.length;
    const leaseId = checks.some((c) => c.kind === 'concurrency') ? `${this.leaseTag}:${++this.leaseSeq}` : '';
    const groups = this.cluster ? groupByTag(checks) : null;
    if (groups === null || groups.length === 1) {
      let out: number[];
      try {
        out = await this.script(LIMIT_SHA, LIMIT_SCRIPT, this.limitArgs(checks, null, now, leaseId));
      } catch (e) {
        this.fail('limit', e);
      }
      return this.result(checks, out, leaseId);
    }
    const settled = await Promise.allSettled(groups.map((g) => this.script(LIMIT_SHA, LIMIT_SCRIPT, this.limitArgs(checks, g, now, leaseId))));
    const results: CheckResult[] = new Array<CheckResult>(n);
    let unavailable: boolean[] | null = null;
    let allowed = true;
    let failure: unknown = null;
    const committed: number[][] = [];
    for (let gi = 0; gi < groups.length; gi++) {
      const g = groups[gi]!;
      const s = settled[gi]!;
      if (s.status === 'rejected') {
        failure = s.reason;
        unavailable ??= new Array<boolean>(n).fill(false);
        for (const i of g) {
          unavailable[i] = true;
          results[i] = UNDECIDED;
        }
        continue;
      }
      const out = s.value;
      if (out[0] !== 1) allowed = false;
      for (let j = 0; j < g.length; j++) {
        const q = 1 + j * 4;
        results[g[j]!] = { ok: out[q] === 1, remaining: out[q + 1] ?? 0, resetMs: out[q + 2] ?? 0, retryMs: out[q + 3] ?? 0 };
      }
      if (out[0] === 1) committed.push(g.filter((i) => results[i]!.ok));
    }
    if (unavailable !== null && unavailable.every(Boolean)) this.fail('limit', failure);
    if (failure !== null) this.fail('limit', failure, true);
    if (!allowed) {
      // another group refused: give back what the allowed groups took
      await this.giveBackGroups(checks, committed, leaseId, now);
      return { allowed: false, checks: results, lease: null, ...(unavailable ? { unavailable } : {}) };
    }
    let leaseKeys: string[] | null = null;
    for (const g of committed) for (const i of g) if (checks[i]!.kind === 'concurrency') (leaseKeys ??= []).push(this.limitKey(checks[i]!));
    return { allowed, checks: results, lease: leaseKeys ? { id: leaseId, keys: leaseKeys } : null, ...(unavailable ? { unavailable } : {}) };
  }

  /** The arguments of LIMIT_SCRIPT for the checks `idx` (all when null). */
  private limitArgs(checks: readonly LimitCheck[], idx: readonly number[] | null, now: number, leaseId: string): (string | number)[] {
    const n = idx === null ? checks.length : idx.length;
    const args: (string | number)[] = new Array<string | number>(1 + n + 2 + n * 4);
    args[0] = n;
    for (let j = 0; j < n; j++) {
      const c = checks[idx === null ? j : idx[j]!]!;
      args[1 + j] = this.limitKey(c);
      const p = 1 + n + 2 + j * 4;
      if (c.kind === 'bucket') {
        args[p] = 'b';
        args[p + 2] = String(c.intervalMs);
        args[p + 3] = String(c.burst);
      } else if (c.kind === 'quota') {
        args[p] = 'q';
        args[p + 2] = String(c.limit);
        args[p + 3] = String(c.resetAt);
      } else {
        args[p] = 'c';
        args[p + 2] = String(c.max);
        args[p + 3] = String(c.leaseMs);
      }
      args[p + 1] = c.enforce ? '1' : '0';
    }
    args[1 + n] = String(now);
    args[2 + n] = leaseId;
    return args;
  }

  /** The decision of one script over every check. */
  private result(checks: readonly LimitCheck[], out: number[], leaseId: string): LimitResult {
    const n = checks.length;
    const results: CheckResult[] = new Array<CheckResult>(n);
    let leaseKeys: string[] | null = null;
    const allowed = out[0] === 1;
    for (let i = 0; i < n; i++) {
      const q = 1 + i * 4;
      const ok = out[q] === 1;
      results[i] = { ok, remaining: out[q + 1] ?? 0, resetMs: out[q + 2] ?? 0, retryMs: out[q + 3] ?? 0 };
      const c = checks[i]!;
      if (allowed && ok && c.kind === 'concurrency') (leaseKeys ??= []).push(this.limitKey(c));
    }
    return { allowed, checks: results, lease: leaseKeys ? { id: leaseId, keys: leaseKeys } : null };
  }

  /** EVALSHA, or EVAL when the server lost its script cache. */
  private async script(sha: string, lua: string, args: (string | number)[]): Promise<number[]> {
    try {
      return (await this.client.evalsha(sha, ...(args as [number, ...string[]]))) as number[];
    } catch (e) {
      if (!(e instanceof Error && e.message.startsWith('NOSCRIPT'))) throw e;
      return (await this.client.eval(lua, ...(args as [number, ...string[]]))) as number[];
    }
  }

  /** Gives back the committed checks, one script per group (one slot each); failures are counted, never thrown. */
  private async giveBackGroups(checks: readonly LimitCheck[], groups: readonly (readonly number[])[], leaseId: string, now: number): Promise<void> {
    const calls: Promise<unknown>[] = [];
    for (const g of groups) {
      if (g.length === 0) continue;
      const args: (string | number)[] = [g.length];
      for (const i of g) args.push(this.limitKey(checks[i]!));
      args.push(String(now), leaseId);
      for (const i of g) {
        const c = checks[i]!;
        args.push(c.kind === 'bucket' ? 'b' : c.kind === 'quota' ? 'q' : 'c', c.kind === 'bucket' ? String(c.intervalMs) : '0');
      }
      calls.push(
        this.script(GIVE_BACK_SHA, GIVE_BACK_SCRIPT, args).catch((e: unknown) => {
          // what was taken stays taken until it expires (a bucket refills, a lease times out)
          this.errors?.inc({ op: 'give_back', reason: e instanceof Error && /timed out/i.test(e.message) ? 'timeout' : 'error' });
        }),
      );
    }
    await Promise.all(calls);
  }

  async giveBack(checks: readonly LimitCheck[], result: LimitResult, now: number): Promise<void> {
    const byTag = new Map<string, number[]>();
    for (let i = 0; i < checks.length; i++) {
      if (!result.checks[i]?.ok || result.unavailable?.[i]) continue;
      const c = checks[i]!;
      const t = this.cluster ? (c.tag ?? c.key) : '';
      const g = byTag.get(t);
      if (g) g.push(i);
      else byTag.set(t, [i]);
    }
    await this.giveBackGroups(checks, [...byTag.values()], result.lease?.id ?? '', now);
  }

  release(lease: Lease): void {
    if (lease.keys.length === 0) return;
    const onError = (e: unknown): void => {
      // the slot expires after its lease time
      this.errors?.inc({ op: 'release', reason: e instanceof Error && /timed out/i.test(e.message) ? 'timeout' : 'error' });
    };
    if (this.cluster) {
      // keys of several slots: one ZREM each (auto-pipelined per master)
      for (const k of lease.keys) this.client.zrem(k, lease.id).catch(onError);
      return;
    }
    const p = this.client.pipeline();
    for (const k of lease.keys) p.zrem(k, lease.id);
    p.exec().catch(onError);
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
