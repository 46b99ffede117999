/**
 * Adaptive limits (AIMD): per upstream, a factor in [min_factor, 1] scales the rates of every
 * limit on routes to that upstream. At the end of each window, when the upstream's p95 latency or
 * 5xx rate passed its threshold, the factor is multiplied by `decrease`; otherwise it grows by
 * `increase` back towards 1. The factor is per process (each instance watches its own traffic).
 */
export interface AdaptiveConfig {
  /** p95 latency above this (ms) counts as overloaded; 0 disables the latency signal */
  readonly p95_latency_ms: number;
  /** share of 5xx responses (0..1) above this counts as overloaded; 1 disables the error signal */
  readonly error_rate: number;
  readonly window_ms: number;
  /** fewer samples in a window count as healthy */
  readonly min_samples: number;
  readonly decrease: number;
  readonly increase: number;
  readonly min_factor: number;
}

export interface WindowStats {
  readonly samples: number;
  readonly p95: number;
  readonly errorRate: number;
}

/** One AIMD step. */
export function aimdStep(factor: number, s: WindowStats, cfg: AdaptiveConfig): number {
  const overloaded = s.samples >= cfg.min_samples && ((cfg.p95_latency_ms > 0 && s.p95 > cfg.p95_latency_ms) || s.errorRate > cfg.error_rate);
  if (overloaded) return Math.max(cfg.min_factor, factor * cfg.decrease);
  return Math.min(1, factor + cfg.increase);
}

/** The 95th percentile (nearest rank) of the first `n` values; sorts a copy. */
export function p95(values: Float64Array, n: number): number {
  if (n <= 0) return 0;
  const a = values.slice(0, n).sort();
  return a[Math.min(n - 1, Math.ceil(0.95 * n) - 1)]!;
}

/** Scales a bucket by the factor: fewer tokens per second, and a burst no larger than the scaled share (at least 1). */
export function scaleBucket(intervalMs: number, burst: number, factor: number): { intervalMs: number; burst: number } {
  if (factor >= 1) return { intervalMs, burst };
  return { intervalMs: intervalMs / factor, burst: Math.max(1, Math.floor(burst * factor)) };
}

const RESERVOIR = 2048;

/** Collects one upstream's latencies and statuses per window and steps the factor. */
export class AdaptiveController {
  factor = 1;
  private cfg: AdaptiveConfig;
  private windowEnd = 0;
  private readonly lat = new Float64Array(RESERVOIR);
  private seen = 0;
  private errors = 0;
  private total = 0;
  private readonly onChange: (factor: number) => void;

  constructor(cfg: AdaptiveConfig, onChange: (factor: number) => void = () => undefined) {
    this.cfg = cfg;
    this.onChange = onChange;
  }

  /** A reload may change thresholds; the current factor is kept. */
  configure(cfg: AdaptiveConfig): void {
    this.cfg = cfg;
  }

  private roll(now: number): void {
    if (this.windowEnd !== 0) {
      const n = Math.min(this.seen, RESERVOIR);
      const stats: WindowStats = { samples: this.total, p95: p95(this.lat, n), errorRate: this.total === 0 ? 0 : this.errors / this.total };
      const next = aimdStep(this.factor, stats, this.cfg);
      // more than one window passed without traffic: each empty window is healthy
      const idle = Math.floor((now - this.windowEnd) / this.cfg.window_ms);
      this.factor = Math.min(1, next + Math.max(0, idle) * this.cfg.increase);
      this.onChange(this.factor);
    }
    this.windowEnd = now + this.cfg.window_ms;
    this.seen = 0;
    this.errors = 0;
    this.total = 0;
  }

  /** One finished exchange: latency in ms (null when no response), and whether it was a 5xx. */
  observe(latencyMs: number | null, serverError: boolean, now: number): void {
    if (now >= this.windowEnd) this.roll(now);
    this.total++;
    if (serverError) this.errors++;
    if (latencyMs !== null) {
      // reservoir sampling keeps the sample bounded and unbiased
      if (this.seen < RESERVOIR) this.lat[this.seen] = latencyMs;
      else {
        const j = Math.floor(Math.random() * (this.seen + 1));
        if (j < RESERVOIR) this.lat[j] = latencyMs;
      }
      this.seen++;
    }
  }

  /** The factor in force at `now` (closes a finished window first). */
  factorAt(now: number): number {
    if (this.windowEnd !== 0 && now >= this.windowEnd) this.roll(now);
    return this.factor;
  }
}
