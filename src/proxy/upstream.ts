/**
 * An upstream: several targets with keep-alive pools (undici), weighted round robin or least
 * connections, active health checks, passive ejection on consecutive failures, and a retry budget.
 * One group lives as long as its config is unchanged: reloads reuse it, so health state and
 * pooled connections survive.
 */
import { Pool } from 'undici';
import { H2Sessions } from './h2-upstream.js';
import type { UpstreamConfig } from '../core/config.js';
import type { Metrics } from '../core/services.js';
import type { Logger } from '../core/services.js';

export class Target {
  readonly url: string;
  readonly origin: string;
  /** host header value for this target (host:port) */
  readonly hostPort: string;
  readonly weight: number;
  readonly pool: Pool;
  active = 0;
  /** active health check verdict */
  healthy = true;
  /** passive ejection: out of rotation until this time (ms) */
  ejectedUntil = 0;
  consecutiveFailures = 0;
  hcSuccesses = 0;
  hcFailures = 0;
  /** smooth weighted round robin state */
  current = 0;
  /** base path of the target URL, '' when '/' */
  readonly basePath: string;

  /** node:http2 sessions for gRPC calls (src/proxy/h2-upstream.ts), opened on first use */
  private h2: H2Sessions | null = null;
  private readonly cfg: UpstreamConfig;

  constructor(url: string, weight: number, cfg: UpstreamConfig) {
    const u = new URL(url);
    this.cfg = cfg;
    this.url = url;
    this.origin = u.origin;
    this.hostPort = u.host;
    this.weight = weight;
    this.basePath = u.pathname === '/' ? '' : u.pathname.replace(/\/$/, '');
    const h2 = cfg.protocol === 'h2';
    this.pool = new Pool(u.origin, {
      connections: cfg.max_connections,
      pipelining: 1,
      keepAliveTimeout: cfg.keep_alive_timeout_ms,
      keepAliveMaxTimeout: Math.max(cfg.keep_alive_timeout_ms, 600_000),
      headersTimeout: cfg.response_timeout_ms,
      bodyTimeout: cfg.response_timeout_ms,
      // protocol h2: ALPN h2 over TLS, prior knowledge (h2c) in cleartext (docs/http2.md); the
      // pool builds its connector from `connect`, so h2c is asked for there (not in undici's types)
      connect: { timeout: cfg.connect_timeout_ms, ...(h2 && u.protocol === 'http:' ? ({ useH2c: true } as object) : {}) },
      allowH2: h2,
    });
  }

  /** The target's HTTP/2 sessions for streams with trailers in both directions (gRPC). */
  get sessions(): H2Sessions {
    return (this.h2 ??= new H2Sessions(this.origin, {
      maxSessions: this.cfg.max_connections,
      connectTimeoutMs: this.cfg.connect_timeout_ms,
      idleMs: this.cfg.keep_alive_timeout_ms,
    }));
  }

  close(): Promise<void> {
    return Promise.all([this.pool.close().catch(() => undefined), this.h2?.close()]).then(() => undefined);
  }

  destroy(): void {
    void this.pool.destroy().catch(() => undefined);
    this.h2?.destroy();
  }

  available(now: number): boolean {
    return this.healthy && this.ejectedUntil <= now;
  }
}

const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);
export function isIdempotent(method: string): boolean {
  return IDEMPOTENT.has(method);
}

const WINDOW_S = 10;

export class UpstreamGroup {
  readonly name: string;
  readonly config: UpstreamConfig;
  readonly targets: readonly Target[];
  private rr = 0;
  private hcTimer: NodeJS.Timeout | null = null;
  private closed = false;
  /** requests and retries per second over the last WINDOW_S seconds (ring buffers) */
  private readonly reqRing = new Uint32Array(WINDOW_S);
  private readonly retryRing = new Uint32Array(WINDOW_S);
  private ringSecond = 0;

  constructor(
    name: string,
    config: UpstreamConfig,
    private readonly metrics: Metrics,
    private readonly logger: Logger,
  ) {
    this.name = name;
    this.config = config;
    this.targets = config.targets.map((t) => new Target(t.url, t.weight, config));
    for (const t of this.targets) this.metrics.upstreamHealthy.set({ upstream: name, target: t.origin }, 1);
    if (config.health_check) this.startHealthChecks();
  }

  /** Picks a target, skipping `exclude` (targets already tried). Null when none is left. */
  pick(now: number, exclude: ReadonlySet<Target> | null): Target | null {
    const ts = this.targets;
    if (ts.length === 1) {
      const only = ts[0] as Target;
      return exclude?.has(only) ? null : only;
    }
    let candidates = 0;
    for (const t of ts) if (t.available(now) && !exclude?.has(t)) candidates++;
    // Panic mode (as Envoy): when every target is out of rotation, spread over all of them
    // rather than fail everything on a possibly wrong health verdict.
    const panic = candidates === 0;
    if (this.config.balance === 'least_connections') {
      let best: Target | null = null;
      let bestScore = Infinity;
      const n = ts.length;
      for (let k = 0; k < n; k++) {
        const t = ts[(this.rr + k) % n] as Target;
        if (exclude?.has(t) || (!panic && !t.available(now))) continue;
        const score = t.active / t.weight;
        if (score < bestScore) {
          best = t;
          bestScore = score;
        }
      }
      this.rr = (this.rr + 1) % n;
      return best;
    }
    // smooth weighted round robin (as nginx): deterministic, spreads heavy targets evenly
    let total = 0;
    let best: Target | null = null;
    for (const t of ts) {
      if (exclude?.has(t) || (!panic && !t.available(now))) continue;
      t.current += t.weight;
      total += t.weight;
      if (best === null || t.current > best.current) best = t;
    }
    if (best) best.current -= total;
    return best;
  }

  private tick(now: number): number {
    const sec = Math.floor(now / 1000);
    if (sec !== this.ringSecond) {
      const gap = Math.min(sec - this.ringSecond, WINDOW_S);
      for (let k = 1; k <= gap; k++) {
        const i = (this.ringSecond + k) % WINDOW_S;
        this.reqRing[i] = 0;
        this.retryRing[i] = 0;
      }
      this.ringSecond = sec;
    }
    return sec % WINDOW_S;
  }

  countRequest(now: number): void {
    const i = this.tick(now);
    this.reqRing[i] = (this.reqRing[i] as number) + 1;
  }

  /** Retry budget (as Envoy's): retries may be at most budget_percent of recent requests. */
  allowRetry(now: number): boolean {
    const i = this.tick(now);
    let reqs = 0;
    let retries = 0;
    for (let k = 0; k < WINDOW_S; k++) {
      reqs += this.reqRing[k] as number;
      retries += this.retryRing[k] as number;
    }
    const r = this.config.retries;
    const allowed = Math.max(r.min_per_second * WINDOW_S, (reqs * r.budget_percent) / 100);
    if (retries >= allowed) return false;
    this.retryRing[i] = (this.retryRing[i] as number) + 1;
    this.metrics.upstreamRetries.inc({ upstream: this.name });
    return true;
  }

  /** Live traffic outcome for passive ejection. */
  report(t: Target, ok: boolean, now: number): void {
    if (ok) {
      t.consecutiveFailures = 0;
      return;
    }
    const limit = this.config.passive.consecutive_failures;
    if (limit === 0) return;
    t.consecutiveFailures++;
    if (t.consecutiveFailures >= limit && t.ejectedUntil <= now) {
      t.ejectedUntil = now + this.config.passive.ejection_ms;
      t.consecutiveFailures = 0;
      this.metrics.upstreamEjections.inc({ upstream: this.name, target: t.origin, reason: 'passive' });
      this.metrics.upstreamHealthy.set({ upstream: this.name, target: t.origin }, 0);
      this.logger.warn({ event: 'upstream_ejected', upstream: this.name, target: t.origin, reason: 'passive', ejection_ms: this.config.passive.ejection_ms });
      const timer = setTimeout(() => {
        if (t.healthy) this.metrics.upstreamHealthy.set({ upstream: this.name, target: t.origin }, 1);
      }, this.config.passive.ejection_ms);
      timer.unref();
    }
  }

  private startHealthChecks(): void {
    const hc = this.config.health_check;
    if (!hc) return;
    const run = async (): Promise<void> => {
      await Promise.all(this.targets.map((t) => this.checkOne(t)));
      if (!this.closed) {
        this.hcTimer = setTimeout(() => void run(), hc.interval_ms);
        this.hcTimer.unref();
      }
    };
    this.hcTimer = setTimeout(() => void run(), 0);
    this.hcTimer.unref();
  }

  private async checkOne(t: Target): Promise<void> {
    const hc = this.config.health_check;
    if (!hc || this.closed) return;
    let ok = false;
    try {
      const res = await t.pool.request({
        method: 'GET',
        path: t.basePath + hc.path,
        headers: { host: t.hostPort, 'user-agent': 'portcullis-health-check' },
        headersTimeout: hc.timeout_ms,
        bodyTimeout: hc.timeout_ms,
        signal: AbortSignal.timeout(hc.timeout_ms),
      });
      ok = hc.expected_status.includes(res.statusCode);
      await res.body.dump();
    } catch {
      ok = false;
    }
    if (ok) {
      t.hcFailures = 0;
      t.hcSuccesses++;
      if (!t.healthy && t.hcSuccesses >= hc.healthy_threshold) {
        t.healthy = true;
        this.metrics.upstreamHealthy.set({ upstream: this.name, target: t.origin }, 1);
        this.logger.info({ event: 'upstream_healthy', upstream: this.name, target: t.origin });
      }
    } else {
      t.hcSuccesses = 0;
      t.hcFailures++;
      if (t.healthy && t.hcFailures >= hc.unhealthy_threshold) {
        t.healthy = false;
        this.metrics.upstreamHealthy.set({ upstream: this.name, target: t.origin }, 0);
        this.metrics.upstreamEjections.inc({ upstream: this.name, target: t.origin, reason: 'health_check' });
        this.logger.warn({ event: 'upstream_unhealthy', upstream: this.name, target: t.origin });
        this.onUnhealthy?.(this.name, t.origin);
      }
    }
  }

  /** set by the gateway to raise an alert */
  onUnhealthy: ((upstream: string, target: string) => void) | null = null;

  async close(): Promise<void> {
    this.closed = true;
    if (this.hcTimer) clearTimeout(this.hcTimer);
    await Promise.all(this.targets.map((t) => t.close()));
  }

  /** Cuts every pooled connection and the requests still on them (a stop past its deadline). */
  destroy(): void {
    this.closed = true;
    if (this.hcTimer) clearTimeout(this.hcTimer);
    for (const t of this.targets) t.destroy();
  }
}
